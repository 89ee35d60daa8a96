package webhook

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

	"github.com/steward-dev/steward/internal/errs"
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
	secretPrefix = "whsec_"
	// The specification's bounds on a symmetric secret: at least 192 bits,
	// at most 512.
	minSecretBytes = 24
	maxSecretBytes = 64
	// signatureVersion marks an HMAC-SHA256 signature; asymmetric ones
	// (v1a) are not used here and are skipped on verification.
	signatureVersion = "v1"
)

// Why Verify refused a message; errors.Is finds them in its error, which
// carries errs.CodeUnauthorized.
var (
	ErrMalformed = errors.New("malformed webhook headers")
	ErrTimestamp = errors.New("timestamp outside the tolerance")
	ErrSignature = errors.New("no signature matches")
)

// GenerateSecret returns a fresh secret in the Standard Webhooks form,
// whsec_ and the base64 of 32 random bytes, for an operator to share with
// a system.
func GenerateSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return secretPrefix + base64.StdEncoding.EncodeToString(b)
}

// secretKey returns the HMAC key of a whsec_ secret. Its errors never
// quote the secret.
func secretKey(secret string) ([]byte, error) {
	encoded, ok := strings.CutPrefix(secret, secretPrefix)
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

// validID reports whether id may be a message id: present, short, and
// without the full stop that delimits the signed content (an id holding
// one could shift the boundary between id and timestamp).
func validID(id string) bool {
	if id == "" || len(id) > 256 {
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
	key, err := secretKey(secret)
	if err != nil {
		return "", fmt.Errorf("webhook secret: %w", err)
	}
	if !validID(id) {
		return "", fmt.Errorf("webhook id %q: want 1 to 256 printable characters without '.'", id)
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
// migration. A refusal is an errs.CodeUnauthorized error wrapping
// ErrMalformed, ErrTimestamp or ErrSignature; a secret that is not a
// whsec_ secret is an error of our own configuration, without a code.
func Verify(secret string, header http.Header, body []byte, now time.Time) error {
	key, err := secretKey(secret)
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
	if !ok || !validID(id) {
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

// maxSignatureHeaderBytes bounds the signature header: a few signatures
// during a migration of secrets, not a list to try one by one.
const maxSignatureHeaderBytes = 4096

// single returns the one value of a header; false when it is absent or
// repeated, since two ids or times would leave the signed one in doubt.
func single(header http.Header, name string) (string, bool) {
	values := header.Values(name)
	if len(values) != 1 {
		return "", false
	}
	return strings.TrimSpace(values[0]), true
}

func refuse(cause error, message string) error {
	return errs.Wrap(errs.CodeUnauthorized, cause, message)
}
