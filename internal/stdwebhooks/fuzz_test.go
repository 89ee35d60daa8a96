package stdwebhooks_test

import (
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/stdwebhooks"
)

// FuzzVerify checks Verify on fuzzed headers and bodies: it never panics;
// a refusal is a *Refusal wrapping ErrMalformed, ErrTimestamp or
// ErrSignature, the same CheckHeaders gives when the headers alone are at
// fault; and nothing verifies but a signature the secret made over the
// very id, timestamp and body received.
func FuzzVerify(f *testing.F) {
	now := time.Unix(vectorTimestamp, 0)
	signed := func(id string, ts int64, body string) string {
		s, err := stdwebhooks.Sign(vectorSecret, id, time.Unix(ts, 0), []byte(body))
		if err != nil {
			f.Fatal(err)
		}
		return s
	}
	for _, seed := range []struct{ id, ts, sig, body string }{
		{vectorID, strconv.Itoa(vectorTimestamp), signed(vectorID, vectorTimestamp, vectorPayload), vectorPayload},
		{"msg_1", strconv.Itoa(vectorTimestamp), "v1a,x " + signed("msg_1", vectorTimestamp, ``), ``},
		{"msg_1", strconv.Itoa(vectorTimestamp - 100), "v2,abc " + signed("msg_1", vectorTimestamp-100, `x`), `x`},
		{"msg_1", "+" + strconv.Itoa(vectorTimestamp), signed("msg_1", vectorTimestamp, `x`), `x`},
		{"msg_1", "0" + strconv.Itoa(vectorTimestamp), signed("msg_1", vectorTimestamp, `x`), `x`},
		{"msg_1", strconv.Itoa(vectorTimestamp + 301), signed("msg_1", vectorTimestamp+301, `x`), `x`},
		{"msg.1", strconv.Itoa(vectorTimestamp), "v1,", ``}, {"", "", "", ""}, {"m", "99999999999999999999", "v1,AAAA", ""},
		{"m", "-1", "v1," + strings.Repeat("A", 44), ""}, {"m\x00", strconv.Itoa(vectorTimestamp), strings.Repeat("v1,x ", 900), ""},
	} {
		f.Add(seed.id, seed.ts, seed.sig, []byte(seed.body))
	}
	f.Fuzz(func(t *testing.T, id, ts, sig string, body []byte) {
		h := http.Header{}
		h.Set(stdwebhooks.HeaderID, id)
		h.Set(stdwebhooks.HeaderTimestamp, ts)
		h.Set(stdwebhooks.HeaderSignature, sig)
		err := stdwebhooks.Verify(vectorSecret, h, body, now)
		headersErr := stdwebhooks.CheckHeaders(h, now)
		if err != nil {
			var r *stdwebhooks.Refusal
			if !errors.As(err, &r) || !(errors.Is(err, stdwebhooks.ErrMalformed) || errors.Is(err, stdwebhooks.ErrTimestamp) ||
				errors.Is(err, stdwebhooks.ErrSignature)) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("refusal %#v is not a one-line *Refusal of a known reason", err)
			}
			if headersErr != nil && headersErr.Error() != err.Error() {
				t.Fatalf("Verify refuses with %v, CheckHeaders with %v", err, headersErr)
			}
			if headersErr == nil && !errors.Is(err, stdwebhooks.ErrSignature) {
				t.Fatalf("headers CheckHeaders accepts refused as %v", err)
			}
			return
		}
		if headersErr != nil {
			t.Fatalf("Verify accepted headers CheckHeaders refuses: %v", headersErr)
		}
		seconds, perr := strconv.ParseInt(ts, 10, 64)
		if perr != nil || strconv.FormatInt(seconds, 10) != ts {
			// A signature over another spelling of the time was forged.
			t.Fatalf("accepted timestamp %q", ts)
		}
		want, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(signed(id, seconds, string(body)), "v1,"))
		for _, s := range strings.Fields(sig) {
			if got, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, "v1,")); err == nil && strings.HasPrefix(s, "v1,") && string(got) == string(want) {
				return
			}
		}
		t.Fatalf("accepted signature %q, which the secret did not make", sig)
	})
}
