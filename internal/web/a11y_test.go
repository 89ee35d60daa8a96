package web_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/steward-dev/steward/internal/apikey"
	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/dsr"
	"github.com/steward-dev/steward/internal/scanner"
	"github.com/steward-dev/steward/internal/staff"
)

// axeRun checks the page in tab against WCAG 2.2 A and AA with axe-core
// (vendored with the banner's tests) and reports every violation.
func axeRun(t *testing.T, tab context.Context, name string) {
	t.Helper()
	axe, err := os.ReadFile("banner/testdata/axe/axe.min.js")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(tab, chromedp.Evaluate[any](string(axe)+"; 0")); err != nil {
		t.Fatalf("%s: load axe: %v", name, err)
	}
	res, err := chromedp.Run(tab, chromedp.Evaluate[map[string]any](`axe.run(document, {
		runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']},
		resultTypes: ['violations']})`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("%s: axe: %v", name, err)
	}
	for _, v := range res["violations"].([]any) {
		v := v.(map[string]any)
		var where []string
		for _, n := range v["nodes"].([]any) {
			n := n.(map[string]any)
			where = append(where, fmt.Sprint(n["target"])+": "+fmt.Sprint(n["failureSummary"]))
		}
		t.Errorf("%s: axe %s (%s): %s\n\t%s", name, v["id"], v["impact"], v["help"], strings.Join(where, "\n\t"))
	}
	if passes := len(res["passes"].([]any)); passes < 10 {
		t.Errorf("%s: axe ran only %d rules", name, passes)
	}
}

// visit opens path and waits for the page.
func visit(t *testing.T, tab context.Context, url string) {
	t.Helper()
	if err := chromedp.Do(tab, chromedp.Navigate(url), chromedp.WaitReady(chromedp.CSS("main"))); err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
}

// TestPagesAccessible runs axe-core over the portal's, the transparency
// page's and the console's pages, signed out and signed in, in Chromium.
func TestPagesAccessible(t *testing.T) {
	ctx := context.Background()
	f := newPortalFixture(t, db.SQLite)
	base := strings.Replace(f.srv.URL, "127.0.0.1", "localhost", 1)
	tab := chromium.Tab(t)
	// axe is injected by the test, which the pages' CSP would refuse.
	if _, err := chromedp.Call(tab, page.SetBypassCSP, page.SetBypassCSPParams{Enabled: true}); err != nil {
		t.Fatal(err)
	}

	for _, path := range []string{"/privacy", "/privacy?lang=de", "/privacy/code?lang=fr", "/privacy/verify?code=123456&lang=es",
		"/privacy/agent?lang=fr", "/privacy/agent/confirm/req_x?token=t&lang=es", "/transparency", "/transparency?lang=de",
		"/transparency/history?lang=fr"} {
		visit(t, tab, base+path)
		axeRun(t, tab, path)
	}
	// The preference centre's pages, opened from an email's links.
	record, _, err := f.srv.App.Keys.Create(ctx, apikey.ScopeRecord, "", "mailer")
	if err != nil {
		t.Fatal(err)
	}
	links := preferenceLinks(t, f.srv.URL, record, "cust-1", `{"property":"demo","topics":["newsletter"],"language":"fr"}`)
	for name, path := range map[string]string{"preferences": pathOf(t, links.PreferencesURL), "unsubscribe": pathOf(t, links.UnsubscribeURL) + "?lang=es"} {
		visit(t, tab, base+path)
		axeRun(t, tab, name)
	}
	// Sign in as the customer, in the browser, with the emailed code.
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
		chromedp.WaitVisible(chromedp.CSS("#consents")),
	); err != nil {
		t.Fatalf("customer sign-in: %v", err)
	}
	axeRun(t, tab, "/privacy/home")
	// The request form shows the details box only for the kinds that take
	// details (a stylesheet rule, no script).
	detailsShown := func(kind string) bool {
		t.Helper()
		if err := chromedp.Do(tab, chromedp.Click(chromedp.CSS("#kind-"+kind))); err != nil {
			t.Fatal(err)
		}
		shown, err := chromedp.Run(tab, chromedp.Evaluate[bool](`document.querySelector("#details").offsetParent !== null`))
		if err != nil {
			t.Fatal(err)
		}
		return shown
	}
	for kind, want := range map[string]bool{"erasure": false, "rectification": true, "access": false, "objection": true} {
		if got := detailsShown(kind); got != want {
			t.Errorf("details box for %s: shown %v, want %v", kind, got, want)
		}
	}
	// A request waiting for the customer's answer, in German.
	hash, _ := f.srv.App.Vault.BlindIndex(ctx, "email", "ada.portal@example.org")
	// It touches financial data: the page shows the identity step too.
	req, err := f.srv.App.Requests.File(ctx, dsr.NewRequest{Kind: dsr.KindErasure, Regime: dsr.GDPR, SubjectID: "cust-1",
		Email: "ada.portal@example.org", EmailHash: hash, Language: "de", Categories: []string{"financial"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.srv.App.Requests.AskCustomer(audit.WithActor(ctx, audit.Staff("stf_a11y")), req.ID, "Welches Konto?"); err != nil {
		t.Fatal(err)
	}
	visit(t, tab, base+"/privacy/requests/"+req.ID+"?lang=de")
	axeRun(t, tab, "/privacy/requests/{id}")

	// The console, signed out and signed in.
	a, err := f.srv.App.Staff.Create(ctx, audit.System(), staff.NewAccount{Email: "po.a11y@shop.example", Name: "Po", Role: staff.RolePrivacyOfficer, Password: staffPassword})
	if err != nil {
		t.Fatal(err)
	}
	staffTab := chromium.Tab(t)
	if _, err := chromedp.Call(staffTab, page.SetBypassCSP, page.SetBypassCSPParams{Enabled: true}); err != nil {
		t.Fatal(err)
	}
	visit(t, staffTab, base+"/admin/signin")
	axeRun(t, staffTab, "/admin/signin")
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
	at := time.Now()
	scan, err := f.srv.App.Scanner.Record(ctx, &scanner.Report{Property: "shop", StartedAt: at, FinishedAt: at, Pages: []string{"https://shop.example/"},
		States:     []string{"none", "reject", "accept", "only:analytics"},
		Violations: []scanner.Violation{{State: "none", Page: "https://shop.example/", Kind: scanner.KindScript, Name: "cdn.tracker.example", Reason: scanner.ViolationBeforeConsent}},
		Trackers: []scanner.Tracker{{Kind: scanner.KindScript, Name: "cdn.tracker.example", ThirdParty: true, Class: scanner.Classification{Source: scanner.SourceUnclassified}, States: []string{"none"}},
			{Kind: scanner.KindCookie, Name: "_ga", Domain: "shop.example", Lifetime: 86400, Class: scanner.Classification{Purpose: "analytics", Source: scanner.SourceDeclared}, States: []string{"accept"}}},
		Suggestions: []scanner.TagSuggestion{{Src: "https://cdn.tracker.example/t.js", Tag: `<script type="text/plain" data-steward-purpose="PURPOSE" src="https://cdn.tracker.example/t.js"></script>`}},
	}, scanner.TriggerCLI)
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/admin", "/admin/customers", "/admin/customers/cust-1", "/admin/training", "/admin/training/privacy-basics",
		"/admin/requests", "/admin/requests?closed=1", "/admin/requests/" + req.ID,
		"/admin/inventory", "/admin/inventory/systems/steward.vault", "/admin/inventory/ropa", "/admin/scans", "/admin/scans/" + scan.ID} {
		visit(t, staffTab, base+path)
		axeRun(t, staffTab, path)
	}
}
