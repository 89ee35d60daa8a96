package web_test

import (
	"context"
	"fmt"
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

// TestCatalogInBrowser walks a catalog form as staff do, in Chromium and
// without JavaScript of ours: a privacy officer opens the catalog from the
// navigation, adds a data category, is told at the retention input what
// is wrong with the name still typed, corrects it, saves, then edits the
// category to mark it special; both writes are in the audit log under her.
func TestCatalogInBrowser(t *testing.T) {
	ctx := context.Background()
	f := newConsoleFixture(t, db.SQLite)
	app := f.srv.App
	officer, err := app.Staff.Create(ctx, audit.System(), staff.NewAccount{Email: "po.catalog@shop.example", Name: "Catalog officer",
		Role: staff.RolePrivacyOfficer, Password: staffPassword})
	if err != nil {
		t.Fatal(err)
	}
	base := strings.Replace(f.srv.URL, "127.0.0.1", "localhost", 1)
	tab := chromium.Tab(t)
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(tab, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}
	value := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(tab, chromedp.Value(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("value of %s: %v", sel, err)
		}
		return s
	}
	code, _ := staff.TOTPCode(officer.TOTPSecret, time.Now())
	if err := chromedp.Do(tab,
		chromedp.Navigate(base+"/admin"),
		chromedp.WaitVisible(chromedp.CSS("#email")),
		chromedp.SendKeys(chromedp.CSS("#email"), officer.Email),
		chromedp.SendKeys(chromedp.CSS("#password"), staffPassword),
		chromedp.SendKeys(chromedp.CSS("#code"), code),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`nav[aria-label=Console]`)),
		chromedp.Click(chromedp.CSS(`nav a[href="/admin/catalog"]`)),
		chromedp.WaitVisible(chromedp.CSS(`a[href="/admin/catalog/categories"]`)),
		chromedp.Click(chromedp.CSS(`a[href="/admin/catalog/categories"]`)),
		chromedp.WaitVisible(chromedp.CSS(`a[href="/admin/catalog/categories/new"]`)),
		chromedp.Click(chromedp.CSS(`a[href="/admin/catalog/categories/new"]`)),
		chromedp.WaitVisible(chromedp.CSS("#key")),
		chromedp.SendKeys(chromedp.CSS("#key"), "loyalty"),
		chromedp.SendKeys(chromedp.CSS("#name-en"), "Loyalty points"),
		chromedp.SendKeys(chromedp.CSS("#name-de"), "Treuepunkte"),
		chromedp.SetValue(chromedp.CSS("#retention_days"), "-30"),
		chromedp.Click(chromedp.CSS(`form.card button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`.problem`)),
	); err != nil {
		t.Fatalf("add a category: %v", err)
	}
	if got := text("form.card"); !strings.Contains(got, "must be between 0") {
		t.Fatalf("the retention problem is not shown at its input: %q", got)
	}
	if value("#name-de") != "Treuepunkte" || value("#retention_days") != "-30" || value("#key") != "loyalty" {
		t.Fatal("what was typed is lost")
	}
	if _, err := app.Consent.Category("loyalty"); err == nil {
		t.Fatal("the refused category was created")
	}
	if err := chromedp.Do(tab,
		chromedp.SetValue(chromedp.CSS("#retention_days"), "730"),
		chromedp.Click(chromedp.CSS(`form.card button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`.notice`)),
	); err != nil {
		t.Fatalf("save the category: %v", err)
	}
	if got := text(".notice"); !strings.Contains(got, "Saved loyalty") {
		t.Fatalf("notice: %q", got)
	}
	if err := chromedp.Do(tab,
		chromedp.Click(chromedp.CSS(`a[href="/admin/catalog/categories/loyalty/edit"]`)),
		chromedp.WaitVisible(chromedp.CSS("#special")),
		chromedp.Click(chromedp.CSS(`label[for="special"]`)),
		chromedp.Click(chromedp.CSS(`form.card button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`.notice`)),
	); err != nil {
		t.Fatalf("edit the category: %v", err)
	}
	c, err := app.Consent.Category("loyalty")
	if err != nil || !c.Special || c.RetentionDays != 730 || c.Names["de"] != "Treuepunkte" {
		t.Fatalf("stored %+v %v", c, err)
	}
	for _, action := range []string{"catalog.category.create", "catalog.category.update"} {
		entries, err := app.Audit.Search(ctx, audit.Query{Action: action, Target: audit.Target{Kind: "category", ID: "loyalty"}})
		if err != nil || len(entries.Entries) != 1 || entries.Entries[0].Actor != audit.Staff(officer.ID) {
			t.Errorf("%s not recorded under the officer: %+v %v", action, entries.Entries, err)
		}
	}
}

// TestCatalogPagesAccessible runs axe-core over the catalog pages a privacy
// officer manages, in three languages, a refused form and a notice's
// review among them. Each group of pages gets a tab of its own, so that a
// busy machine does not run one tab out of its time.
func TestCatalogPagesAccessible(t *testing.T) {
	ctx := context.Background()
	f := newConsoleFixture(t, db.SQLite)
	app := f.srv.App
	if _, err := app.Consent.PutNotice(audit.WithActor(ctx, audit.System()), consent.Notice{Version: "2027-a11y", Material: true,
		Texts: map[string]string{"en": "We keep your data safe.", "de": "Wir schützen Ihre Daten."}}, true, false); err != nil {
		t.Fatal(err)
	}
	base := strings.Replace(f.srv.URL, "127.0.0.1", "localhost", 1)
	tabs := 0
	signedIn := func() context.Context {
		t.Helper()
		// A TOTP code works once: each tab signs in as an officer of its own.
		tabs++
		officer, err := app.Staff.Create(ctx, audit.System(), staff.NewAccount{Email: fmt.Sprintf("po.catalog.a11y%d@shop.example", tabs),
			Name: "Po", Role: staff.RolePrivacyOfficer, Password: staffPassword})
		if err != nil {
			t.Fatal(err)
		}
		tab := chromium.Tab(t)
		// axe is injected by the test, which the pages' CSP would refuse.
		if _, err := chromedp.Call(tab, page.SetBypassCSP, page.SetBypassCSPParams{Enabled: true}); err != nil {
			t.Fatal(err)
		}
		code, _ := staff.TOTPCode(officer.TOTPSecret, time.Now())
		if err := chromedp.Do(tab,
			chromedp.Navigate(base+"/admin/signin"),
			chromedp.WaitVisible(chromedp.CSS("#email")),
			chromedp.SendKeys(chromedp.CSS("#email"), officer.Email),
			chromedp.SendKeys(chromedp.CSS("#password"), staffPassword),
			chromedp.SendKeys(chromedp.CSS("#code"), code),
			chromedp.Click(chromedp.CSS("button[type=submit]")),
			chromedp.WaitVisible(chromedp.CSS("nav[aria-label=Console]")),
		); err != nil {
			t.Fatalf("sign in: %v", err)
		}
		return tab
	}
	for _, group := range [][]string{
		{"/admin/catalog", "/admin/catalog/categories", "/admin/catalog/categories/contact/edit?lang=de"},
		{"/admin/catalog/notices", "/admin/catalog/notices/new?lang=fr", "/admin/catalog/notices/2027-a11y/publish?lang=es"},
	} {
		tab := signedIn()
		for _, path := range group {
			visit(t, tab, base+path)
			axeRun(t, tab, path)
		}
	}
	tab := signedIn()
	visit(t, tab, base+"/admin/catalog/categories/new")
	if err := chromedp.Do(tab,
		chromedp.SendKeys(chromedp.CSS("#key"), "Not A Key"),
		chromedp.Click(chromedp.CSS("form.card button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS(".problem")),
	); err != nil {
		t.Fatalf("refused category: %v", err)
	}
	axeRun(t, tab, "/admin/catalog/categories (refused)")
}
