package httpsystem

import (
	"errors"
	"net/http"
	"time"

	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/stdwebhooks"
)

// Calls and callbacks are signed per Standard Webhooks 1.0 by
// internal/stdwebhooks, the one implementation of the scheme, shared with
// the outbox and the Go SDK. What this file adds is Steward's error
// vocabulary: a refused callback is an errs.CodeUnauthorized error.

// The Standard Webhooks headers.
const (
	HeaderID        = stdwebhooks.HeaderID
	HeaderTimestamp = stdwebhooks.HeaderTimestamp
	HeaderSignature = stdwebhooks.HeaderSignature
)

// Tolerance is how far a message's timestamp may be from the verifier's
// clock, either way (stdwebhooks.Tolerance).
const Tolerance = stdwebhooks.Tolerance

// Why Verify refused a message; errors.Is finds them in its error, which
// carries errs.CodeUnauthorized.
var (
	ErrMalformed = stdwebhooks.ErrMalformed
	ErrTimestamp = stdwebhooks.ErrTimestamp
	ErrSignature = stdwebhooks.ErrSignature
)

// GenerateSecret returns a fresh secret in the Standard Webhooks form,
// whsec_ and the base64 of 32 random bytes, for an operator to share with
// a system.
func GenerateSecret() string { return stdwebhooks.NewSecret() }

// secretKey returns the HMAC key of a whsec_ secret. Its errors never
// quote the secret.
func secretKey(secret string) ([]byte, error) { return stdwebhooks.SecretKey(secret) }

// Sign returns the webhook-signature header value of a message
// (stdwebhooks.Sign).
func Sign(secret, id string, ts time.Time, body []byte) (string, error) {
	return stdwebhooks.Sign(secret, id, ts, body)
}

// Headers returns the three Standard Webhooks headers of a message.
func Headers(secret, id string, ts time.Time, body []byte) (http.Header, error) {
	return stdwebhooks.Headers(secret, id, ts, body)
}

// Verify checks a message received with header and body (the raw bytes,
// exactly as received) per stdwebhooks.Verify. A refusal is an
// errs.CodeUnauthorized error wrapping ErrMalformed, ErrTimestamp or
// ErrSignature; a secret that is not a whsec_ secret is an error of our own
// configuration, without a code.
func Verify(secret string, header http.Header, body []byte, now time.Time) error {
	return unauthorized(stdwebhooks.Verify(secret, header, body, now))
}

// CheckHeaders checks what Verify can check before the body is read: an
// id, a timestamp within Tolerance of now, and at least one v1 signature of
// the right length. A receiver calls it first, so that a caller who cannot
// even claim a signature does not get to send a body. Its refusals are
// those of Verify.
func CheckHeaders(header http.Header, now time.Time) error {
	return unauthorized(stdwebhooks.CheckHeaders(header, now))
}

// unauthorized gives a refusal the code the web layer answers 401 for;
// other errors pass unchanged.
func unauthorized(err error) error {
	var refusal *stdwebhooks.Refusal
	if errors.As(err, &refusal) {
		return errs.Wrap(errs.CodeUnauthorized, refusal.Reason, refusal.Detail)
	}
	return err
}
