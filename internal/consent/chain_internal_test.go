package consent

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"strings"
	"testing"
)

// TestAppendMACIsHMAC holds the hand-written HMAC of principal commitments
// equal to crypto/hmac, for keys shorter than, as long as and longer than
// a SHA-256 block, and messages that fit its stack buffer and that do not.
func TestAppendMACIsHMAC(t *testing.T) {
	for _, keyLen := range []int{0, 1, saltSize, 63, 64, 65, 200} {
		for _, message := range []string{"", "device:0f8e7c1a-3b2d-4c5e-8f90-a1b2c3d4e5f6", "subject:" + strings.Repeat("x", 300)} {
			key := bytes.Repeat([]byte{byte(keyLen) + 7}, keyLen)
			m := hmac.New(sha256.New, key)
			m.Write([]byte(message))
			want := m.Sum(nil)
			if got := appendMAC([]byte("prefix"), key, message); !bytes.Equal(got, append([]byte("prefix"), want...)) {
				t.Errorf("key of %d bytes, message of %d: appendMAC = %x, want prefix and %x", keyLen, len(message), got, want)
			}
		}
	}
}

// TestReceiptIDIsStable holds receiptID to the formatting it had with
// fmt, so that a retried event keeps the id its first receipt named.
func TestReceiptIDIsStable(t *testing.T) {
	for _, e := range []Event{{Property: "shop", ID: "e-1"}, {Property: "p", ID: strings.Repeat("long-id-", 40)}} {
		sum := sha256.Sum256([]byte(e.Property + "\x00" + e.ID))
		sum[6] = sum[6]&0x0f | 0x80
		sum[8] = sum[8]&0x3f | 0x80
		want := fmt.Sprintf("%x-%x-%x-%x-%x", sum[0:4], sum[4:6], sum[6:8], sum[8:10], sum[10:16])
		if got := receiptID(&e); got != want {
			t.Errorf("receiptID(%q, %q) = %s, want %s", e.Property, e.ID, got, want)
		}
	}
}
