package staff

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// TOTP parameters: RFC 6238 with the values every authenticator app
// supports (SHA-1, six digits, 30-second steps).
const (
	totpDigits = 6
	totpStep   = 30
	// totpSkew accepts a code from one step before or after, for clock drift.
	totpSkew = 1
)

var base32NoPad = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewTOTPSecret returns a random 160-bit TOTP secret, base32 encoded.
func NewTOTPSecret() (string, error) {
	var b [20]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("make TOTP secret: %w", err)
	}
	return base32NoPad.EncodeToString(b[:]), nil
}

// TOTPURI returns the otpauth URI that authenticator apps read (as a QR code).
func TOTPURI(issuer, account, secret string) string {
	label := url.PathEscape(issuer + ":" + account)
	q := url.Values{"secret": {secret}, "issuer": {issuer}, "algorithm": {"SHA1"}, "digits": {"6"}, "period": {"30"}}
	return "otpauth://totp/" + label + "?" + q.Encode()
}

// TOTPCode returns the code of a secret for the step containing t.
func TOTPCode(secret string, t time.Time) (string, error) {
	key, err := base32NoPad.DecodeString(strings.ToUpper(strings.TrimRight(secret, "=")))
	if err != nil {
		return "", fmt.Errorf("TOTP secret: %w", err)
	}
	return hotp(key, uint64(t.Unix()/totpStep)), nil
}

// hotp is RFC 4226's HOTP value for a counter.
func hotp(key []byte, counter uint64) string {
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], counter)
	mac := hmac.New(sha1.New, key)
	mac.Write(msg[:])
	sum := mac.Sum(nil)
	offset := sum[len(sum)-1] & 0x0f
	value := binary.BigEndian.Uint32(sum[offset:offset+4]) & 0x7fffffff
	return fmt.Sprintf("%0*d", totpDigits, value%1_000_000)
}

// checkTOTP returns the step a code matches, within the allowed skew and
// after lastStep (a code is good once), or 0.
func checkTOTP(secret, code string, now time.Time, lastStep int64) int64 {
	key, err := base32NoPad.DecodeString(strings.ToUpper(strings.TrimRight(secret, "=")))
	if err != nil || len(code) != totpDigits {
		return 0
	}
	step := now.Unix() / totpStep
	for s := step - totpSkew; s <= step+totpSkew; s++ {
		if s <= lastStep {
			continue
		}
		if subtle.ConstantTimeCompare([]byte(hotp(key, uint64(s))), []byte(code)) == 1 {
			return s
		}
	}
	return 0
}
