// Package stdwebhooks signs and verifies messages per Standard Webhooks 1.0
// (https://www.standardwebhooks.com/): the headers webhook-id,
// webhook-timestamp (Unix seconds) and webhook-signature, whose value is one
// or more space-separated "v1,<base64 HMAC-SHA256>" signatures of
// "id.timestamp.body" keyed by a whsec_ secret.
//
// It is the one implementation of the scheme in Steward: the outbox signs
// the webhooks it sends with it, the HTTP-systems connector signs its calls
// and verifies the systems' callbacks with it, and the Go SDK (client)
// verifies webhooks with it. It uses the standard library only, so that the
// SDK stays a small leaf:
//
//	secret := stdwebhooks.NewSecret() // share it with the receiver once
//	header, err := stdwebhooks.Headers(secret, "msg_2Kq...", time.Now(), body)
//	...
//	err = stdwebhooks.Verify(secret, r.Header, body, time.Now())
//	var refusal *stdwebhooks.Refusal
//	if errors.As(err, &refusal) { // the sender's fault: answer 401
//	}
package stdwebhooks

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The Standard Webhooks headers.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// Tolerance is how far a message's timestamp may be from the verifier's
// clock, either way: a captured message can be replayed only this long,
// and clocks may disagree by a little.
const Tolerance = 5 * time.Minute

const (
	// SecretPrefix starts every secret in the Standard Webhooks form.
	SecretPrefix = "whsec_"
	// The specification's bounds on a symmetric secret: at least 192 bits,
	// at most 512.
	minSecretBytes = 24
	maxSecretBytes = 64
	// newSecretBytes is the size of the key of a new secret: 256 bits.
	newSecretBytes = 32
	// signatureVersion marks an HMAC-SHA256 signature; asymmetric ones
	// (v1a) are not used here and are skipped on verification.
	signatureVersion = "v1"
	// maxIDBytes bounds a message id.
	maxIDBytes = 256
	// maxSignatureHeaderBytes bounds the signature header: a few
	// signatures during a migration of secrets, not a list to try one by
	// one.
	maxSignatureHeaderBytes = 4096
)

// Why Verify or CheckHeaders refused a message; errors.Is finds them in the
// *Refusal they return.
var (
	ErrMalformed = errors.New("malformed webhook headers")
	ErrTimestamp = errors.New("timestamp outside the tolerance")
	ErrSignature = errors.New("no signature matches")
)

// Refusal is a message refused by Verify or CheckHeaders: the sender's
// fault (a receiver answers 401), unlike a malformed secret, which is the
// receiver's own configuration.
type Refusal struct {
	// Reason is ErrMalformed, ErrTimestamp or ErrSignature.
	Reason error
	// Detail says what was wrong, in a sentence fit to show the sender; it
	// never quotes the secret.
	Detail string
}

func (r *Refusal) Error() string { return r.Detail + ": " + r.Reason.Error() }

// Unwrap returns Reason, for errors.Is.
func (r *Refusal) Unwrap() error { return r.Reason }

func refuse(reason error, detail string) error { return &Refusal{Reason: reason, Detail: detail} }

// NewSecret returns a fresh secret in the Standard Webhooks form: whsec_ and
// the base64 of 32 random bytes.
func NewSecret() string {
	b := make([]byte, newSecretBytes)
	_, _ = rand.Read(b) // never fails (crypto/rand, Go 1.24)
	return SecretPrefix + base64.StdEncoding.EncodeToString(b)
}

// SecretKey returns the HMAC key of a whsec_ secret: the standard base64
// after the prefix, of 24 to 64 bytes. Its errors never quote the secret.
func SecretKey(secret string) ([]byte, error) {
	encoded, ok := strings.CutPrefix(secret, SecretPrefix)
	if !ok {
		return nil, errors.New("the secret must start with whsec_")
	}
	key, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil {
		return nil, errors.New("the secret after whsec_ is not standard base64")
	}
	if len(key) < minSecretBytes || len(key) > maxSecretBytes {
		return nil, fmt.Errorf("the secret holds %d bytes, want %d to %d", len(key), minSecretBytes, maxSecretBytes)
	}
	return key, nil
}

// mac is HMAC-SHA256 over "id.timestamp.body", the content the
// specification signs: the id and the time are covered along with the
// body, so that neither can be swapped under a valid signature.
func mac(key []byte, id, timestamp string, body []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(id))
	h.Write([]byte{'.'})
	h.Write([]byte(timestamp))
	h.Write([]byte{'.'})
	h.Write(body)
	return h.Sum(nil)
}

// ValidID reports whether id may be a message id: present, at most 256
// printable ASCII characters, and without the full stop that delimits the
// signed content (an id holding one could shift the boundary between id and
// timestamp).
func ValidID(id string) bool {
	if id == "" || len(id) > maxIDBytes {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c == '.' || c <= ' ' || c >= 0x7f {
			return false
		}
	}
	return true
}

// Sign returns the webhook-signature header value of a message: "v1," and
// the base64 HMAC-SHA256 of "id.timestamp.body" under the secret's key,
// timestamp being ts in Unix seconds.
func Sign(secret, id string, ts time.Time, body []byte) (string, error) {
	key, err := SecretKey(secret)
	if err != nil {
		return "", fmt.Errorf("webhook secret: %w", err)
	}
	if !ValidID(id) {
		return "", fmt.Errorf("webhook id %q: want 1 to %d printable characters without '.'", id, maxIDBytes)
	}
	sum := mac(key, id, strconv.FormatInt(ts.Unix(), 10), body)
	return signatureVersion + "," + base64.StdEncoding.EncodeToString(sum), nil
}

// Headers returns the three Standard Webhooks headers of a message.
func Headers(secret, id string, ts time.Time, body []byte) (http.Header, error) {
	signature, err := Sign(secret, id, ts, body)
	if err != nil {
		return nil, err
	}
	h := http.Header{}
	h.Set(HeaderID, id)
	h.Set(HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
	h.Set(HeaderSignature, signature)
	return h, nil
}

// Verify checks a message received with header and body (the raw bytes,
// exactly as received: JSON parsed and written again would not verify):
// its timestamp must be within Tolerance of now, and one of the
// space-separated v1 signatures must be the HMAC of the secret. Signatures
// of other versions are skipped, which lets a sender add them during a
// migration. A refusal is a *Refusal wrapping ErrMalformed, ErrTimestamp or
// ErrSignature; a secret that is not a whsec_ secret is an error of the
// receiver's own configuration, not a *Refusal.
func Verify(secret string, header http.Header, body []byte, now time.Time) error {
	key, err := SecretKey(secret)
	if err != nil {
		return fmt.Errorf("webhook secret: %w", err)
	}
	signed, err := parseHeaders(header, now)
	if err != nil {
		return err
	}
	want := mac(key, signed.id, signed.timestamp, body)
	for _, got := range signed.signatures {
		// hmac.Equal takes the same time whatever bytes differ, so that
		// a forger learns nothing from how fast a guess is refused.
		if hmac.Equal(got, want) {
			return nil
		}
	}
	return refuse(ErrSignature, "the webhook signature does not verify")
}

// CheckHeaders checks what Verify can check before the body is read: an
// id, a timestamp within Tolerance of now, and at least one v1 signature of
// the right length. A receiver calls it first, so that a caller who cannot
// even claim a signature does not get to send a body. Its refusals are
// those of Verify.
func CheckHeaders(header http.Header, now time.Time) error {
	_, err := parseHeaders(header, now)
	return err
}

// signedHeaders are the parts of the headers that the signature covers,
// and the candidate v1 signatures, decoded.
type signedHeaders struct {
	id, timestamp string
	signatures    [][]byte
}

func parseHeaders(header http.Header, now time.Time) (signedHeaders, error) {
	id, ok := single(header, HeaderID)
	if !ok || !ValidID(id) {
		return signedHeaders{}, refuse(ErrMalformed, "the webhook-id header is missing or malformed")
	}
	timestamp, ok := single(header, HeaderTimestamp)
	seconds, err := strconv.ParseInt(timestamp, 10, 64)
	// Digits only: ParseInt would take "+1674087231", which the signed
	// content would then spell differently from the sender.
	if !ok || err != nil || timestamp == "" || strings.Trim(timestamp, "0123456789") != "" {
		return signedHeaders{}, refuse(ErrMalformed, "the webhook-timestamp header is missing or not Unix seconds")
	}
	skew := now.Unix() - seconds
	if skew > int64(Tolerance/time.Second) {
		return signedHeaders{}, refuse(ErrTimestamp, "the webhook timestamp is older than the 5-minute tolerance")
	}
	if -skew > int64(Tolerance/time.Second) {
		return signedHeaders{}, refuse(ErrTimestamp, "the webhook timestamp is more than 5 minutes in the future")
	}
	values := header.Values(HeaderSignature)
	if n := len(strings.Join(values, " ")); n > maxSignatureHeaderBytes {
		return signedHeaders{}, refuse(ErrMalformed, "the webhook-signature header is too long")
	}
	fields := strings.Fields(strings.Join(values, " "))
	if len(fields) == 0 {
		return signedHeaders{}, refuse(ErrMalformed, "the webhook-signature header is missing")
	}
	signed := signedHeaders{id: id, timestamp: timestamp}
	for _, s := range fields {
		// Signatures of other versions, or malformed, are skipped: a
		// sender may add new ones during a migration.
		version, encoded, ok := strings.Cut(s, ",")
		if !ok || version != signatureVersion {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(encoded)
		if err != nil || len(got) != sha256.Size {
			continue
		}
		signed.signatures = append(signed.signatures, got)
	}
	if len(signed.signatures) == 0 {
		return signedHeaders{}, refuse(ErrSignature, "the webhook-signature header holds no v1 signature")
	}
	return signed, nil
}

// single returns the one value of a header; false when it is absent or
// repeated, since two ids or times would leave the signed one in doubt.
func single(header http.Header, name string) (string, bool) {
	values := header.Values(name)
	if len(values) != 1 {
		return "", false
	}
	return strings.TrimSpace(values[0]), true
}
