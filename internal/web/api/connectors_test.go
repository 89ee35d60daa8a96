package api_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/connector"
	"github.com/steward-dev/steward/internal/connector/httpsystem"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/web/api"
)

// countingReader is a request body of size bytes that counts what the
// handler reads of it.
type countingReader struct {
	left, read int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	if c.left == 0 {
		return 0, io.EOF
	}
	n := int64(len(p))
	if n > c.left {
		n = c.left
	}
	for i := range p[:n] {
		p[i] = ' '
	}
	c.left -= n
	c.read += n
	return int(n), nil
}

type nopBox struct{}

func (nopBox) Seal(_ context.Context, p, _ []byte) ([]byte, error) { return p, nil }
func (nopBox) Open(_ context.Context, p, _ []byte) ([]byte, error) { return p, nil }

// TestCallbackHeadersBeforeBody replays a 16 MiB callback that is unsigned,
// badly signed, stale, for an unknown or answered call: it is refused
// before the handler reads its body. A signed erasure callback is read only
// up to the report's limit.
func TestCallbackHeadersBeforeBody(t *testing.T) {
	const size = 16 << 20
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		secret := httpsystem.GenerateSecret()
		now := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
		ds, err := httpsystem.Parse("crm.yaml", []byte("connector: crm\nengine: http\nurl: https://crm.example/steward\nsecret_env: CRM\n"+
			"operations: [access, erasure]\ncategories: [contact]\n"))
		if err != nil {
			t.Fatal(err)
		}
		// The system is never reached (a refused address): the calls stay
		// pending, which is all the callbacks need.
		hooks, err := httpsystem.New(httpsystem.Config{DB: store, Secrets: nopBox{}, Datasets: []*httpsystem.Dataset{ds},
			Getenv: func(string) string { return secret }, PublicURL: "https://privacy.shop.example",
			Resolver: staticResolver{}, Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		ids := connector.Identifiers{ExternalIDs: []string{"cust-1"}}
		_, _ = hooks.Start(ctx, ds, httpsystem.Erasure, "req_1", ids)
		erasure, err := hooks.Result(ctx, "crm", "req_1", httpsystem.Erasure)
		if err != nil {
			t.Fatal(err)
		}
		handler := (&api.Deps{Hooks: hooks, Log: slog.New(slog.DiscardHandler)}).HandleConnectorCallback()
		signed := func(edit func(http.Header)) http.Header {
			h := http.Header{}
			h.Set("webhook-id", "msg_1")
			h.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
			h.Set("webhook-signature", "v1,"+strings.Repeat("A", 43)+"=") // well formed, wrong
			if edit != nil {
				edit(h)
			}
			return h
		}
		cases := []struct {
			name      string
			connector string
			call      string
			header    http.Header
			status    int
			maxRead   int64
			declared  bool // the request states its length
		}{
			{"unsigned", "crm", erasure.ID, signed(func(h http.Header) { h.Del("webhook-signature") }), http.StatusUnauthorized, 0, false},
			{"garbage signature", "crm", erasure.ID, signed(func(h http.Header) { h.Set("webhook-signature", "v1,nope") }), http.StatusUnauthorized, 0, false},
			{"stale", "crm", erasure.ID, signed(func(h http.Header) {
				h.Set("webhook-timestamp", strconv.FormatInt(now.Add(-time.Hour).Unix(), 10))
			}), http.StatusUnauthorized, 0, false},
			{"no id", "crm", erasure.ID, signed(func(h http.Header) { h.Del("webhook-id") }), http.StatusUnauthorized, 0, false},
			{"unknown connector", "shop", erasure.ID, signed(nil), http.StatusNotFound, 0, false},
			{"unknown call", "crm", "whc_unknown", signed(nil), http.StatusNotFound, 0, false},
			// Headers that pass the checks: the body is read, but only up
			// to an erasure report's limit, and the signature then fails.
			{"wrong signature", "crm", erasure.ID, signed(nil), http.StatusRequestEntityTooLarge, httpsystem.MaxReportBytes + 1, false},
			// Its length stated, it is refused without reading at all.
			{"wrong signature, length stated", "crm", erasure.ID, signed(nil), http.StatusRequestEntityTooLarge, 0, true},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				body := &countingReader{left: size}
				r := httptest.NewRequest("POST", fmt.Sprintf("/v1/connectors/%s/callback/%s", c.connector, c.call), body)
				r.SetPathValue("name", c.connector)
				r.SetPathValue("call", c.call)
				r.Header = c.header.Clone()
				r.Header.Set("Content-Type", "application/json")
				if c.declared {
					r.ContentLength = size
				} else {
					r.ContentLength = -1
				}
				w := httptest.NewRecorder()
				handler.ServeHTTP(w, r)
				if w.Code != c.status {
					t.Fatalf("status %d, want %d: %s", w.Code, c.status, w.Body)
				}
				if body.read > c.maxRead {
					t.Fatalf("the handler read %d bytes of the body, want at most %d", body.read, c.maxRead)
				}
			})
		}
		t.Run("signed", func(t *testing.T) {
			body := `{"status":"done","report":{"steps":[]}}`
			r := httptest.NewRequest("POST", "/v1/connectors/crm/callback/"+erasure.ID, strings.NewReader(body))
			r.SetPathValue("name", "crm")
			r.SetPathValue("call", erasure.ID)
			h, err := httpsystem.Headers(secret, "msg_1", now, []byte(body))
			if err != nil {
				t.Fatal(err)
			}
			r.Header = h
			w := httptest.NewRecorder()
			handler.ServeHTTP(w, r)
			if w.Code != http.StatusNoContent {
				t.Fatalf("signed callback: %d %s", w.Code, w.Body)
			}
		})
	})
}

// staticResolver puts every host on loopback, which the guard refuses.
type staticResolver struct{}

func (staticResolver) LookupNetIP(context.Context, string, string) ([]netip.Addr, error) {
	return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
}
