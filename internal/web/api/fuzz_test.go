package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/apikey"
	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/ethics/ethicstest"
	"github.com/steward-dev/steward/internal/receipt"
	"github.com/steward-dev/steward/internal/web/auth"
	"github.com/steward-dev/steward/internal/web/httpx"
)

// fuzzNow is the consent service's clock in the fuzz targets.
var fuzzNow = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

// fuzzDeps opens a consent service on a fresh SQLite store with a small
// catalog: property shop, purposes necessary, analytics and marketing,
// vendor metrics-co for analytics, notice v1. The fuzz targets only read
// the catalog and append to the ledger, which behave alike on both
// engines (the store tests cover PostgreSQL); SQLite keeps a target's
// setup to a file of its own.
func fuzzDeps(tb testing.TB) (*Deps, *receipt.Signer) {
	tb.Helper()
	ctx := context.Background()
	key, err := receipt.LoadOrCreateKey(tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	signer, err := receipt.NewSigner(key)
	if err != nil {
		tb.Fatal(err)
	}
	svc, err := consent.Open(ctx, consent.Config{DB: dbtest.Open(tb, db.SQLite), Signer: signer,
		Now: func() time.Time { return fuzzNow }, FollowInterval: -1,
		Controller: receipt.Controller{PIIController: "Example Shop"}})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { svc.Close() })
	ethicstest.OpenPurposes(tb, svc)
	must := func(_ any, err error) {
		tb.Helper()
		if err != nil {
			tb.Fatal(err)
		}
	}
	must(svc.PutProperty(ctx, consent.Property{Key: "shop", Name: "Shop", Domains: []string{"shop.example"}, DefaultJurisdiction: "DE"}, true))
	for _, p := range []consent.Purpose{
		{Key: "necessary", Names: map[string]string{"en": "Necessary"}, LegalBasis: consent.BasisContract, Necessary: true},
		{Key: "analytics", Names: map[string]string{"en": "Analytics"}, LegalBasis: consent.BasisConsent, Position: 1},
		{Key: "marketing", Names: map[string]string{"en": "Marketing"}, LegalBasis: consent.BasisLegitimateInterest, Position: 2},
	} {
		must(svc.PutPurpose(ctx, p, true))
	}
	must(svc.PutVendor(ctx, consent.Vendor{Key: "metrics-co", Name: "Metrics Co", Purposes: []string{"analytics"}, Country: "IE"}, true))
	must(svc.PutNotice(ctx, consent.Notice{Version: "v1", Texts: map[string]string{"en": "We use data to..."}, Material: true}, true, true))
	return &Deps{Consent: svc}, signer
}

// fuzzScopes are the keys a fuzzed request is sent with, chosen by a byte
// of the input: every author of events, and one key that may assert none.
var fuzzScopes = []*apikey.Key{
	{ID: "k-ingest", Scope: apikey.ScopeIngest, Property: "shop"},
	{ID: "k-record", Scope: apikey.ScopeRecord},
	{ID: "k-admin", Scope: apikey.ScopeAdmin},
	{ID: "k-decide", Scope: apikey.ScopeDecide},
}

// problemOf decodes a problem+json answer, failing the test when the
// answer is not one.
func problemOf(t *testing.T, rec *httptest.ResponseRecorder) httpx.Problem {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("status %d with Content-Type %q, want problem+json: %s", rec.Code, ct, rec.Body)
	}
	var p httpx.Problem
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
		t.Fatalf("problem does not parse: %v: %s", err, rec.Body)
	}
	if p.Status != rec.Code || p.Detail == "" || p.Code == "" {
		t.Fatalf("problem without status, code or detail: %s", rec.Body)
	}
	return p
}

// checkInvalid asserts what every refusal of bad input must be: a 400 (or
// 413 for a body over the limit) problem of code invalid, which names the
// fields at fault whenever the body was well-formed JSON (a syntax error
// has no field to name, only a byte offset).
func checkInvalid(t *testing.T, rec *httptest.ResponseRecorder, body []byte) {
	t.Helper()
	p := problemOf(t, rec)
	if p.Code != "invalid" {
		t.Fatalf("refusal of code %q, want invalid: %s", p.Code, rec.Body)
	}
	if rec.Code == http.StatusBadRequest && json.Valid(body) && len(p.Errors) == 0 {
		t.Fatalf("well-formed JSON refused without naming a field: %s", rec.Body)
	}
	for _, fp := range p.Errors {
		if fp.Field == "" || fp.Detail == "" || strings.Contains(fp.Detail, "\n") {
			t.Fatalf("field problem %+v is empty or not one line", fp)
		}
	}
}

// FuzzAppendEvents posts fuzzed bodies to POST /v1/consent/events, with
// a key chosen by the first byte. It checks that the handler never panics
// or answers 500; that a refusal is problem+json of code invalid naming
// the field (forbidden only for a key that may assert no event, conflict
// only for an id already recorded with other content); and that
// an accepted batch answers one result per event, each with a receipt that
// verifies and names the event.
func FuzzAppendEvents(f *testing.F) {
	deps, signer := fuzzDeps(f)
	handler := deps.HandleAppendEvents()
	ev := func(fields string) string {
		return `{"id":"e1","property":"shop","device":"dev-1","purpose":"analytics","action":"grant","source":"banner",` +
			`"notice_version":"v1"` + fields + `}`
	}
	for _, seed := range []struct {
		scope byte
		body  string
	}{
		{0, `{"events":[` + ev("") + `]}`},
		{0, `{"events":[` + ev(`,"vendor":"metrics-co","jurisdiction":"US-CA","gpc":true,"dnt":true,"at":"2026-11-28T11:59:00Z"`) + `]}`},
		{0, `{"events":[` + ev(`,"tc_string":"COwAdDhOwAdDhN4ABAENAPCgAAQAAv___wAAAFP_AAp_4AI6ACACAA"`) + `]}`},
		{1, `{"events":[{"id":"e2","property":"shop","subject":"cust-1","purpose":"marketing","action":"object","source":"api"}]}`},
		{2, `{"events":[{"id":"e3","property":"shop","subject":"cust-1","purpose":"analytics","action":"grant","source":"import","at":"2025-01-02T03:04:05.123456Z"}]}`},
		{3, `{"events":[` + ev("") + `]}`},
		{0, `{"events":[{},{}]}`},
		{0, `{"events":null}`}, {0, `null`}, {0, `{}`}, {0, `[]`}, {0, ``}, {0, `{"events":[] }x`},
		{0, `{"events":[],"events":[]}`}, {0, `{"other":1}`}, {0, `{"events":[{"at":"yesterday"}]}`},
		{0, `{"events":[{"at":"0001-01-01T00:00:00Z"}]}`}, {0, `{"events":[{"gpc":"yes"}]}`}, {0, `{"events":[{"id":7}]}`},
		{1, `{"events":[{"id":"` + strings.Repeat("x", 200) + `"}]}`}, {0, `{"events":[[` + strings.Repeat(`[`, 100)},
	} {
		f.Add(seed.scope, []byte(seed.body))
	}
	f.Fuzz(func(t *testing.T, scope byte, body []byte) {
		key := fuzzScopes[int(scope)%len(fuzzScopes)]
		req := httptest.NewRequestWithContext(auth.WithKey(context.Background(), key), http.MethodPost,
			"/v1/consent/events", strings.NewReader(string(body)))
		req.Header.Set("Content-Type", "text/plain")
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusOK:
		case http.StatusForbidden:
			if p := problemOf(t, rec); key.Scope != apikey.ScopeDecide || p.Code != "forbidden" {
				t.Fatalf("a %s key was refused as forbidden: %s", key.Scope, rec.Body)
			}
			return
		case http.StatusConflict:
			// An id the ledger holds with other content (the ledger keeps
			// whatever earlier runs appended).
			if p := problemOf(t, rec); p.Code != "conflict" || len(p.Errors) == 0 || !strings.HasSuffix(p.Errors[0].Field, ".id") {
				t.Fatalf("conflict not naming an id: %s", rec.Body)
			}
			return
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
			checkInvalid(t, rec, body)
			return
		default:
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		if key.Scope == apikey.ScopeDecide {
			t.Fatalf("a decide key recorded events: %s", rec.Body)
		}
		var in struct {
			Events []struct {
				ID string `json:"id"`
			} `json:"events"`
		}
		var out struct {
			Results []eventResult `json:"results"`
		}
		if err := json.Unmarshal(body, &in); err != nil {
			t.Fatalf("accepted a body encoding/json refuses: %v", err)
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			t.Fatalf("answer does not parse: %v: %s", err, rec.Body)
		}
		if len(out.Results) != len(in.Events) || len(in.Events) == 0 {
			t.Fatalf("%d events answered with %d results", len(in.Events), len(out.Results))
		}
		for i, res := range out.Results {
			r, err := receipt.Verify(res.Receipt, signer.JWKS())
			if err != nil {
				t.Fatalf("result %d: receipt does not verify: %v", i, err)
			}
			if res.ID != in.Events[i].ID || r.ConsentReceiptID == "" || res.Seq < 1 {
				t.Fatalf("result %d = %+v for event %q", i, res, in.Events[i].ID)
			}
		}
	})
}

// FuzzDecide posts fuzzed bodies to POST /v1/decisions. It checks that the
// handler never panics or answers 500, that a refusal is problem+json of
// code invalid naming the field, and that an accepted batch answers one
// answer per question, each with a known reason.
func FuzzDecide(f *testing.F) {
	deps, _ := fuzzDeps(f)
	handler := deps.HandleDecide()
	for _, seed := range []string{
		`{"questions":[{"device":"dev-1","purpose":"analytics"}]}`,
		`{"questions":[{"subject":"cust-1","purpose":"analytics","vendor":"metrics-co","jurisdiction":"US-CA","property":"shop","gpc":true}]}`,
		`{"questions":[{"device":"d","purpose":"necessary"},{"subject":"s","purpose":"marketing","jurisdiction":"DE"}]}`,
		`{"questions":[{"device":"d","purpose":"nope"}]}`, `{"questions":[{"purpose":"analytics"}]}`,
		`{"questions":[{"device":"d","purpose":"analytics","vendor":"x"}]}`, `{"questions":[{"device":"d","purpose":"analytics","property":"x"}]}`,
		`{"questions":[{"device":"d","purpose":"analytics","jurisdiction":"ZZZZ-1"}]}`,
		`{"questions":[]}`, `{"questions":null}`, `{}`, `null`, ``, `{"questions":[{"gpc":1}]}`, `{"questions":[{"extra":1}]}`,
		`{"questions":[{}]`, `{"questions":{}}`, `"questions"`,
	} {
		f.Add(false, []byte(seed))
	}
	f.Fuzz(func(t *testing.T, gpc bool, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "/v1/decisions", strings.NewReader(string(body)))
		if gpc {
			req.Header.Set("Sec-GPC", "1")
		}
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusOK:
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
			checkInvalid(t, rec, body)
			return
		default:
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		questions, err := httpx.DecodeBatch[consent.Question](body, "questions", MaxQuestions)
		if err != nil {
			t.Fatalf("answered a body DecodeBatch refuses: %v", err)
		}
		var out struct {
			Answers []consent.Answer `json:"answers"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			t.Fatalf("answer does not parse: %v: %s", err, rec.Body)
		}
		if len(out.Answers) != len(questions) || len(questions) == 0 {
			t.Fatalf("%d questions answered with %d answers", len(questions), len(out.Answers))
		}
		for i, a := range out.Answers {
			known := false
			for _, r := range consent.Reasons {
				known = known || r == a.Reason
			}
			if !known || a.Event < 0 {
				t.Fatalf("answer %d = %+v", i, a)
			}
		}
	})
}
