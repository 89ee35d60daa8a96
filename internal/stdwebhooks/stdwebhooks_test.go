package stdwebhooks_test

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/stdwebhooks"
)

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
	got, err := stdwebhooks.Sign(vectorSecret, vectorID, time.Unix(vectorTimestamp, 0), []byte(vectorPayload))
	if err != nil || got != vectorSignature {
		t.Fatalf("Sign = %q, %v; want %q", got, err, vectorSignature)
	}
	header := http.Header{}
	header.Set("webhook-id", vectorID)
	header.Set("webhook-timestamp", strconv.Itoa(vectorTimestamp))
	header.Set("webhook-signature", vectorSignature)
	if err := stdwebhooks.Verify(vectorSecret, header, []byte(vectorPayload), time.Unix(vectorTimestamp+10, 0)); err != nil {
		t.Fatalf("Verify(vector) = %v", err)
	}
}

func TestSignRefuses(t *testing.T) {
	at := time.Unix(vectorTimestamp, 0)
	cases := []struct{ name, secret, id string }{
		{"secret without prefix", strings.TrimPrefix(vectorSecret, "whsec_"), vectorID},
		{"secret not base64", "whsec_***", vectorID},
		{"secret too short", "whsec_c2hvcnQ=", vectorID},
		{"empty id", vectorSecret, ""},
		{"id with a full stop", vectorSecret, "msg.1"},
		{"id with a space", vectorSecret, "msg 1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got, err := stdwebhooks.Sign(c.secret, c.id, at, []byte("{}")); err == nil {
				t.Fatalf("Sign = %q, want an error", got)
			} else if strings.Contains(err.Error(), strings.TrimPrefix(c.secret, "whsec_")) && c.secret != "whsec_***" {
				t.Fatalf("the error quotes the secret: %v", err)
			}
		})
	}
}

func TestVerify(t *testing.T) {
	secret := stdwebhooks.NewSecret()
	other := stdwebhooks.NewSecret()
	sent := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	body := []byte(`{"status":"done","report":{"steps":[]}}`)
	sign := func(secret string, body []byte) string {
		s, err := stdwebhooks.Sign(secret, "msg_1", sent, body)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	good := sign(secret, body)
	headers := func(edit func(h http.Header)) http.Header {
		h := http.Header{}
		h.Set("webhook-id", "msg_1")
		h.Set("webhook-timestamp", strconv.FormatInt(sent.Unix(), 10))
		h.Set("webhook-signature", good)
		if edit != nil {
			edit(h)
		}
		return h
	}
	cases := []struct {
		name   string
		header http.Header
		body   []byte
		now    time.Time
		want   error // nil: verifies
		// bodyOnly: the headers are well formed, only the HMAC over the
		// body refuses the message.
		bodyOnly bool
	}{
		{name: "signed", header: headers(nil)},
		{name: "just inside the tolerance, late", header: headers(nil), now: sent.Add(stdwebhooks.Tolerance)},
		{name: "just inside the tolerance, early", header: headers(nil), now: sent.Add(-stdwebhooks.Tolerance)},
		{name: "one of several signatures", header: headers(func(h http.Header) {
			h.Set("webhook-signature", "v1,"+strings.Repeat("A", 43)+"= v1a,aGVsbG8= "+good+" v1,not-base64")
		})},
		{name: "signed by an old and a new secret", header: headers(func(h http.Header) {
			h.Set("webhook-signature", sign(other, body)+" "+good)
		})},
		{name: "signatures in two header lines", header: headers(func(h http.Header) {
			h.Set("webhook-signature", sign(other, body))
			h.Add("webhook-signature", good)
		})},
		{name: "tampered body", header: headers(nil), body: []byte(`{"status":"done","report":{"steps":[{}]}}`), want: stdwebhooks.ErrSignature, bodyOnly: true},
		{name: "body with a trailing newline", header: headers(nil), body: append(append([]byte{}, body...), '\n'), want: stdwebhooks.ErrSignature, bodyOnly: true},
		{name: "wrong secret", header: headers(func(h http.Header) { h.Set("webhook-signature", sign(other, body)) }), want: stdwebhooks.ErrSignature, bodyOnly: true},
		{name: "another id", header: headers(func(h http.Header) { h.Set("webhook-id", "msg_2") }), want: stdwebhooks.ErrSignature, bodyOnly: true},
		{name: "another timestamp", header: headers(func(h http.Header) {
			h.Set("webhook-timestamp", strconv.FormatInt(sent.Unix()+1, 10))
		}), want: stdwebhooks.ErrSignature, bodyOnly: true},
		{name: "asymmetric signature only", header: headers(func(h http.Header) {
			h.Set("webhook-signature", "v1a,"+strings.TrimPrefix(good, "v1,"))
		}), want: stdwebhooks.ErrSignature},
		{name: "signature without version", header: headers(func(h http.Header) {
			h.Set("webhook-signature", strings.TrimPrefix(good, "v1,"))
		}), want: stdwebhooks.ErrSignature},
		{name: "too old", header: headers(nil), now: sent.Add(stdwebhooks.Tolerance + time.Second), want: stdwebhooks.ErrTimestamp},
		{name: "from the future", header: headers(nil), now: sent.Add(-stdwebhooks.Tolerance - time.Second), want: stdwebhooks.ErrTimestamp},
		{name: "no id", header: headers(func(h http.Header) { h.Del("webhook-id") }), want: stdwebhooks.ErrMalformed},
		{name: "id with a full stop", header: headers(func(h http.Header) { h.Set("webhook-id", "msg.1") }), want: stdwebhooks.ErrMalformed},
		{name: "two ids", header: headers(func(h http.Header) { h.Add("webhook-id", "msg_2") }), want: stdwebhooks.ErrMalformed},
		{name: "no timestamp", header: headers(func(h http.Header) { h.Del("webhook-timestamp") }), want: stdwebhooks.ErrMalformed},
		{name: "timestamp in milliseconds", header: headers(func(h http.Header) {
			h.Set("webhook-timestamp", strconv.FormatInt(sent.UnixMilli(), 10))
		}), want: stdwebhooks.ErrTimestamp},
		{name: "timestamp as a date", header: headers(func(h http.Header) { h.Set("webhook-timestamp", sent.Format(time.RFC3339)) }), want: stdwebhooks.ErrMalformed},
		{name: "timestamp with a sign", header: headers(func(h http.Header) {
			h.Set("webhook-timestamp", "+"+strconv.FormatInt(sent.Unix(), 10))
		}), want: stdwebhooks.ErrMalformed},
		{name: "no signature", header: headers(func(h http.Header) { h.Del("webhook-signature") }), want: stdwebhooks.ErrMalformed},
		{name: "blank signature", header: headers(func(h http.Header) { h.Set("webhook-signature", "  ") }), want: stdwebhooks.ErrMalformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, now := c.body, c.now
			if b == nil {
				b = body
			}
			if now.IsZero() {
				now = sent.Add(time.Second)
			}
			err := stdwebhooks.Verify(secret, c.header, b, now)
			if c.want == nil {
				if err != nil {
					t.Fatalf("Verify = %v", err)
				}
				return
			}
			var refusal *stdwebhooks.Refusal
			if !errors.Is(err, c.want) || !errors.As(err, &refusal) || refusal.Detail == "" {
				t.Fatalf("Verify = %v, want a refusal for %v", err, c.want)
			}
			// What the headers alone show, CheckHeaders refuses the same way.
			switch check := stdwebhooks.CheckHeaders(c.header, now); {
			case c.bodyOnly && check != nil:
				t.Fatalf("CheckHeaders = %v, want nil: only the body shows the forgery", check)
			case !c.bodyOnly && !errors.Is(check, c.want):
				t.Fatalf("CheckHeaders = %v, want %v", check, c.want)
			}
		})
	}
	t.Run("a malformed secret is our fault, not the sender's", func(t *testing.T) {
		err := stdwebhooks.Verify("not-a-secret", headers(nil), body, sent)
		var refusal *stdwebhooks.Refusal
		if err == nil || errors.As(err, &refusal) {
			t.Fatalf("Verify with a bad secret = %v", err)
		}
	})
}

func TestHeaders(t *testing.T) {
	at := time.Unix(vectorTimestamp, 0)
	h, err := stdwebhooks.Headers(vectorSecret, vectorID, at, []byte(vectorPayload))
	if err != nil {
		t.Fatal(err)
	}
	if h.Get("webhook-id") != vectorID || h.Get("webhook-timestamp") != "1614265330" || h.Get("webhook-signature") != vectorSignature {
		t.Fatalf("Headers = %v", h)
	}
	if err := stdwebhooks.Verify(vectorSecret, h, []byte(vectorPayload), at); err != nil {
		t.Fatalf("Verify(Headers) = %v", err)
	}
}

func TestNewSecret(t *testing.T) {
	a, b := stdwebhooks.NewSecret(), stdwebhooks.NewSecret()
	if a == b || !strings.HasPrefix(a, "whsec_") {
		t.Fatalf("NewSecret = %q, %q", a, b)
	}
	key, err := stdwebhooks.SecretKey(a)
	if err != nil || len(key) != 32 {
		t.Fatalf("SecretKey(NewSecret()) = %d bytes, %v; want 32", len(key), err)
	}
}

func TestValidID(t *testing.T) {
	for id, want := range map[string]bool{
		"msg_1": true, strings.Repeat("a", 256): true, strings.Repeat("a", 257): false,
		"": false, "msg.1": false, "msg 1": false, "msg\x7f": false, "msg_é": false,
	} {
		if got := stdwebhooks.ValidID(id); got != want {
			t.Errorf("ValidID(%q) = %v, want %v", id, got, want)
		}
	}
}
