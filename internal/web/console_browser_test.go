package web_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/staff"
	"github.com/steward-dev/steward/internal/testenv/browsertest"
)

// chromium is the one browser of this test binary.
var chromium = browsertest.New()

func TestMain(m *testing.M) {
	code := m.Run()
	chromium.Close()
	os.Exit(code)
}

// TestConsoleInBrowser walks the console as staff do, in Chromium and
// without a line of JavaScript of ours: a privacy officer signs in with a
// password and a TOTP code, is told that training is due, passes the quiz,
// finds a customer and reveals a field with a purpose; a security officer
// then finds that reveal in the audit search.
func TestConsoleInBrowser(t *testing.T) {
	ctx := context.Background()
	f := newConsoleFixture(t, db.SQLite)
	app := f.srv.App
	m, _ := app.Staff.Module(ctx, "privacy-basics")
	m.Required = true
	if _, err := app.Staff.PutModule(ctx, m, false); err != nil {
		t.Fatal(err)
	}
	newAccount := func(role staff.Role, email string) staff.Created {
		a, err := app.Staff.Create(ctx, audit.System(), staff.NewAccount{Email: email, Name: "Browser " + string(role), Role: role, Password: staffPassword})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	officer := newAccount(staff.RolePrivacyOfficer, "po.browser@shop.example")
	security := newAccount(staff.RoleSecurityOfficer, "so.browser@shop.example")
	// Chromium keeps Secure (and __Host-) cookies from http://localhost, a
	// potentially trustworthy origin.
	base := strings.Replace(f.srv.URL, "127.0.0.1", "localhost", 1)

	text := func(tab context.Context, sel string) string {
		t.Helper()
		s, err := chromedp.Run(tab, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}
	signIn := func(tab context.Context, a staff.Created) {
		t.Helper()
		code, _ := staff.TOTPCode(a.TOTPSecret, time.Now())
		if err := chromedp.Do(tab,
			chromedp.Navigate(base+"/admin"),
			chromedp.WaitVisible(chromedp.CSS("#email")),
			chromedp.SendKeys(chromedp.CSS("#email"), a.Email),
			chromedp.SendKeys(chromedp.CSS("#password"), staffPassword),
			chromedp.SendKeys(chromedp.CSS("#code"), code),
			chromedp.Click(chromedp.CSS(`button[type=submit]`)),
			chromedp.WaitVisible(chromedp.CSS(`nav[aria-label=Console]`)),
		); err != nil {
			t.Fatalf("sign in as %s: %v", a.Role, err)
		}
	}

	tab := chromium.Tab(t)
	signIn(tab, officer)
	if got := text(tab, "main"); !strings.Contains(got, "You cannot reveal personal data now") || !strings.Contains(got, "Privacy basics") {
		t.Fatalf("the dashboard does not say that training is due: %q", got)
	}

	// The quiz.
	if err := chromedp.Do(tab,
		chromedp.Click(chromedp.CSS(`a[href="/admin/training"]`)),
		chromedp.WaitVisible(chromedp.CSS(`a[href="/admin/training/privacy-basics"]`)),
		chromedp.Click(chromedp.CSS(`a[href="/admin/training/privacy-basics"]`)),
		chromedp.WaitVisible(chromedp.CSS(`label[for="q0-1"]`)),
		chromedp.Click(chromedp.CSS(`label[for="q0-1"]`)), // "No"
		chromedp.Click(chromedp.CSS(`form.card button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`.notice`)),
	); err != nil {
		t.Fatalf("quiz: %v", err)
	}
	if got := text(tab, ".notice"); !strings.Contains(got, "Passed with 100%") {
		t.Fatalf("quiz result: %q", got)
	}
	if got := text(tab, "article.content h1"); got != "Why we ask" {
		t.Errorf("the module's Markdown is not rendered: %q", got)
	}

	// Find the customer by email and reveal the IBAN with a purpose.
	iban := f.secrets[0]
	if err := chromedp.Do(tab,
		chromedp.Click(chromedp.CSS(`a[href="/admin/customers"]`)),
		chromedp.WaitVisible(chromedp.CSS("#q")),
		chromedp.SendKeys(chromedp.CSS("#q"), "ada.fixture@example.org"),
		chromedp.Click(chromedp.CSS(`form[role=search] button`)),
		chromedp.WaitVisible(chromedp.CSS("#purpose")),
	); err != nil {
		t.Fatalf("customer search: %v", err)
	}
	if got := text(tab, "main"); strings.Contains(got, iban) || !strings.Contains(got, "iban") {
		t.Fatalf("the record is not masked: %q", got)
	}
	if err := chromedp.Do(tab,
		chromedp.SetValue(chromedp.CSS("#field"), "iban"),
		chromedp.SendKeys(chromedp.CSS("#purpose"), "refund to the customer's account"),
		chromedp.SendKeys(chromedp.CSS("#ticket"), "SUP-4711"),
		chromedp.Click(chromedp.CSS(`form[action$="/reveal"] button`)),
		chromedp.WaitVisible(chromedp.CSS(".revealed output")),
	); err != nil {
		t.Fatalf("reveal: %v", err)
	}
	if got := text(tab, ".revealed output"); got != iban {
		t.Fatalf("revealed %q, want the IBAN", got)
	}

	// The security officer finds the reveal in the audit search.
	other := chromium.Tab(t)
	signIn(other, security)
	if err := chromedp.Do(other,
		chromedp.Click(chromedp.CSS(`a[href="/admin/audit"]`)),
		chromedp.WaitVisible(chromedp.CSS("#subject")),
		chromedp.SendKeys(chromedp.CSS("#subject"), "cust-1"),
		chromedp.SendKeys(chromedp.CSS("#action"), "vault.reveal"),
		chromedp.Click(chromedp.CSS(`form[role=search] button`)),
	); err != nil {
		t.Fatalf("audit search: %v", err)
	}
	// The audit page lists entries before a search too: wait for the
	// search's own page, loaded, before reading it.
	for deadline := time.Now().Add(15 * time.Second); ; {
		state, err := chromedp.Run(other, chromedp.Evaluate[string](`location.search + "|" + document.readyState`))
		if err == nil && strings.Contains(state, "subject=cust-1") && strings.HasSuffix(state, "|complete") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("audit search: the results page did not load (%q, %v)", state, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := chromedp.Do(other, chromedp.WaitVisible(chromedp.CSS("table.audit"))); err != nil {
		t.Fatalf("audit search: %v", err)
	}
	got := text(other, "table.audit tbody")
	for _, want := range []string{officer.Name + " (privacy officer)", "Revealed the iban field", "customer cust-1", "SUP-4711", "refund to the customer"} {
		if !strings.Contains(got, want) {
			t.Errorf("the audit search lacks %q: %q", want, got)
		}
	}
	if strings.Contains(got, iban) {
		t.Error("the audit search shows the value")
	}
}
