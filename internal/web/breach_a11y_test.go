package web_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/incident"
	"github.com/steward-dev/steward/internal/staff"
)

// TestBreachPagesAccessible runs axe-core over the pages of telling the
// parties: the customer's home with a breach notice, the officer's page
// and the printable report to the authority.
func TestBreachPagesAccessible(t *testing.T) {
	ctx := context.Background()
	f := newPortalFixture(t, db.SQLite)
	base := strings.Replace(f.srv.URL, "127.0.0.1", "localhost", 1)
	tab := chromium.Tab(t)
	if _, err := chromedp.Call(tab, page.SetBypassCSP, page.SetBypassCSPParams{Enabled: true}); err != nil {
		t.Fatal(err)
	}
	officerCtx := audit.WithActor(ctx, audit.Staff("stf_a11y"))
	svc := f.srv.App.Incidents
	title, kind, cats := "Payment export on a stolen laptop", incident.Confidentiality, []string{"financial"}
	inc, err := svc.Create(officerCtx, incident.Input{Title: &title, Kind: &kind, Categories: &cats})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Compute(officerCtx, inc.ID, incident.Method{Kind: incident.MethodInventory}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Assess(officerCtx, inc.ID, incident.Assessment{Risk: incident.HighRisk, Reasons: []string{"bank details"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Move(officerCtx, inc.ID, incident.Assessed, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.SetNoticeText(officerCtx, inc.ID, incident.NoticeText{Language: "en", Happened: "A laptop was stolen.",
		Meaning: "Your IBAN may be read.", Done: "We blocked the accounts.", CanDo: "Watch your statements.", Contact: "privacy@shop.example"}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.QueueNotices(officerCtx, inc.ID); err != nil {
		t.Fatal(err)
	}
	f.mail.WaitFor(t, "ada.portal@example.org") // the notice's email

	visit(t, tab, base+"/privacy")
	if err := chromedp.Do(tab,
		chromedp.SendKeys(chromedp.CSS("#email"), "ada.portal@example.org"),
		chromedp.Click(chromedp.CSS("form.card button")),
		chromedp.WaitVisible(chromedp.CSS("#code")),
	); err != nil {
		t.Fatal(err)
	}
	code := f.mail.WaitFor(t, "ada.portal@example.org").Code()
	if err := chromedp.Do(tab,
		chromedp.SendKeys(chromedp.CSS("#code"), code),
		chromedp.Click(chromedp.CSS("form.card button")),
		chromedp.WaitVisible(chromedp.CSS("section.breach")),
	); err != nil {
		t.Fatalf("customer sign-in: %v", err)
	}
	axeRun(t, tab, "/privacy/home with a breach notice")

	a, err := f.srv.App.Staff.Create(ctx, audit.System(), staff.NewAccount{Email: "so.a11y@shop.example", Name: "So", Role: staff.RoleSecurityOfficer,
		Password: staffPassword})
	if err != nil {
		t.Fatal(err)
	}
	staffTab := chromium.Tab(t)
	if _, err := chromedp.Call(staffTab, page.SetBypassCSP, page.SetBypassCSPParams{Enabled: true}); err != nil {
		t.Fatal(err)
	}
	visit(t, staffTab, base+"/admin/signin")
	totp, _ := staff.TOTPCode(a.TOTPSecret, time.Now())
	if err := chromedp.Do(staffTab,
		chromedp.SendKeys(chromedp.CSS("#email"), a.Email),
		chromedp.SendKeys(chromedp.CSS("#password"), staffPassword),
		chromedp.SendKeys(chromedp.CSS("#code"), totp),
		chromedp.Click(chromedp.CSS("button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("nav[aria-label=Console]")),
	); err != nil {
		t.Fatalf("staff sign-in: %v", err)
	}
	for _, path := range []string{"/admin/incidents/" + inc.ID, "/admin/incidents/" + inc.ID + "/parties", "/admin/incidents/" + inc.ID + "/regulator-report"} {
		visit(t, staffTab, base+path)
		axeRun(t, staffTab, path)
	}
}
