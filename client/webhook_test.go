package client_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/steward-dev/steward/client"
)

// The test vector published with the Standard Webhooks reference
// libraries, as a receiver gets it.
const (
	vectorSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	vectorID        = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vectorTimestamp = 1614265330
	vectorSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
	vectorPayload   = `{"test": 2432232314}`
)

func vectorHeader(edit func(http.Header)) http.Header {
	h := http.Header{}
	h.Set("webhook-id", vectorID)
	h.Set("webhook-timestamp", strconv.Itoa(vectorTimestamp))
	h.Set("webhook-signature", vectorSignature)
	if edit != nil {
		edit(h)
	}
	return h
}

func TestVerifyWebhookPayload(t *testing.T) {
	signedAt := time.Unix(vectorTimestamp, 0)
	cases := []struct {
		name   string
		header http.Header
		body   string
		secret string
		now    time.Time
		want   error // nil: accepted
	}{
		{name: "the vector", header: vectorHeader(nil), body: vectorPayload, now: signedAt.Add(time.Minute)},
		{name: "a forged body", header: vectorHeader(nil), body: `{"test": 1}`, now: signedAt, want: client.ErrWebhookSignature},
		{name: "another secret", header: vectorHeader(nil), body: vectorPayload, now: signedAt,
			secret: "whsec_" + strings.Repeat("A", 32), want: client.ErrWebhookSignature},
		{name: "a replay after the tolerance", header: vectorHeader(nil), body: vectorPayload,
			now: signedAt.Add(client.WebhookTolerance + time.Second), want: client.ErrWebhookTimestamp},
		{name: "no id", header: vectorHeader(func(h http.Header) { h.Del("webhook-id") }), body: vectorPayload, now: signedAt,
			want: client.ErrWebhookMalformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			secret := c.secret
			if secret == "" {
				secret = vectorSecret
			}
			_, err := client.VerifyWebhookPayload(c.header, []byte(c.body), secret, c.now)
			if c.want == nil && err != nil || c.want != nil && !errors.Is(err, c.want) {
				t.Fatalf("VerifyWebhookPayload = %v, want %v", err, c.want)
			}
		})
	}
	t.Run("decodes the event and its id", func(t *testing.T) {
		// The vector's payload is not an event; the id comes from the header.
		e, err := client.VerifyWebhookPayload(vectorHeader(nil), []byte(vectorPayload), vectorSecret, signedAt)
		if err != nil || e.ID != vectorID || e.Type != "" {
			t.Fatalf("VerifyWebhookPayload = %+v, %v", e, err)
		}
	})
}

// TestVerifyWebhookChecksHeadersBeforeTheBody: a request without a
// signature is refused before its body is read.
func TestVerifyWebhookChecksHeadersBeforeTheBody(t *testing.T) {
	body := &countingReader{r: strings.NewReader(vectorPayload)}
	r := httptest.NewRequest(http.MethodPost, "/steward", body)
	r.Header = vectorHeader(func(h http.Header) {
		h.Set("webhook-timestamp", strconv.FormatInt(time.Now().Unix(), 10))
		h.Del("webhook-signature")
	})
	if _, err := client.VerifyWebhook(r, vectorSecret); !errors.Is(err, client.ErrWebhookMalformed) {
		t.Fatalf("VerifyWebhook = %v, want ErrWebhookMalformed", err)
	}
	if body.n != 0 {
		t.Fatalf("VerifyWebhook read %d bytes of an unsigned request", body.n)
	}
}

type countingReader struct {
	r interface{ Read([]byte) (int, error) }
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}
