package secretbox_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/steward-dev/steward/internal/secretbox"
)

func TestSealOpenAndTamper(t *testing.T) {
	master := bytes.Repeat([]byte{7}, 32)
	box, err := secretbox.Derive(master, "test")
	if err != nil {
		t.Fatal(err)
	}
	other, _ := secretbox.Derive(master, "other purpose")
	sealed, err := box.Seal([]byte("JBSWY3DPEHPK3PXP"), []byte("totp:stf_1"))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := box.Open(sealed, []byte("totp:stf_1")); err != nil || string(got) != "JBSWY3DPEHPK3PXP" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if _, err := box.Open(sealed, []byte("totp:stf_2")); !errors.Is(err, secretbox.ErrOpen) {
		t.Fatal("opened with another context")
	}
	if _, err := other.Open(sealed, []byte("totp:stf_1")); !errors.Is(err, secretbox.ErrOpen) {
		t.Fatal("opened with a key derived for another purpose")
	}
	for i := range sealed {
		changed := bytes.Clone(sealed)
		changed[i] ^= 0x01
		if _, err := box.Open(changed, []byte("totp:stf_1")); err == nil {
			t.Fatalf("byte %d changed and it still opened", i)
		}
	}
	if _, err := secretbox.Derive(master[:16], "x"); err == nil {
		t.Fatal("short master key accepted")
	}
}
