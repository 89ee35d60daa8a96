package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/app/apptest"
	"github.com/steward-dev/steward/internal/connector/httpsystem"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/dsr"
	"github.com/steward-dev/steward/internal/vault"
)

// crmCall is what the fake company system received.
type crmCall struct {
	Type        string `json:"type"`
	CallID      string `json:"call_id"`
	RequestID   string `json:"request_id"`
	CallbackURL string `json:"callback_url"`
	Subject     struct {
		ExternalIDs []string `json:"external_ids"`
		Emails      []string `json:"emails"`
	} `json:"subject"`
}

// TestHTTPConnector: a request's export and erasure reach a company system
// over HTTP: Steward's signed call is verified by the system, the request
// waits on it, and the system's signed callback (data or report) lets the
// job finish; an unsigned or replayed callback is refused.
func TestHTTPConnector(t *testing.T) {
	ctx := context.Background()
	secret := httpsystem.GenerateSecret()
	calls := make(chan crmCall, 10)
	crm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := httpsystem.Verify(secret, r.Header, body, time.Now()); err != nil {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var c crmCall
		json.Unmarshal(body, &c)
		calls <- c
		w.WriteHeader(http.StatusAccepted)
	}))
	defer crm.Close()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "crm.yaml"), []byte(fmt.Sprintf(`connector: crm
engine: http
url: %s/steward
secret_env: CRM_SECRET
operations: [access, erasure]
categories: [contact, communications]
`, crm.URL)), 0o600)
	srv := apptest.StartWith(t, db.SQLite, apptest.Options{Connectors: dir, Env: map[string]string{"CRM_SECRET": secret}})
	app := srv.App
	if _, err := app.Vault.Put(ctx, "cust-9", vault.Field{Name: "email", Category: "contact", Value: []byte("cy.crm@example.org")}); err != nil {
		t.Fatal(err)
	}
	officer, _ := (&consoleFixture{srv: srv}).browserFor(t, "privacy_officer")
	start := func(kind dsr.Kind) string {
		t.Helper()
		hash, _ := app.Vault.BlindIndex(ctx, "email", "cy.crm@example.org")
		r, err := app.Requests.File(ctx, dsr.NewRequest{Kind: kind, Regime: dsr.GDPR, SubjectID: "cust-9", Email: "cy.crm@example.org", EmailHash: hash})
		if err != nil {
			t.Fatal(err)
		}
		for _, action := range []string{"verify", "start"} {
			officer.do("POST", "/admin/requests/"+r.ID+"/"+action, map[string][]string{"csrf": {officer.formToken("/admin/requests/" + r.ID)}})
		}
		return r.ID
	}
	callback := func(call crmCall, body string, sign bool) int {
		t.Helper()
		req, _ := http.NewRequest("POST", call.CallbackURL, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if sign {
			h, _ := httpsystem.Headers(secret, "msg_"+call.CallID, time.Now(), []byte(body))
			for k, v := range h {
				req.Header[k] = v
			}
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	waitState := func(id string, want dsr.State, waiting string) dsr.Request {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			r, err := app.Requests.Get(ctx, id)
			if err == nil && r.State == want && (waiting == "" || r.WaitingOn == waiting) {
				return r
			}
			if time.Now().After(deadline) {
				t.Fatalf("request %s: %+v, %v; want %s waiting on %q", id, r, err, want, waiting)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	receive := func() crmCall {
		t.Helper()
		select {
		case c := <-calls:
			return c
		case <-time.After(20 * time.Second):
			t.Fatal("the system was not called")
		}
		return crmCall{}
	}

	exportID := start(dsr.KindExport)
	call := receive()
	if call.Type != "steward.access" || call.RequestID != exportID || call.Subject.Emails[0] != "cy.crm@example.org" {
		t.Fatalf("call: %+v", call)
	}
	waitState(exportID, dsr.StateInProgress, "system crm")
	if code := callback(call, `{"status":"done","data":{"notes":["called about a refund"]}}`, false); code != http.StatusUnauthorized {
		t.Fatalf("unsigned callback: %d", code)
	}
	if code := callback(call, `{"status":"done","data":{"notes":["called about a refund"]}}`, true); code != http.StatusNoContent {
		t.Fatalf("callback: %d", code)
	}
	if code := callback(call, `{"status":"done","data":{}}`, true); code != http.StatusConflict {
		t.Fatalf("replayed callback: %d", code)
	}
	done := waitState(exportID, dsr.StateCompleted, "")
	archive, err := app.Exports.Open(ctx, done.ResultRef)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(archive)
	if !bytes.Contains(raw, []byte("systems/crm/data.json")) {
		t.Fatal("the archive lacks the system's data")
	}

	erasureID := start(dsr.KindErasure)
	call = receive()
	if call.Type != "steward.erasure" {
		t.Fatalf("call: %+v", call)
	}
	waitState(erasureID, dsr.StateInProgress, "system crm")
	if code := callback(call, `{"status":"done","report":{"steps":[{"what":"contacts","action":"deleted","count":1}]}}`, true); code != http.StatusNoContent {
		t.Fatalf("erasure callback: %d", code)
	}
	waitState(erasureID, dsr.StateCompleted, "")
	report, err := app.Fulfil.Report(ctx, erasureID)
	// vault, ledger, steward, the system, then the erasure journal's entry.
	if err != nil || len(report.Steps) != 5 || report.Steps[3].Step != "system:crm" || !strings.Contains(string(report.Steps[3].Report), `"contacts"`) ||
		report.Steps[4].Step != "journal" {
		t.Fatalf("report: %+v, %v", report, err)
	}
}
