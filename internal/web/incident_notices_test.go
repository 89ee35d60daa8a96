package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/notify/mailtest"
	"github.com/steward-dev/steward/internal/receipt"
	"github.com/steward-dev/steward/internal/staff"
	"github.com/steward-dev/steward/internal/vault"
)

// TestBreachNoticeEndToEnd: a security officer records an incident of
// financial data in the console, computes who it affected, assesses it,
// writes the notice in English and German and sends it; the customer (whose
// language is German) gets an email in German with no personal data and
// nothing of the breach, signs in to the privacy center and reads the
// notice there, marked verified; the signed file verifies under the
// published keys and fails with one changed byte. The officer's page
// shows the progress, the draft report to the authority holds the counts
// and the officer's contact, and a referral shows its evidence command.
func TestBreachNoticeEndToEnd(t *testing.T) {
	pf := newPortalFixture(t, db.SQLite)
	ctx := audit.WithActor(context.Background(), audit.System())
	if _, err := pf.srv.App.Vault.Put(ctx, "cust-1", vault.Field{Name: "language", Category: "other", Value: []byte("de")}); err != nil {
		t.Fatal(err)
	}
	cf := &consoleFixture{srv: pf.srv}
	officer, _ := cf.browserFor(t, staff.RoleSecurityOfficer)
	csrf := officer.formToken("/admin/incidents")
	created := officer.do("POST", "/admin/incidents", url.Values{"csrf": {csrf}, "title": {"Payment export on a stolen laptop"},
		"kind": {"confidentiality"}, "categories": {"financial"}})
	if created.status != http.StatusSeeOther {
		t.Fatalf("create: %d %.500s", created.status, created.body)
	}
	at := created.header.Get("Location")
	id := strings.TrimPrefix(at, "/admin/incidents/")
	for _, step := range []struct {
		path string
		form url.Values
	}{
		{at + "/affected", url.Values{"method": {"inventory"}, "categories": {"financial"}}},
		{at + "/assessment", url.Values{"risk": {"high"}, "reasons": {"bank details on an unencrypted disk"}}},
		{at + "/status", url.Values{"status": {"assessed"}}},
	} {
		step.form.Set("csrf", csrf)
		if got := officer.do("POST", step.path, step.form); got.status != http.StatusSeeOther {
			t.Fatalf("%s: %d %.800s", step.path, got.status, got.body)
		}
	}

	parties := officer.do("GET", at+"/parties", nil)
	if parties.status != http.StatusOK || !strings.Contains(parties.body, "Send the notice to 1 affected customers") {
		t.Fatalf("parties: %d %.3000s", parties.status, parties.body)
	}
	if got := officer.do("POST", at+"/notices", url.Values{"csrf": {csrf}}); got.status != http.StatusBadRequest ||
		!strings.Contains(got.body, "Write the customers&#39; notice in at least one language first.") {
		t.Fatalf("sent without a text: %d %.3000s", got.status, got.body)
	}
	texts := map[string][]string{
		"en": {"A laptop with a payment export was stolen.", "Your IBAN may be read.", "We blocked the accounts concerned.", "Watch your statements.", "privacy@shop.example"},
		"de": {"Ein Laptop mit einem Zahlungsexport wurde gestohlen.", "Ihre IBAN könnte gelesen werden.", "Wir haben die Konten gesperrt.",
			"Prüfen Sie Ihre Kontoauszüge.", "datenschutz@shop.example"},
	}
	for lang, parts := range texts {
		form := url.Values{"csrf": {csrf}, "language": {lang}, "happened": {parts[0]}, "meaning": {parts[1]}, "done": {parts[2]},
			"can_do": {parts[3]}, "contact": {parts[4]}}
		if got := officer.do("POST", at+"/notices/texts", form); got.status != http.StatusSeeOther {
			t.Fatalf("text %s: %d %.800s", lang, got.status, got.body)
		}
	}
	if got := officer.do("POST", at+"/notices", url.Values{"csrf": {csrf}}); got.status != http.StatusSeeOther {
		t.Fatalf("send: %d %.800s", got.status, got.body)
	}

	mail := pf.mail.WaitForMatch(t, "ada.portal@example.org", func(m mailtest.Message) bool { return strings.Contains(m.Subject, "Wichtige Mitteilung") })
	for _, leak := range []string{"IBAN", pf.iban, "laptop", "Laptop", id, "cust-1"} {
		if strings.Contains(mail.Text, leak) || strings.Contains(mail.HTML, leak) {
			t.Errorf("the notice's email holds %q", leak)
		}
	}
	if !strings.Contains(mail.Text, "/privacy") {
		t.Errorf("the email does not send to the privacy center:\n%s", mail.Text)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		p, err := pf.srv.App.Incidents.NoticeProgress(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if p.Sent == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("progress %+v", p)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got := officer.do("GET", at+"/parties", nil); !strings.Contains(got.body, "Every notice was handled.") {
		t.Errorf("the parties' page does not show the progress done:\n%.3000s", got.body)
	}

	customer := pf.signIn(t, "ada.portal@example.org")
	home := customer.do("GET", "/privacy/home", nil)
	for _, want := range []string{"Wichtige Mitteilung zu Ihren personenbezogenen Daten", "Was ist passiert", texts["de"][0], texts["de"][4],
		"Verified: signed with our published key", `href="/privacy/notices/` + id + `"`} {
		if !strings.Contains(home.body, want) {
			t.Errorf("the portal's home lacks %q", want)
		}
	}
	file := customer.do("GET", "/privacy/notices/"+id, nil)
	if file.status != http.StatusOK || file.header.Get("Content-Type") != "application/jose" {
		t.Fatalf("download: %d %s", file.status, file.header.Get("Content-Type"))
	}
	jwks := pf.srv.App.Signer.JWKS()
	notice, err := receipt.VerifyNotice(file.body, jwks)
	if err != nil || notice.SubjectID != "cust-1" || notice.Language != "de" || notice.Sections[1].Text != texts["de"][1] {
		t.Fatalf("the downloaded notice: %+v, %v", notice, err)
	}
	tampered := []byte(file.body)
	tampered[len(tampered)/3] ^= 0x01
	if _, err := receipt.VerifyNotice(string(tampered), jwks); err == nil {
		t.Error("a notice with a changed byte verifies")
	}
	if got := customer.do("GET", "/privacy/notices/inc_other", nil); got.status != http.StatusNotFound {
		t.Errorf("another incident's notice: %d", got.status)
	}
	if got := newBrowser(t, pf.srv.URL).do("GET", "/privacy/notices/"+id, nil); got.status == http.StatusOK {
		t.Error("the notice downloads without a session")
	}

	report := officer.do("GET", at+"/regulator-report", nil)
	for _, want := range []string{"Nature of the breach", "About 1 people", "financial", "Contact of the privacy officer", texts["en"][2]} {
		if !strings.Contains(report.body, want) {
			t.Errorf("the regulator's report lacks %q", want)
		}
	}
	referral := officer.do("POST", at+"/filings", url.Values{"csrf": {csrf}, "kind": {"law_enforcement"}, "agency": {"LKA Berlin"},
		"reference": {"LKA-2026-7"}, "filed_at": {"2026-01-05T10:00"}, "evidence_from": {"2026-01-01T00:00"}, "evidence_to": {"2026-01-02T00:00"}})
	if referral.status != http.StatusSeeOther {
		t.Fatalf("referral: %d %.1500s", referral.status, referral.body)
	}
	if got := officer.do("GET", at+"/parties", nil); !strings.Contains(got.body, "steward audit export --from 2026-01-01T00:00:00Z --to 2026-01-02T00:00:00Z") {
		t.Errorf("the referral's evidence command is missing:\n%.4000s", got.body)
	}
	if got := officer.do("POST", at+"/notified", url.Values{"csrf": {csrf}}); got.status != http.StatusBadRequest ||
		!strings.Contains(got.body, "Record the report to the authority first.") {
		t.Fatalf("notified without a report: %d %.2000s", got.status, got.body)
	}
	if got := officer.do("POST", at+"/filings", url.Values{"csrf": {csrf}, "kind": {"regulator"}, "agency": {"BlnBDI"},
		"channel": {"online form"}, "reference": {"BlnBDI-117"}, "filed_at": {"2026-01-05T09:00"}}); got.status != http.StatusSeeOther {
		t.Fatalf("report: %d %.1500s", got.status, got.body)
	}
	if got := officer.do("POST", at+"/notified", url.Values{"csrf": {csrf}, "note": {"all parties told"}}); got.status != http.StatusSeeOther {
		t.Fatalf("notified: %d %.2000s", got.status, got.body)
	}
	if inc, err := pf.srv.App.Incidents.Get(context.Background(), id); err != nil || inc.Status != "notified" || inc.IndividualsNotifiedAt == nil {
		t.Errorf("after recording: %+v, %v", inc, err)
	}
	// Both pages speak the console's four languages.
	for _, lang := range []string{"en", "de", "fr", "es"} {
		for path, english := range map[string][]string{
			at + "/parties":          {"Affected customers", "Record the referral", "Law enforcement: LKA Berlin"},
			at + "/regulator-report": {"Nature of the breach", "Likely consequences", "Measures taken or proposed"},
		} {
			got := officer.do("GET", path+"?lang="+lang, nil)
			if got.status != http.StatusOK || !strings.Contains(got.body, `<html lang="`+lang+`">`) {
				t.Errorf("%s in %s: %d", path, lang, got.status)
				continue
			}
			for _, phrase := range english {
				if has := strings.Contains(got.body, phrase); has != (lang == "en") {
					t.Errorf("%s in %s: has %q: %v", path, lang, phrase, has)
				}
			}
		}
	}
	support, _ := cf.browserFor(t, staff.RoleSupport)
	for _, path := range []string{at + "/parties", at + "/regulator-report"} {
		if got := support.do("GET", path, nil); got.status != http.StatusForbidden {
			t.Errorf("support: GET %s = %d, want 403", path, got.status)
		}
	}
}
