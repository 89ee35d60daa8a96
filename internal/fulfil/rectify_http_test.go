package fulfil_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/connector/httpsystem"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/dsr"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/fulfil"
)

// helpdesk is a company system reached over HTTP, played by an httptest
// server: it checks Steward's signature, records the changes each call
// carries and answers with status.
type helpdesk struct {
	*httptest.Server
	secret string

	mu      sync.Mutex
	status  int
	calls   []helpdeskCall
	refused int
}

type helpdeskCall struct {
	Type    string              `json:"type"`
	CallID  string              `json:"call_id"`
	Changes []httpsystem.Change `json:"changes"`
}

func newHelpdesk(t *testing.T) *helpdesk {
	t.Helper()
	h := &helpdesk{secret: httpsystem.GenerateSecret(), status: http.StatusAccepted}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		defer h.mu.Unlock()
		if err := httpsystem.Verify(h.secret, r.Header, body, time.Now()); err != nil {
			h.refused++
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var c helpdeskCall
		_ = json.Unmarshal(body, &c)
		h.calls = append(h.calls, c)
		w.WriteHeader(h.status)
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *helpdesk) answer(status int) { h.mu.Lock(); h.status = status; h.mu.Unlock() }

func (h *helpdesk) received() []helpdeskCall {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.calls)
}

// withHelpdesk adds the helpdesk, an HTTP system with correctable fields,
// to a rectification fixture.
func withHelpdesk(t *testing.T, store *db.DB, fx *rectifyFixture) (*helpdesk, *httpsystem.Service) {
	t.Helper()
	h := newHelpdesk(t)
	ds, err := httpsystem.Parse("helpdesk.yaml", []byte("connector: helpdesk\nengine: http\nurl: "+h.URL+"/steward\nsecret_env: HELPDESK_SECRET\n"+
		"operations: [access, erasure, correction]\ncategories: [contact]\ncorrectable:\n  - field: contacts.phone\n    category: contact\n"+
		"  - field: contacts.fax\n    category: contact\n"))
	if err != nil {
		t.Fatal(err)
	}
	fx.env["HELPDESK_SECRET"] = h.secret
	box, err := fx.v.SecretBox("webhook-data")
	if err != nil {
		t.Fatal(err)
	}
	hooks, err := httpsystem.New(httpsystem.Config{DB: store, Secrets: box, Datasets: []*httpsystem.Dataset{ds}, Getenv: func(k string) string { return fx.env[k] },
		PublicURL: "https://privacy.shop.example", AllowHosts: []string{"127.0.0.1"}, RequestTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	cfg := fx.f.Config
	cfg.HTTP, cfg.Hooks = []*httpsystem.Dataset{ds}, hooks
	if fx.f, err = fulfil.New(cfg); err != nil {
		t.Fatal(err)
	}
	return h, hooks
}

// callBack answers a call as the helpdesk would, signed with its secret.
func callBack(t *testing.T, hooks *httpsystem.Service, secret, callID, body string) {
	t.Helper()
	header, err := httpsystem.Headers(secret, "msg_"+strings.TrimPrefix(callID, "whc_"), time.Now(), []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if err := hooks.HandleCallback(context.Background(), "helpdesk", callID, header, []byte(body)); err != nil {
		t.Fatalf("callback: %v", err)
	}
}

// TestRectifyReachesHTTPSystems: a rectification reaches the vault, a
// database and an HTTP system. The HTTP system is down (503) first: the
// request waits on it, the others are done once; then it accepts the call
// (the job snoozes), fails it (the request waits on it again and the
// retry calls anew), and finally corrects one field and holds the other
// not; the report says so with counts only, the recipients are told of
// every field, and the request completes.
func TestRectifyReachesHTTPSystems(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		fx := newRectifyFixture(t, store)
		desk, hooks := withHelpdesk(t, store, fx)
		targets := map[string]bool{}
		for _, c := range fx.f.Correctables() {
			targets[c.Target] = true
		}
		if !targets["helpdesk:contacts.phone"] || !targets["helpdesk:contacts.fax"] {
			t.Fatalf("Correctables lacks the HTTP system's fields: %v", targets)
		}
		staffCtx := audit.WithActor(ctx, audit.Staff("stf_officer"))
		r, _, err := fx.propose(t, map[string]string{
			"vault:iban":              "GB33BUKB20201555555555",
			"crm:contacts.phone":      "+44 20 7946 0999",
			"helpdesk:contacts.phone": "+44 20 7946 0111",
			"helpdesk:contacts.fax":   "+44 20 7946 0222",
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, step := range []func(context.Context, string) (dsr.Request, error){fx.req.Verify, fx.req.Start, fx.req.ApproveProposal} {
			if _, err := step(staffCtx, r.ID); err != nil {
				t.Fatal(err)
			}
		}

		desk.answer(http.StatusServiceUnavailable)
		if _, err := fx.f.Rectify(ctx, r.ID); errs.CodeOf(err) != errs.CodeUnavailable {
			t.Fatalf("Rectify while the helpdesk answers 503: %v, want unavailable", err)
		}
		if got, _ := fx.req.Get(ctx, r.ID); got.WaitingOn != "system helpdesk" {
			t.Fatalf("waiting on %q", got.WaitingOn)
		}
		desk.answer(http.StatusAccepted)
		if _, err := fx.f.Rectify(ctx, r.ID); !errors.Is(err, fulfil.ErrWaiting) {
			t.Fatalf("Rectify once the helpdesk accepted: %v, want ErrWaiting", err)
		}
		calls := desk.received()
		want := []httpsystem.Change{{Field: "contacts.fax", Value: "+44 20 7946 0222"}, {Field: "contacts.phone", Value: "+44 20 7946 0111"}}
		if len(calls) != 2 || calls[0].CallID != calls[1].CallID || calls[1].Type != "steward.correction" || !slices.Equal(calls[1].Changes, want) {
			t.Fatalf("the helpdesk received %+v", calls)
		}
		callBack(t, hooks, desk.secret, calls[1].CallID, `{"status": "failed", "reason": "read-only for maintenance"}`)
		if _, err := fx.f.Rectify(ctx, r.ID); errs.CodeOf(err) != errs.CodeUnavailable || !strings.Contains(err.Error(), "read-only") {
			t.Fatalf("Rectify after the helpdesk failed: %v, want unavailable with its reason", err)
		}
		if _, err := fx.f.Rectify(ctx, r.ID); !errors.Is(err, fulfil.ErrWaiting) {
			t.Fatalf("the retry: %v, want a new call and ErrWaiting", err)
		}
		calls = desk.received()
		if len(calls) != 3 || calls[2].CallID == calls[1].CallID {
			t.Fatalf("the retry did not make a new call: %+v", calls)
		}
		if len(fx.told) != 0 {
			t.Fatal("recipients told before the helpdesk answered")
		}
		callBack(t, hooks, desk.secret, calls[2].CallID, `{"status": "done", "report": {"steps": [
			{"what": "contacts.phone", "action": "corrected", "count": 1}, {"what": "contacts.fax", "action": "not_held", "count": 0}]}}`)
		report, err := fx.f.Rectify(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		var helpdeskStep json.RawMessage
		var steps []string
		for _, s := range report.Steps {
			steps = append(steps, s.Step)
			if s.Step == "system:helpdesk" {
				helpdeskStep = s.Report
			}
		}
		slices.Sort(steps)
		if !slices.Equal(steps, []string{"recipients", "system:crm", "system:helpdesk", "vault"}) {
			t.Fatalf("steps %v", steps)
		}
		var counts map[string]any
		_ = json.Unmarshal(helpdeskStep, &counts)
		if counts["corrected"] != 1.0 || counts["not_held"] != 1.0 || strings.Contains(string(helpdeskStep), "7946") {
			t.Fatalf("the helpdesk's step %s", helpdeskStep)
		}
		if len(desk.received()) != 3 {
			t.Fatal("the done correction was delivered again")
		}
		if len(fx.told) != 1 || !slices.Contains(fx.told[0].Fields, "helpdesk:contacts.phone") {
			t.Fatalf("told %+v", fx.told)
		}
		if done, _ := fx.req.Get(ctx, r.ID); done.State != dsr.StateCompleted || done.WaitingOn != "" {
			t.Fatalf("request after rectification: %+v", done)
		}
	})
}
