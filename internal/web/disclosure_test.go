package web_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/steward-dev/steward/internal/app/apptest"
	"github.com/steward-dev/steward/internal/assurance"
	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/db"
)

// assessVendor takes a vendor through the built-in security questionnaire
// with passing answers and a security officer's approval.
func assessVendor(t *testing.T, srv *apptest.Server, key string) {
	t.Helper()
	ctx := context.Background()
	v := srv.App.Vendors
	sent, err := v.Send(ctx, key, assurance.SecurityBaseline, "security@vendor.example", 7*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := v.Template(ctx, assurance.SecurityBaseline)
	if err != nil {
		t.Fatal(err)
	}
	answers := map[string]string{}
	for _, q := range tpl.Questions {
		switch {
		case len(q.Pass) > 0:
			answers[q.ID] = q.Pass[0]
		case q.Kind == assurance.KindFileReference:
			answers[q.ID] = "https://vendor.example/security.pdf"
		default:
			answers[q.ID] = "Described in our security policy, section 4."
		}
	}
	if _, err := v.SaveAnswers(ctx, sent.Token, answers, true); err != nil {
		t.Fatal(err)
	}
	officer := audit.WithActor(ctx, audit.Staff("stf_security"))
	if _, err := v.Review(officer, sent.Assessment.ID, true, "Answers checked against the certificate."); err != nil {
		t.Fatal(err)
	}
}

// TestDisclosuresInPortal: a system asks to share data with a vendor; the
// vendor without an assessment is blocked, then, assessed, the request
// waits for the customer, who is emailed and answers in the portal, in
// Chromium: one approval, one decline. The answers stick.
func TestDisclosuresInPortal(t *testing.T) {
	ctx := context.Background()
	f := newPortalFixture(t, db.SQLite)
	srv, app := f.srv, f.srv.App
	key, _, err := app.Keys.Create(ctx, "disclose", "", "crm")
	if err != nil {
		t.Fatal(err)
	}
	c := caller{t, srv.URL}
	ask := func(vendorKey, purpose string) (int, string) {
		code, body, _ := c.do("POST", "/v1/disclosures", key, `{"subject":"cust-1","vendor":"`+vendorKey+`","purpose":"`+purpose+`","categories":["contact","behavioural"],"reason":"to show you offers from our partner"}`)
		return code, body
	}
	// The demo signs adnet off: withdraw that approval first, so that adnet
	// is without an assessment.
	history, err := app.Vendors.History(ctx, "adnet")
	if err != nil || len(history) == 0 {
		t.Fatalf("adnet's demo assessment: %v", err)
	}
	if _, err := app.Vendors.Revoke(audit.WithActor(ctx, audit.Staff("stf_security")), history[0].ID, "Replaying an unassessed vendor."); err != nil {
		t.Fatal(err)
	}
	if code, body := ask("adnet", "marketing"); code != 200 || !strings.Contains(body, `"state":"blocked"`) || !strings.Contains(body, `"blocked_reason":"vendor_not_assessed"`) ||
		!strings.Contains(body, "assessment") {
		t.Fatalf("unassessed vendor: %d %s", code, body)
	}
	assessVendor(t, srv, "adnet")
	if code, body := ask("adnet", "marketing"); code != http.StatusAccepted || !strings.Contains(body, `"state":"pending"`) {
		t.Fatalf("assessed vendor: %d %s", code, body)
	}
	mail := f.mail.WaitFor(t, "ada.portal@example.org")
	if !strings.Contains(mail.Subject, "AdNet") || !strings.Contains(mail.Text, "to show you offers from our partner") {
		t.Fatalf("email: %s / %s", mail.Subject, mail.Text)
	}
	if code, body := ask("adnet", "sale_of_data"); code != http.StatusAccepted {
		t.Fatalf("second ask: %d %s", code, body)
	}
	f.mail.WaitFor(t, "ada.portal@example.org")

	// The customer answers in the browser.
	base := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
	tab := chromium.Tab(t)
	run := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(tab, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	run("ask for a code", chromedp.Navigate(base+"/privacy"), chromedp.SendKeys(chromedp.CSS("#email"), "ada.portal@example.org"),
		chromedp.Click(chromedp.CSS("form.card button")), chromedp.WaitVisible(chromedp.CSS("#code")))
	code := f.mail.WaitFor(t, "ada.portal@example.org").Code()
	run("sign in", chromedp.SendKeys(chromedp.CSS("#code"), code), chromedp.Click(chromedp.CSS("form.card button")),
		chromedp.WaitVisible(chromedp.CSS("#third-parties")))
	pending, err := chromedp.Run(tab, chromedp.Text(chromedp.CSS("#third-parties")))
	if err != nil || !strings.Contains(pending, "AdNet") || !strings.Contains(pending, "to show you offers from our partner") {
		t.Fatalf("pending requests: %q %v", pending, err)
	}
	// Each answer reloads the page: wait for what only the new page has.
	run("approve the first", chromedp.Click(chromedp.CSS(`#third-parties .card button[value=approve]`)), chromedp.WaitVisible(chromedp.CSS(`#third-parties table`)))
	run("decline the second", chromedp.Click(chromedp.CSS(`#third-parties .card button[value=decline]`)), chromedp.WaitNotPresent(chromedp.CSS(`#third-parties .card`)))
	received, err := chromedp.Run(tab, chromedp.Text(chromedp.CSS("#third-parties table")))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(received, "AdNet") || !strings.Contains(received, "Marketing") {
		t.Fatalf("who received my data: %q", received)
	}

	// The answers stick: the decision API and the next asks agree.
	if code, body := ask("adnet", "marketing"); code != 200 || !strings.Contains(body, `"state":"allowed"`) || !strings.Contains(body, `"basis":"consent"`) {
		t.Fatalf("after approval: %d %s", code, body)
	}
	if code, body := ask("adnet", "sale_of_data"); code != 200 || !strings.Contains(body, `"state":"blocked"`) {
		t.Fatalf("after declining: %d %s", code, body)
	}
	answer, _ := app.Consent.Decider().Decide(&consent.Question{Subject: "cust-1", Purpose: "marketing", Vendor: "adnet"}, false)
	if !answer.Allowed {
		t.Fatalf("decision for the approved vendor: %+v", answer)
	}
	went, _ := app.Disclosures.ForVendor(ctx, "adnet")
	if len(went) != 2 {
		t.Fatalf("went ahead to adnet: %d", len(went))
	}
}

// TestVendorQuestionnaireByEmail: a security officer sends the built-in
// questionnaire from the console; the contact gets the link by email and
// it opens the form; a custom template can be added as JSON. The request
// that sends it carries a forged Host: the link names --public-url all the
// same.
func TestVendorQuestionnaireByEmail(t *testing.T) {
	f := newPortalFixture(t, db.SQLite)
	officer, _ := (&consoleFixture{srv: f.srv}).browserFor(t, "security_officer")
	officer.header["Host"] = "evil.example"
	got := officer.do("POST", "/admin/vendors/adnet/send", map[string][]string{"csrf": {officer.formToken("/admin/vendors/adnet")},
		"template": {assurance.SecurityBaseline}, "contact_email": {"security@adnet.example"}, "expiry_days": {"14"}})
	if got.status != 200 || !strings.Contains(got.body, "the contact has the link by email") {
		t.Fatalf("send: %d %.500s", got.status, got.body)
	}
	mail := f.mail.WaitFor(t, "security@adnet.example")
	link := regexp.MustCompile(`https?://\S+/assess/\S+`).FindString(mail.Text)
	if link == "" || !strings.Contains(mail.Subject, "Security questionnaire") {
		t.Fatalf("email: %s / %s", mail.Subject, mail.Text)
	}
	if !strings.HasPrefix(link, f.srv.App.Config.PublicURL+"/assess/") || strings.Contains(mail.Text, "evil.example") {
		t.Fatalf("the emailed link %s does not start with the public URL %s", link, f.srv.App.Config.PublicURL)
	}
	delete(officer.header, "Host")
	u, _ := url.Parse(link)
	if form := newBrowser(t, f.srv.URL).do("GET", u.Path, nil); form.status != 200 || !strings.Contains(form.body, "encrypt") {
		t.Fatalf("the emailed link: %d", form.status)
	}
	page := officer.do("GET", "/admin/vendors/templates", nil)
	text := html.UnescapeString(regexp.MustCompile(`(?s)<textarea id="template" name="template"[^>]*>(.*?)</textarea>`).FindStringSubmatch(page.body)[1])
	text = strings.Replace(text, `"pass_mark": 80`, `"pass_mark": 90`, 1)
	if got := officer.do("POST", "/admin/vendors/templates", map[string][]string{"csrf": {officer.formToken("/admin/vendors/templates")}, "template": {text}}); got.status != http.StatusSeeOther {
		t.Fatalf("save template: %d %.500s", got.status, got.body)
	}
	if page := officer.do("GET", "/admin/vendors/templates", nil); !strings.Contains(page.body, "my-template") {
		t.Fatal("the new template is not listed")
	}
}
