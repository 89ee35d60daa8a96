package admin

import (
	"context"
	"crypto/ed25519"
	"encoding/csv"
	"html/template"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/dsr"
	"github.com/steward-dev/steward/internal/ethics/ethicstest"
	"github.com/steward-dev/steward/internal/receipt"
	"github.com/steward-dev/steward/internal/staff"
	"github.com/steward-dev/steward/internal/vault"
	"github.com/steward-dev/steward/internal/vault/vaulttest"
)

// requestsFixture is a console over a fresh store, its handlers called
// as a privacy officer (Require is tested elsewhere).
type requestsFixture struct {
	console  *Console
	requests *dsr.Service
	vault    *vault.Vault
	now      time.Time
}

const adaEmail = "ada@shop.example"

func newRequestsFixture(t *testing.T, store *db.DB) *requestsFixture {
	t.Helper()
	ctx := context.Background()
	f := &requestsFixture{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	f.vault = vaulttest.Open(t, store)
	log, err := audit.New(audit.Config{DB: store})
	if err != nil {
		t.Fatal(err)
	}
	totp, _ := f.vault.SecretBox("staff-totp")
	accounts, err := staff.NewService(staff.Config{DB: store, Secrets: totp, Audit: log, Argon2: staff.Argon2Params{Time: 1, Memory: 64, Threads: 1}})
	if err != nil {
		t.Fatal(err)
	}
	_, key, _ := ed25519.GenerateKey(nil)
	signer, _ := receipt.NewSigner(key)
	catalog, err := consent.Open(ctx, consent.Config{DB: store, Signer: signer, FollowInterval: -1, Audit: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { catalog.Close() })
	ethicstest.OpenPurposes(t, catalog)
	box, _ := f.vault.SecretBox("dsr")
	clock := func() time.Time { return f.now }
	if f.requests, err = dsr.NewService(dsr.Config{DB: store, Secrets: box, Audit: log, Now: clock}); err != nil {
		t.Fatal(err)
	}
	if f.console, err = New(Deps{Staff: accounts, Vault: f.vault, Audit: log, Consent: catalog, Requests: f.requests, Now: clock}); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *requestsFixture) file(t *testing.T, kind dsr.Kind, regime dsr.Regime) dsr.Request {
	t.Helper()
	hash, err := f.vault.BlindIndex(context.Background(), "email", adaEmail)
	if err != nil {
		t.Fatal(err)
	}
	r, err := f.requests.File(context.Background(), dsr.NewRequest{Kind: kind, Regime: regime, Email: adaEmail, EmailHash: hash})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// serve calls h as a privacy officer.
func serve(h http.Handler, method, target string, form url.Values, path map[string]string) *httptest.ResponseRecorder {
	var body *strings.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	} else {
		body = strings.NewReader("")
	}
	r := httptest.NewRequest(method, target, body)
	if form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range path {
		r.SetPathValue(k, v)
	}
	r = r.WithContext(audit.WithActor(r.Context(), audit.Staff("stf_officer")))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

var actionForm = regexp.MustCompile(`action="/admin/requests/req_[A-Za-z0-9_-]+/([a-z]+)"`)

// offeredActions returns the actions a request page offers, in order.
func offeredActions(body string) []string {
	var out []string
	for _, m := range actionForm.FindAllStringSubmatch(body, -1) {
		if m[1] != "contact" {
			out = append(out, m[1])
		}
	}
	return out
}

// TestRequestPageOffersOnlyAllowedActions replays issue 12: the request
// page offered every button in every state (verify on a request in
// progress, complete on one just received). It now offers what the state
// allows, in the order of the work, each with a sentence of what it does.
func TestRequestPageOffersOnlyAllowedActions(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		f := newRequestsFixture(t, store)
		ctx := audit.WithActor(context.Background(), audit.Staff("stf_officer"))
		r := f.file(t, dsr.KindErasure, dsr.GDPR)
		steps := []struct {
			state dsr.State
			do    func() error
			want  []string
		}{
			{dsr.StateReceived, func() error { return nil }, []string{"verify", "acknowledge", "ask", "extend", "reject", "attach"}},
			{dsr.StateVerified, func() error { _, err := f.requests.Verify(ctx, r.ID); return err }, []string{"acknowledge", "start", "ask", "extend", "reject", "attach"}},
			{dsr.StateWaitingForCustomer, func() error { _, err := f.requests.AskCustomer(ctx, r.ID, "Which account?"); return err }, []string{"replied", "extend", "reject", "attach"}},
			{dsr.StateVerified, func() error { _, err := f.requests.CustomerReplied(ctx, r.ID); return err }, []string{"start", "ask", "extend", "reject", "attach"}},
			{dsr.StateInProgress, func() error { _, err := f.requests.Start(ctx, r.ID); return err }, []string{"complete", "work", "ask", "extend", "reject", "attach"}},
			{dsr.StateCompleted, func() error { _, err := f.requests.Complete(ctx, r.ID, ""); return err }, nil},
		}
		for _, step := range steps {
			if err := step.do(); err != nil {
				t.Fatalf("%s: %v", step.state, err)
			}
			w := serve(f.console.HandleRequest(), "GET", "/admin/requests/"+r.ID, nil, map[string]string{"id": r.ID})
			body := w.Body.String()
			if got := offeredActions(body); w.Code != 200 || !slices.Equal(got, step.want) {
				t.Errorf("%s: %d, offers %v, want %v", step.state, w.Code, got, step.want)
			}
			for _, name := range step.want {
				if says := template.HTMLEscapeString(words("en")[actionInfos[name].Says]); !strings.Contains(body, says) {
					t.Errorf("%s: the page lacks what %s does", step.state, name)
				}
			}
			if step.state == dsr.StateCompleted && !strings.Contains(body, "nothing more is to be done") {
				t.Errorf("completed: the page does not say so")
			}
		}
	})
}

// TestRefusedTransitionSaysWhy replays issue 12: a transition the state
// refused answered with the raw conflict text. It now renders the
// console's page with a sentence and the actions that are possible.
func TestRefusedTransitionSaysWhy(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		f := newRequestsFixture(t, store)
		r := f.file(t, dsr.KindErasure, dsr.GDPR)
		w := serve(f.console.HandleRequestAction(), "POST", "/admin/requests/"+r.ID+"/complete", url.Values{},
			map[string]string{"id": r.ID, "action": "complete"})
		body := w.Body.String()
		if w.Code != http.StatusConflict || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") || !strings.Contains(body, "<!doctype html>") {
			t.Fatalf("refused: %d %s %.200s", w.Code, w.Header().Get("Content-Type"), body)
		}
		for _, want := range []string{"“Complete” was not done: the request is received now.", "What you can do now", "Verify identity",
			`href="/admin/requests/` + r.ID + `"`} {
			if !strings.Contains(body, want) {
				t.Errorf("refused page lacks %q", want)
			}
		}
		// A missing reason shows the request again with the field marked.
		w = serve(f.console.HandleRequestAction(), "POST", "/admin/requests/"+r.ID+"/reject", url.Values{"note": {" "}},
			map[string]string{"id": r.ID, "action": "reject"})
		if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "The request was not changed") || !strings.Contains(w.Body.String(), "<strong>reason</strong>") {
			t.Fatalf("reject without a reason: %d %.300s", w.Code, w.Body.String())
		}
	})
}

// TestRequestPageShowsTheAnswer: the customer's answer in the portal is
// on the request page, with the clock's pause.
func TestRequestPageShowsTheAnswer(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		f := newRequestsFixture(t, store)
		ctx := audit.WithActor(context.Background(), audit.Staff("stf_officer"))
		r := f.file(t, dsr.KindAccess, dsr.GDPR)
		if _, err := f.requests.AskCustomer(ctx, r.ID, "Which account do you mean?"); err != nil {
			t.Fatal(err)
		}
		body := serve(f.console.HandleRequest(), "GET", "/", nil, map[string]string{"id": r.ID}).Body.String()
		if !strings.Contains(body, "clock stands still") {
			t.Errorf("waiting page does not say the clock stopped")
		}
		hash, _ := f.vault.BlindIndex(ctx, "email", adaEmail)
		if _, err := f.requests.Answer(ctx, hash, r.ID, "The one ending in 4711."); err != nil {
			t.Fatal(err)
		}
		body = serve(f.console.HandleRequest(), "GET", "/", nil, map[string]string{"id": r.ID}).Body.String()
		if !strings.Contains(body, "The one ending in 4711.") || !strings.Contains(body, "customer_replied") {
			t.Errorf("the answer is not on the request page: %.2000s", body)
		}
	})
}

// TestQueueFiltersSearchAndCSV replays issue 12: the queue showed open
// requests only, without filters, so a completed request could not be
// found again; it had no export. Now: filters, search by id in any state,
// and a CSV of the same rows whose cells cannot run as formulas.
func TestQueueFiltersSearchAndCSV(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		f := newRequestsFixture(t, store)
		ctx := audit.WithActor(context.Background(), audit.Staff("stf_officer"))
		done := f.file(t, dsr.KindAccess, dsr.GDPR)
		for _, step := range []func() (dsr.Request, error){
			func() (dsr.Request, error) { return f.requests.Verify(ctx, done.ID) },
			func() (dsr.Request, error) { return f.requests.Start(ctx, done.ID) },
			func() (dsr.Request, error) { return f.requests.Complete(ctx, done.ID, "") },
		} {
			if _, err := step(); err != nil {
				t.Fatal(err)
			}
		}
		erasure := f.file(t, dsr.KindErasure, dsr.CCPA)
		if _, err := f.requests.SetWaitingOn(ctx, erasure.ID, "=HYPERLINK(\"http://evil.example\",\"x\")"); err != nil {
			t.Fatal(err)
		}
		queue := func(query string) string {
			t.Helper()
			w := serve(f.console.HandleRequests(), "GET", "/admin/requests?"+query, nil, nil)
			if w.Code != 200 {
				t.Fatalf("queue ?%s: %d %.300s", query, w.Code, w.Body.String())
			}
			return w.Body.String()
		}
		cases := []struct {
			query    string
			has, not []string
		}{
			{"", []string{erasure.ID}, []string{done.ID}},
			{"id=" + done.ID, []string{done.ID}, []string{erasure.ID}},
			{"closed=1", []string{done.ID}, []string{erasure.ID}},
			{"state=completed", []string{done.ID}, []string{erasure.ID}},
			{"kind=erasure", []string{erasure.ID}, []string{done.ID}},
			{"law=gdpr", nil, []string{erasure.ID, done.ID}},
			{"law=ccpa", []string{erasure.ID}, []string{done.ID}},
		}
		for _, c := range cases {
			body := queue(c.query)
			for _, id := range c.has {
				if !strings.Contains(body, id) {
					t.Errorf("?%s lacks %s", c.query, id)
				}
			}
			for _, id := range c.not {
				if strings.Contains(body, "/admin/requests/"+id) {
					t.Errorf("?%s lists %s", c.query, id)
				}
			}
		}
		if w := serve(f.console.HandleRequests(), "GET", "/admin/requests?state=lost", nil, nil); w.Code != http.StatusBadRequest ||
			!strings.Contains(w.Body.String(), "<strong>state</strong>") {
			t.Errorf("a bad filter: %d", w.Code)
		}
		w := serve(f.console.HandleRequestsCSV(), "GET", "/admin/requests.csv?kind=erasure", nil, nil)
		if w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/csv") || strings.Contains(w.Body.String(), adaEmail) {
			t.Fatalf("csv: %d %s", w.Code, w.Header().Get("Content-Type"))
		}
		rows, err := csv.NewReader(strings.NewReader(w.Body.String())).ReadAll()
		if err != nil || len(rows) != 2 || rows[1][0] != erasure.ID || rows[1][8] != `'=HYPERLINK("http://evil.example","x")` {
			t.Fatalf("csv rows %q, %v", rows, err)
		}
		for _, row := range rows {
			for _, cell := range row {
				if cell != "" && strings.ContainsRune("=+-@", rune(cell[0])) {
					t.Errorf("cell %q can run as a formula", cell)
				}
			}
		}
	})
}
