package httpsystem_test

import (
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/connector/httpsystem"
	"github.com/steward-dev/steward/internal/errs"
)

// The scheme itself is tested in internal/stdwebhooks; these tests check
// what this package adds: the published vector through its functions, and
// refusals that carry errs.CodeUnauthorized with their reason.

// The test vector published with the Standard Webhooks reference
// libraries: this secret, id, time and payload sign to this header value.
const (
	vectorSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	vectorID        = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vectorTimestamp = 1614265330
	vectorPayload   = `{"test": 2432232314}`
	vectorSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func TestSignMatchesTheSpecificationVector(t *testing.T) {
	at := time.Unix(vectorTimestamp, 0)
	got, err := httpsystem.Sign(vectorSecret, vectorID, at, []byte(vectorPayload))
	if err != nil || got != vectorSignature {
		t.Fatalf("Sign = %q, %v; want %q", got, err, vectorSignature)
	}
	h, err := httpsystem.Headers(vectorSecret, vectorID, at, []byte(vectorPayload))
	if err != nil {
		t.Fatal(err)
	}
	if h.Get(httpsystem.HeaderID) != vectorID || h.Get(httpsystem.HeaderTimestamp) != "1614265330" || h.Get(httpsystem.HeaderSignature) != vectorSignature {
		t.Fatalf("Headers = %v", h)
	}
	if err := httpsystem.Verify(vectorSecret, h, []byte(vectorPayload), at.Add(10*time.Second)); err != nil {
		t.Fatalf("Verify(vector) = %v", err)
	}
	if err := httpsystem.CheckHeaders(h, at); err != nil {
		t.Fatalf("CheckHeaders(vector) = %v", err)
	}
}

func TestRefusalsAreUnauthorized(t *testing.T) {
	at := time.Unix(vectorTimestamp, 0)
	headers := func(edit func(h http.Header)) http.Header {
		h := http.Header{}
		h.Set("webhook-id", vectorID)
		h.Set("webhook-timestamp", strconv.Itoa(vectorTimestamp))
		h.Set("webhook-signature", vectorSignature)
		edit(h)
		return h
	}
	cases := []struct {
		name   string
		header http.Header
		body   string
		want   error
		detail string
	}{
		{"tampered body", headers(func(http.Header) {}), `{"test": 1}`, httpsystem.ErrSignature, "the webhook signature does not verify"},
		{"no id", headers(func(h http.Header) { h.Del("webhook-id") }), vectorPayload, httpsystem.ErrMalformed, "the webhook-id header is missing or malformed"},
		{"stale", headers(func(h http.Header) {
			h.Set("webhook-timestamp", strconv.Itoa(vectorTimestamp-int(httpsystem.Tolerance/time.Second)-1))
		}), vectorPayload, httpsystem.ErrTimestamp, "the webhook timestamp is older than the 5-minute tolerance"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := httpsystem.Verify(vectorSecret, c.header, []byte(c.body), at)
			e, ok := errs.As(err)
			if !errors.Is(err, c.want) || !ok || e.Code != errs.CodeUnauthorized || e.Message != c.detail {
				t.Fatalf("Verify = %#v, want unauthorized %v with %q", err, c.want, c.detail)
			}
			if c.want == httpsystem.ErrSignature {
				return // the headers alone are well formed
			}
			if err := httpsystem.CheckHeaders(c.header, at); !errors.Is(err, c.want) || !errs.Is(err, errs.CodeUnauthorized) {
				t.Fatalf("CheckHeaders = %v, want unauthorized %v", err, c.want)
			}
		})
	}
	t.Run("a malformed secret is our fault, not the sender's", func(t *testing.T) {
		err := httpsystem.Verify("not-a-secret", headers(func(http.Header) {}), []byte(vectorPayload), at)
		if err == nil || errs.Is(err, errs.CodeUnauthorized) {
			t.Fatalf("Verify with a bad secret = %v", err)
		}
	})
	t.Run("a generated secret signs and verifies", func(t *testing.T) {
		secret := httpsystem.GenerateSecret()
		h, err := httpsystem.Headers(secret, "msg_1", at, []byte("{}"))
		if err != nil {
			t.Fatal(err)
		}
		if err := httpsystem.Verify(secret, h, []byte("{}"), at); err != nil {
			t.Fatalf("Verify = %v", err)
		}
	})
}
