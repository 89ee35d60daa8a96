package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/app/apptest"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/notify/mailtest"
	"github.com/steward-dev/steward/internal/outbox"
	"github.com/steward-dev/steward/internal/vault"
)

// TestPortalRectify replays issue 12's rectification through the web: the
// customer sees the correction form in their language and proposes a new
// value for a correctable field; a field the company did not open is
// refused, named, and nothing is filed; the proposal waits for an
// officer's approval, after which the job corrects the vault and emits
// subject.rectified (ids and field names, no value).
func TestPortalRectify(t *testing.T) {
	ctx := context.Background()
	mail := mailtest.Start(t, mailtest.Options{})
	srv := apptest.StartWith(t, db.SQLite, apptest.Options{SMTP: mail.Addr(), CorrectableFields: map[string]bool{"iban": false}})
	f := &portalFixture{srv: srv, mail: mail, iban: "DE89370400440532013000"}
	for _, field := range []vault.Field{
		{Name: "email", Category: "contact", Value: []byte("ada.portal@example.org")},
		{Name: "iban", Category: "financial", Value: []byte(f.iban)},
	} {
		if _, err := srv.App.Vault.Put(ctx, "cust-1", field); err != nil {
			t.Fatal(err)
		}
	}
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	t.Cleanup(hook.Close)
	if _, _, err := srv.App.Outbox.CreateEndpoint(ctx, outbox.Endpoint{URL: hook.URL + "/hooks", EventTypes: []string{outbox.SubjectRectified}}); err != nil {
		t.Fatal(err)
	}

	b := f.signIn(t, "ada.portal@example.org")
	for lang, want := range map[string]string{"en": "Correct your data", "de": "Ihre Daten berichtigen", "fr": "Corriger vos données", "es": "Corregir sus datos"} {
		home := b.do("GET", "/privacy/home?lang="+lang, nil)
		if !strings.Contains(home.body, want) || !strings.Contains(home.body, `name="new.vault:iban"`) || strings.Contains(home.body, `name="new.vault:email"`) {
			t.Fatalf("%s: the correction form: %.4000s", lang, home.body)
		}
	}
	token := csrfField.FindStringSubmatch(b.do("GET", "/privacy/home", nil).body)[1]
	const newIBAN = "GB33BUKB20201555555555"
	got := b.do("POST", "/privacy/rectify?lang=de", url.Values{"csrf": {token}, "lang": {"de"}, "new.vault:iban": {newIBAN}, "new.vault:email": {"eve@example.org"}})
	if got.status != http.StatusBadRequest || !strings.Contains(got.body, "E-Mail-Adresse: hierfür können wir") {
		t.Fatalf("a field not open to correction: %d %.3000s", got.status, got.body)
	}
	if mine, _ := srv.App.Requests.ListForRequester(ctx, mustBlindIndex(t, srv, "ada.portal@example.org")); len(mine) != 0 {
		t.Fatalf("%d requests filed by a refused proposal", len(mine))
	}
	got = b.do("POST", "/privacy/rectify", url.Values{"csrf": {token}, "new.vault:iban": {newIBAN}})
	if got.status != http.StatusSeeOther {
		t.Fatalf("propose: %d %.300s", got.status, got.body)
	}
	id := regexp.MustCompile(`req_[A-Za-z0-9_-]+`).FindString(got.header.Get("Location"))
	req, err := srv.App.Requests.Get(ctx, id)
	if err != nil || req.SubjectID != "cust-1" || len(req.Proposed) != 1 || req.ProposalApprovedAt != nil {
		t.Fatalf("filed %+v, %v", req, err)
	}

	cf := &consoleFixture{srv: srv}
	officer, _ := cf.browserFor(t, "privacy_officer")
	page := officer.do("GET", "/admin/requests/"+id, nil)
	if !strings.Contains(page.body, "vault:iban") || strings.Contains(page.body, newIBAN) || !strings.Contains(page.body, "Not approved yet") {
		t.Fatalf("request page before reveal: %.3000s", page.body)
	}
	shown := officer.do("POST", "/admin/requests/"+id+"/proposal", url.Values{"csrf": {officer.formToken("/admin/requests/" + id)}})
	if shown.status != http.StatusOK || !strings.Contains(shown.body, newIBAN) {
		t.Fatalf("the proposal revealed: %d %.3000s", shown.status, shown.body)
	}
	for _, action := range []string{"verify", "approve_proposal"} {
		token := officer.formToken("/admin/requests/" + id)
		if got := officer.do("POST", "/admin/requests/"+id+"/"+action, url.Values{"csrf": {token}}); got.status != http.StatusSeeOther {
			t.Fatalf("%s: %d %.300s", action, got.status, got.body)
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		req, err = srv.App.Requests.Get(ctx, id)
		if err == nil && req.State == "completed" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("request not completed: %+v %v", req, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if rec, err := srv.App.Vault.Get(ctx, "cust-1", "iban"); err != nil || string(rec.Value) != newIBAN {
		t.Fatalf("vault after rectification: %q, %v", rec.Value, err)
	}
	var body string
	if err := srv.App.DB.QueryRowContext(ctx, `SELECT body FROM outbox_messages WHERE event_type = $1`, outbox.SubjectRectified).Scan(&body); err != nil {
		t.Fatalf("no subject.rectified message: %v", err)
	}
	if !strings.Contains(body, id) || !strings.Contains(body, "vault:iban") || strings.Contains(body, newIBAN) || strings.Contains(body, f.iban) {
		t.Fatalf("subject.rectified: %s", body)
	}
}

func mustBlindIndex(t *testing.T, srv *apptest.Server, email string) []byte {
	t.Helper()
	h, err := srv.App.Vault.BlindIndex(context.Background(), "email", email)
	if err != nil {
		t.Fatal(err)
	}
	return h
}
