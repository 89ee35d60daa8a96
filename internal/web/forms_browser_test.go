package web_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/staff"
)

// TestFormPagesAccessible runs axe on the console's forms pages: the list
// with the embedding lines, the new form in German, and a refused form
// with its problems at the inputs.
func TestFormPagesAccessible(t *testing.T) {
	ctx := context.Background()
	f := newConsoleFixture(t, db.SQLite)
	app := f.srv.App
	if _, err := app.Consent.PutForm(audit.WithActor(ctx, audit.System()), consent.Form{Property: "demo", ID: "checkout", Name: "Checkout",
		Purposes: []string{"marketing"}}, true); err != nil {
		t.Fatal(err)
	}
	admin, err := app.Staff.Create(ctx, audit.System(), staff.NewAccount{Email: "admin.forms.a11y@shop.example", Name: "Ad",
		Role: staff.RoleAdmin, Password: staffPassword})
	if err != nil {
		t.Fatal(err)
	}
	base := strings.Replace(f.srv.URL, "127.0.0.1", "localhost", 1)
	tab := chromium.Tab(t)
	// axe is injected by the test, which the pages' CSP would refuse.
	if _, err := chromedp.Call(tab, page.SetBypassCSP, page.SetBypassCSPParams{Enabled: true}); err != nil {
		t.Fatal(err)
	}
	code, _ := staff.TOTPCode(admin.TOTPSecret, time.Now())
	if err := chromedp.Do(tab,
		chromedp.Navigate(base+"/admin/signin"),
		chromedp.WaitVisible(chromedp.CSS("#email")),
		chromedp.SendKeys(chromedp.CSS("#email"), admin.Email),
		chromedp.SendKeys(chromedp.CSS("#password"), staffPassword),
		chromedp.SendKeys(chromedp.CSS("#code"), code),
		chromedp.Click(chromedp.CSS("button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("nav[aria-label=Console]")),
	); err != nil {
		t.Fatalf("sign in: %v", err)
	}
	for _, path := range []string{"/admin/catalog/properties/demo/forms", "/admin/catalog/properties/demo/forms/new?lang=de",
		"/admin/catalog/properties/demo/forms/checkout/edit?lang=fr"} {
		visit(t, tab, base+path)
		axeRun(t, tab, path)
	}
	visit(t, tab, base+"/admin/catalog/properties/demo/forms/new?lang=es")
	if err := chromedp.Do(tab,
		chromedp.SendKeys(chromedp.CSS("#id"), "Not An Id"),
		chromedp.SendKeys(chromedp.CSS("#name"), "Alta"),
		chromedp.Click(chromedp.CSS("form.card button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS(".problem")),
	); err != nil {
		t.Fatalf("refused form: %v", err)
	}
	axeRun(t, tab, "refused form")
}
