package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/app/apptest"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/dsr"
	"github.com/steward-dev/steward/internal/notify/mailtest"
	"github.com/steward-dev/steward/internal/vault"
)

// TestRectificationEmails replays issue 12: a customer whose correction was
// made (by an officer's approval or at once, where the company lets a
// field be corrected without one) or refused got the words of any request
// ("your request is complete"), or nothing that said whether their data
// was now right. The email now says the correction was made in every
// system, or that it was not and their data stays as it was, in the
// request's language, with a link to the request and neither the old nor
// the new value nor their address in it.
func TestRectificationEmails(t *testing.T) {
	ctx := context.Background()
	const email = "ada.portal@example.org"
	const oldPhone, newPhone = "+49 30 1234567", "+49 30 7654321"
	const oldIBAN, newIBAN = "DE89370400440532013000", "GB33BUKB20201555555555"
	mail := mailtest.Start(t, mailtest.Options{})
	srv := apptest.StartWith(t, db.SQLite, apptest.Options{SMTP: mail.Addr(), CorrectableFields: map[string]bool{"iban": false, "phone": true}})
	for _, field := range []vault.Field{
		{Name: "email", Category: "contact", Value: []byte(email)},
		{Name: "phone", Category: "contact", Value: []byte(oldPhone)},
		{Name: "iban", Category: "financial", Value: []byte(oldIBAN)},
	} {
		if _, err := srv.App.Vault.Put(ctx, "cust-1", field); err != nil {
			t.Fatal(err)
		}
	}
	f := &portalFixture{srv: srv, mail: mail}
	b := f.signIn(t, email)
	officer, _ := (&consoleFixture{srv: srv}).browserFor(t, "privacy_officer")

	// mailAbout waits for the customer's message about request id whose
	// subject says want.
	mailAbout := func(t *testing.T, id, want string) mailtest.Message {
		t.Helper()
		for {
			m := mail.WaitFor(t, email)
			if strings.Contains(m.Text, id) && strings.Contains(m.Subject, want) {
				return m
			}
		}
	}
	propose := func(t *testing.T, lang, field, value string) string {
		t.Helper()
		token := csrfField.FindStringSubmatch(b.do("GET", "/privacy/home?lang="+lang, nil).body)[1]
		got := b.do("POST", "/privacy/rectify", url.Values{"csrf": {token}, "lang": {lang}, "new.vault:" + field: {value}})
		id := regexp.MustCompile(`req_[A-Za-z0-9_-]+`).FindString(got.header.Get("Location"))
		if got.status != http.StatusSeeOther || id == "" {
			t.Fatalf("propose %s: %d %.300s", field, got.status, got.body)
		}
		return id
	}
	waitState := func(t *testing.T, id string, want dsr.State) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			r, err := srv.App.Requests.Get(ctx, id)
			if err == nil && r.State == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("request %s: %+v %v, want %s", id, r, err, want)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	noPersonalData := func(t *testing.T, m mailtest.Message) {
		t.Helper()
		for _, value := range []string{email, oldPhone, newPhone, oldIBAN, newIBAN, "cust-1"} {
			if strings.Contains(m.Text, value) || strings.Contains(m.HTML, value) || strings.Contains(m.Subject, value) {
				t.Errorf("the email holds %q", value)
			}
		}
	}

	t.Run("applied at once", func(t *testing.T) {
		id := propose(t, "de", "phone", newPhone)
		waitState(t, id, dsr.StateCompleted)
		m := mailAbout(t, id, "Ihre Berichtigung wurde vorgenommen")
		if !strings.Contains(m.Text, "in allen unseren Systemen vorgenommen") || !strings.Contains(m.Text, "/privacy/requests/"+id+"?lang=de") ||
			strings.Contains(m.Text, "Ihre Anfrage ist erledigt") {
			t.Fatalf("correction email:\n%s", m.Text)
		}
		noPersonalData(t, m)
	})
	t.Run("approved by an officer", func(t *testing.T) {
		id := propose(t, "es", "iban", newIBAN)
		for _, action := range []string{"verify", "approve_proposal"} {
			token := officer.formToken("/admin/requests/" + id)
			if got := officer.do("POST", "/admin/requests/"+id+"/"+action, url.Values{"csrf": {token}}); got.status != http.StatusSeeOther {
				t.Fatalf("%s: %d %.300s", action, got.status, got.body)
			}
		}
		waitState(t, id, dsr.StateCompleted)
		m := mailAbout(t, id, "Su rectificación se ha realizado")
		if !strings.Contains(m.Text, "en todos nuestros sistemas") || !strings.Contains(m.HTML, "/privacy/requests/"+id+"?lang=es") {
			t.Fatalf("correction email:\n%s", m.Text)
		}
		noPersonalData(t, m)
	})
	t.Run("refused", func(t *testing.T) {
		id := propose(t, "fr", "iban", "FR7630006000011234567890189")
		const reason = "Le nouvel IBAN ne correspond à aucun compte."
		token := officer.formToken("/admin/requests/" + id)
		if got := officer.do("POST", "/admin/requests/"+id+"/reject", url.Values{"csrf": {token}, "note": {reason}}); got.status != http.StatusSeeOther {
			t.Fatalf("reject: %d %.300s", got.status, got.body)
		}
		m := mailAbout(t, id, "Nous n’avons pas pu effectuer votre rectification")
		if !strings.Contains(m.Text, "Vos données restent inchangées") || !strings.Contains(m.Text, "/privacy/requests/"+id+"?lang=fr") ||
			strings.Contains(m.Text, reason) || strings.Contains(m.Text, "FR7630006000011234567890189") {
			t.Fatalf("refusal email:\n%s", m.Text)
		}
		noPersonalData(t, m)
	})
}
