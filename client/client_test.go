package client_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/steward-dev/steward/client"
)

// recorded is what the fake server saw of one request.
type recorded struct {
	method, uri, body string
	header            http.Header
}

// fakeServer answers every request with status, contentType and body, and
// records the last request.
func fakeServer(t *testing.T, status int, contentType, body string) (*httptest.Server, *recorded) {
	t.Helper()
	var last recorded
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		last = recorded{method: r.Method, uri: r.RequestURI, body: string(b), header: r.Header.Clone()}
		if contentType != "" {
			w.Header().Set("Content-Type", contentType)
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv, &last
}

func TestRequests(t *testing.T) {
	ctx := context.Background()
	at := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name       string
		call       func(c *client.Client) error
		answer     string
		wantMethod string
		wantURI    string
		wantBody   string // exact, when set
		wantHeader map[string]string
	}{
		{
			name: "append events",
			call: func(c *client.Client) error {
				_, err := c.AppendEvents(ctx, []client.EventInput{{ID: "e1", Property: "shop", Device: "d1", Purpose: "analytics", Action: client.ActionGrant, Source: client.SourceBanner}})
				return err
			},
			answer:     `{"results":[]}`,
			wantMethod: "POST", wantURI: "/v1/consent/events",
			// Zero and empty optional fields are left out; the server fills them.
			wantBody:   `{"events":[{"id":"e1","property":"shop","device":"d1","purpose":"analytics","action":"grant","source":"banner"}]}`,
			wantHeader: map[string]string{"Content-Type": "application/json", "Authorization": "Bearer stw_test"},
		},
		{
			name: "append an event with a time",
			call: func(c *client.Client) error {
				_, err := c.AppendEvents(ctx, []client.EventInput{{ID: "e1", At: at}})
				return err
			},
			answer:     `{"results":[]}`,
			wantMethod: "POST", wantURI: "/v1/consent/events",
			wantBody: `{"events":[{"id":"e1","property":"","purpose":"","action":"","source":"","at":"2026-11-28T12:00:00Z"}]}`,
		},
		{
			name: "list events with every filter",
			call: func(c *client.Client) error {
				_, err := c.ListEvents(ctx, client.EventFilter{After: 42, Limit: 10, Subject: "a b", Device: "d&1"})
				return err
			},
			answer:     `{"items":[],"next":42}`,
			wantMethod: "GET", wantURI: "/v1/consent/events?after=42&device=d%261&limit=10&subject=a+b",
		},
		{
			name:       "list events without filter",
			call:       func(c *client.Client) error { _, err := c.ListEvents(ctx, client.EventFilter{}); return err },
			answer:     `{"items":[],"next":0}`,
			wantMethod: "GET", wantURI: "/v1/consent/events",
		},
		{
			name:       "get event escapes the path",
			call:       func(c *client.Client) error { _, err := c.GetEvent(ctx, "shop", "a/b c"); return err },
			answer:     `{"id":"a/b c"}`,
			wantMethod: "GET", wantURI: "/v1/consent/events/shop/a%2Fb%20c",
		},
		{
			name: "decide with Sec-GPC",
			call: func(c *client.Client) error {
				_, err := c.Decide(ctx, []client.Question{{Device: "d", Purpose: "p"}}, client.WithGPCHeader(true))
				return err
			},
			answer:     `{"answers":[{"allowed":false,"reason":"gpc_opt_out","event":null}]}`,
			wantMethod: "POST", wantURI: "/v1/decisions",
			wantBody:   `{"questions":[{"device":"d","purpose":"p"}]}`,
			wantHeader: map[string]string{"Sec-GPC": "1"},
		},
		{
			name: "decide without Sec-GPC",
			call: func(c *client.Client) error {
				_, err := c.Decide(ctx, []client.Question{{Device: "d", Purpose: "p"}}, client.WithGPCHeader(false))
				return err
			},
			answer:     `{"answers":[]}`,
			wantMethod: "POST", wantURI: "/v1/decisions",
			wantHeader: map[string]string{"Sec-GPC": ""},
		},
		{
			name:       "link device",
			call:       func(c *client.Client) error { _, err := c.LinkDevice(ctx, "cust 1", "d1"); return err },
			answer:     `{"device":"d1","subject":"cust 1","seq":3,"linked_at":"2026-11-28T12:00:00Z"}`,
			wantMethod: "POST", wantURI: "/v1/subjects/cust%201/devices", wantBody: `{"device":"d1"}`,
		},
		{
			name: "reveal a field escapes the path and states the purpose",
			call: func(c *client.Client) error {
				_, err := c.RevealField(ctx, "cust/1", "iban", client.StatedPurpose{Purpose: "refund", Ticket: "T-1"})
				return err
			},
			answer:     `{"subject":"cust/1","field":"iban","value":"x","audit_seq":9}`,
			wantMethod: "POST", wantURI: "/v1/subjects/cust%2F1/fields/iban/reveal", wantBody: `{"purpose":"refund","ticket":"T-1"}`,
		},
		{
			name: "detokenize sends the token in the body",
			call: func(c *client.Client) error {
				_, err := c.Detokenize(ctx, "tok_1", client.StatedPurpose{Purpose: "refund", Ticket: "T-1"})
				return err
			},
			answer:     `{}`,
			wantMethod: "POST", wantURI: "/v1/detokenize", wantBody: `{"token":"tok_1","purpose":"refund","ticket":"T-1"}`,
		},
		{
			name:       "accesses before a sequence number",
			call:       func(c *client.Client) error { _, err := c.ListAccesses(ctx, "cust-1", 42); return err },
			answer:     `{"items":[],"next":0}`,
			wantMethod: "GET", wantURI: "/v1/subjects/cust-1/accesses?before=42",
		},
		{
			name:       "lift one purpose's restriction",
			call:       func(c *client.Client) error { _, err := c.LiftRestriction(ctx, "cust-1", "ads & more"); return err },
			answer:     `{"restrictions":[]}`,
			wantMethod: "DELETE", wantURI: "/v1/subjects/cust-1/restrictions?purpose=ads+%26+more",
		},
		{
			name: "list requests with every filter",
			call: func(c *client.Client) error {
				_, err := c.ListRequests(ctx, client.RequestFilter{States: []client.RequestState{client.StateReceived, client.StateVerified},
					Kinds: []client.RequestKind{client.KindErasure}, Regimes: []client.RequestRegime{client.RegimeCCPA},
					Overdue: true, Closed: true, Limit: 5, Cursor: "c1", ID: "req_1"})
				return err
			},
			answer:     `{"items":[]}`,
			wantMethod: "GET",
			wantURI:    "/v1/requests?closed=true&cursor=c1&id=req_1&kind=erasure&limit=5&overdue=true&regime=ccpa&state=received%2Cverified",
		},
		{
			name: "file a request leaves out what is not given",
			call: func(c *client.Client) error {
				_, err := c.FileRequest(ctx, client.RequestInput{Kind: client.KindAccess, Channel: client.ChannelPhone, Email: "a@shop.example"})
				return err
			},
			answer:     `{"id":"req_1"}`,
			wantMethod: "POST", wantURI: "/v1/requests", wantBody: `{"kind":"access","channel":"phone","email":"a@shop.example"}`,
		},
		{
			name: "update an endpoint sends only what changes",
			call: func(c *client.Client) error {
				off := false
				_, err := c.UpdateWebhookEndpoint(ctx, "wh 1", client.WebhookEndpointUpdate{Enabled: &off})
				return err
			},
			answer:     `{"id":"wh 1"}`,
			wantMethod: "PATCH", wantURI: "/v1/webhooks/endpoints/wh%201", wantBody: `{"enabled":false}`,
		},
		{
			name:       "rotate an endpoint's secret",
			call:       func(c *client.Client) error { _, err := c.RotateWebhookSecret(ctx, "wh_1"); return err },
			answer:     `{"id":"wh_1","secret":"whsec_x"}`,
			wantMethod: "POST", wantURI: "/v1/webhooks/endpoints/wh_1/rotate-secret",
		},
		{
			name:       "messages of an endpoint after a cursor",
			call:       func(c *client.Client) error { _, err := c.ListWebhookMessages(ctx, "wh_1", "msg_9"); return err },
			answer:     `{"items":[],"next":""}`,
			wantMethod: "GET", wantURI: "/v1/webhooks/endpoints/wh_1/messages?after=msg_9",
		},
		{
			name: "ask a disclosure",
			call: func(c *client.Client) error {
				_, err := c.AskDisclosure(ctx, client.DisclosureInput{Subject: "cust-1", Vendor: "adnet", Purpose: "marketing",
					Categories: []string{"contact"}, Reason: "offers"})
				return err
			},
			answer:     `{"id":"dis_1","state":"pending"}`,
			wantMethod: "POST", wantURI: "/v1/disclosures",
			wantBody: `{"subject":"cust-1","vendor":"adnet","purpose":"marketing","categories":["contact"],"reason":"offers"}`,
		},
		{
			name: "create property without rules",
			call: func(c *client.Client) error {
				_, err := c.CreateProperty(ctx, client.PropertyInput{Key: "shop", Name: "Shop"})
				return err
			},
			answer:     `{"key":"shop"}`,
			wantMethod: "POST", wantURI: "/v1/properties", wantBody: `{"key":"shop","name":"Shop"}`,
		},
		{
			name: "update property",
			call: func(c *client.Client) error {
				_, err := c.UpdateProperty(ctx, client.PropertyInput{Key: "shop", Name: "Shop"})
				return err
			},
			answer:     `{"key":"shop"}`,
			wantMethod: "PUT", wantURI: "/v1/properties/shop",
		},
		{
			name: "update purpose from what was read",
			call: func(c *client.Client) error {
				p := client.Purpose{Key: "ads", Name: map[string]string{"en": "Ads"}, LegalBasis: client.BasisConsent, CreatedAt: at}
				_, err := c.UpdatePurpose(ctx, p.Input())
				return err
			},
			answer:     `{"key":"ads"}`,
			wantMethod: "PUT", wantURI: "/v1/purposes/ads",
			// Read-only fields such as created_at would be refused as unknown.
			wantBody: `{"key":"ads","name":{"en":"Ads"},"legal_basis":"consent"}`,
		},
		{
			name:       "publish notice",
			call:       func(c *client.Client) error { _, err := c.PublishNotice(ctx, "2026-11"); return err },
			answer:     `{"version":"2026-11","ordinal":1}`,
			wantMethod: "POST", wantURI: "/v1/notices/2026-11/publish", wantBody: "",
		},
		{
			name:       "revoke key",
			call:       func(c *client.Client) error { return c.RevokeAPIKey(ctx, "key_1") },
			wantMethod: "DELETE", wantURI: "/v1/api-keys/key_1",
		},
		{
			name:       "jwks",
			call:       func(c *client.Client) error { _, err := c.JWKS(ctx); return err },
			answer:     `{"keys":[]}`,
			wantMethod: "GET", wantURI: "/.well-known/jwks.json",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status := http.StatusOK
			if tc.answer == "" {
				status = http.StatusNoContent
			}
			srv, last := fakeServer(t, status, "application/json", tc.answer)
			c := client.New(srv.URL+"/", "stw_test")
			if err := tc.call(c); err != nil {
				t.Fatal(err)
			}
			if last.method != tc.wantMethod || last.uri != tc.wantURI {
				t.Errorf("request %s %s, want %s %s", last.method, last.uri, tc.wantMethod, tc.wantURI)
			}
			if tc.wantBody != "" && last.body != tc.wantBody {
				t.Errorf("body\n got %s\nwant %s", last.body, tc.wantBody)
			}
			if got := last.header.Get("User-Agent"); got != client.DefaultUserAgent {
				t.Errorf("User-Agent %q", got)
			}
			for name, want := range tc.wantHeader {
				if got := last.header.Get(name); got != want {
					t.Errorf("header %s = %q, want %q", name, got, want)
				}
			}
		})
	}
}

func TestAnswersDecode(t *testing.T) {
	srv, _ := fakeServer(t, 200, "application/json",
		`{"answers":[{"allowed":true,"reason":"consent_granted","event":17},{"allowed":false,"reason":"no_consent_recorded","event":null}]}`)
	answers, err := client.New(srv.URL, "k").Decide(context.Background(), []client.Question{{Device: "d", Purpose: "p"}})
	if err != nil {
		t.Fatal(err)
	}
	want := []client.Answer{{Allowed: true, Reason: client.ReasonConsentGranted, Event: 17}, {Reason: client.ReasonNoConsentRecorded}}
	if len(answers) != 2 || answers[0] != want[0] || answers[1] != want[1] {
		t.Errorf("answers %+v, want %+v", answers, want)
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name        string
		status      int
		contentType string
		body        string
		want        client.Error
		wantText    string
	}{
		{
			name: "problem with fields", status: 400, contentType: "application/problem+json",
			body: `{"type":"about:blank","title":"Bad Request","status":400,"detail":"invalid input","code":"invalid",
				"errors":[{"field":"events[0].at","detail":"lies in the future"},{"field":"events[1].purpose","detail":"unknown purpose \"ads\""}]}`,
			want: client.Error{Status: 400, Code: client.CodeInvalid, Title: "Bad Request", Detail: "invalid input", Type: "about:blank",
				Fields: map[string]string{"events[0].at": "lies in the future", "events[1].purpose": `unknown purpose "ads"`}},
			wantText: "steward: 400 invalid: invalid input (2 fields)",
		},
		{
			name: "unauthorized", status: 401, contentType: "application/problem+json",
			body:     `{"type":"about:blank","title":"Unauthorized","status":401,"detail":"invalid API key","code":"unauthorized"}`,
			want:     client.Error{Status: 401, Code: client.CodeUnauthorized, Title: "Unauthorized", Detail: "invalid API key", Type: "about:blank"},
			wantText: "steward: 401 unauthorized: invalid API key",
		},
		{
			name: "plain text from a proxy or the router", status: 404, contentType: "text/plain; charset=utf-8",
			body:     "404 page not found\n",
			want:     client.Error{Status: 404, Title: "Not Found", Detail: "404 page not found"},
			wantText: "steward: 404: 404 page not found",
		},
		{
			name: "no body", status: 502,
			want:     client.Error{Status: 502, Title: "Bad Gateway"},
			wantText: "steward: 502: Bad Gateway",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv, _ := fakeServer(t, tc.status, tc.contentType, tc.body)
			_, err := client.New(srv.URL, "k").ListProperties(context.Background())
			// errors.As must find the *Error through wrapping too.
			wrapped := fmt.Errorf("sync catalog: %w", err)
			var apiErr *client.Error
			if !errors.As(wrapped, &apiErr) {
				t.Fatalf("error %v (%T) is not a *client.Error", err, err)
			}
			got := *apiErr
			if got.Status != tc.want.Status || got.Code != tc.want.Code || got.Title != tc.want.Title ||
				got.Detail != tc.want.Detail || got.Type != tc.want.Type || fmt.Sprint(got.Fields) != fmt.Sprint(tc.want.Fields) {
				t.Errorf("error\n got %+v\nwant %+v", got, tc.want)
			}
			if apiErr.Error() != tc.wantText {
				t.Errorf("Error() = %q, want %q", apiErr.Error(), tc.wantText)
			}
		})
	}
}

func TestTransportErrorIsNotAPIError(t *testing.T) {
	srv, _ := fakeServer(t, 200, "application/json", `{}`)
	srv.Close()
	_, err := client.New(srv.URL, "k").Ready(context.Background())
	var apiErr *client.Error
	if err == nil || errors.As(err, &apiErr) {
		t.Errorf("closed server: %v, want a transport error", err)
	}
}

func TestOptions(t *testing.T) {
	srv, last := fakeServer(t, 200, "application/json", `{"status":"ready","ledger_seq":7}`)
	var calls atomic.Int32
	hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		calls.Add(1)
		return http.DefaultTransport.RoundTrip(r)
	})}
	ready, err := client.New(srv.URL, "", client.WithHTTPClient(hc), client.WithUserAgent("shop-backend/2")).Ready(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if ready.Status != "ready" || ready.LedgerSeq != 7 {
		t.Errorf("ready %+v", ready)
	}
	if calls.Load() != 1 {
		t.Errorf("the HTTP client given was used %d times, want 1", calls.Load())
	}
	if got := last.header.Get("User-Agent"); got != "shop-backend/2" {
		t.Errorf("User-Agent %q", got)
	}
	if got := last.header.Get("Authorization"); got != "" {
		t.Errorf("Authorization %q sent without a key", got)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestEmptyArgumentsSendNothing(t *testing.T) {
	srv, last := fakeServer(t, 200, "application/json", `{}`)
	c := client.New(srv.URL, "k")
	ctx := context.Background()
	for name, call := range map[string]func() error{
		"GetProperty":   func() error { _, err := c.GetProperty(ctx, ""); return err },
		"UpdateVendor":  func() error { _, err := c.UpdateVendor(ctx, client.VendorInput{}); return err },
		"PublishNotice": func() error { _, err := c.PublishNotice(ctx, ""); return err },
		"GetEvent":      func() error { _, err := c.GetEvent(ctx, "shop", ""); return err },
		"LinkDevice":    func() error { _, err := c.LinkDevice(ctx, "", "d"); return err },
		"RevokeAPIKey":  func() error { return c.RevokeAPIKey(ctx, "") },
	} {
		if err := call(); err == nil || !strings.Contains(err.Error(), "required") {
			t.Errorf("%s with an empty argument: %v", name, err)
		}
	}
	if last.method != "" {
		t.Errorf("a request was sent: %s %s", last.method, last.uri)
	}
}
