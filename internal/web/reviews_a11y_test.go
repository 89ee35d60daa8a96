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
	"github.com/steward-dev/steward/internal/review"
	"github.com/steward-dev/steward/internal/staff"
)

// TestAccessReviewPagesAccessible: the access review pages and the monthly
// report (with its print view) pass axe in a browser, signed in as an
// administrator, with a review open.
func TestAccessReviewPagesAccessible(t *testing.T) {
	ctx := context.Background()
	f := newConsoleFixture(t, db.SQLite)
	base := strings.Replace(f.srv.URL, "127.0.0.1", "localhost", 1)
	a, err := f.srv.App.Staff.Create(ctx, audit.System(), staff.NewAccount{Email: "ada.a11y@shop.example", Name: "Ada", Role: staff.RoleAdmin, Password: staffPassword})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.srv.App.Staff.Create(ctx, audit.System(), staff.NewAccount{Email: "bo.a11y@shop.example", Name: "Bo", Role: staff.RoleSupport, Password: staffPassword}); err != nil {
		t.Fatal(err)
	}
	rv, err := f.srv.App.Reviews.Open(ctx, audit.Staff(a.ID), review.QuarterOf(time.Now()).String())
	if err != nil {
		t.Fatal(err)
	}
	// A tab lives 30 s: one per group of pages.
	for i, paths := range [][]string{{"/admin/access-reviews", "/admin/access-reviews/" + rv.ID, "/admin/access-reviews?lang=de"},
		{"/admin/reports/monthly", "/admin/reports/monthly/print", "/admin/reports/monthly?month=1999-13&lang=fr"}} {
		tab := chromium.Tab(t)
		if _, err := chromedp.Call(tab, page.SetBypassCSP, page.SetBypassCSPParams{Enabled: true}); err != nil {
			t.Fatal(err)
		}
		visit(t, tab, base+"/admin/signin")
		// A code signs in once: the second tab takes the next step's.
		totp, _ := staff.TOTPCode(a.TOTPSecret, time.Now().Add(time.Duration(i)*30*time.Second))
		if err := chromedp.Do(tab,
			chromedp.SendKeys(chromedp.CSS("#email"), a.Email),
			chromedp.SendKeys(chromedp.CSS("#password"), staffPassword),
			chromedp.SendKeys(chromedp.CSS("#code"), totp),
			chromedp.Click(chromedp.CSS("button[type=submit]")),
			chromedp.WaitVisible(chromedp.CSS("nav[aria-label=Console]")),
		); err != nil {
			t.Fatalf("staff sign-in: %v", err)
		}
		for _, path := range paths {
			visit(t, tab, base+path)
			axeRun(t, tab, path)
		}
	}
}

// TestAccessReviewInABrowser walks the quarterly review as an administrator
// does, in Chromium without running a script of the page's own: open the
// quarter's review, confirm their own access, change a colleague's role,
// close the review.
func TestAccessReviewInABrowser(t *testing.T) {
	ctx := context.Background()
	f := newConsoleFixture(t, db.SQLite)
	base := strings.Replace(f.srv.URL, "127.0.0.1", "localhost", 1)
	a, err := f.srv.App.Staff.Create(ctx, audit.System(), staff.NewAccount{Email: "ada.walk@shop.example", Name: "Ada", Role: staff.RoleAdmin, Password: staffPassword})
	if err != nil {
		t.Fatal(err)
	}
	bo, err := f.srv.App.Staff.Create(ctx, audit.System(), staff.NewAccount{Email: "bo.walk@shop.example", Name: "Bo", Role: staff.RoleSupport, Password: staffPassword})
	if err != nil {
		t.Fatal(err)
	}
	tab := chromium.Tab(t)
	visit(t, tab, base+"/admin/signin")
	totp, _ := staff.TOTPCode(a.TOTPSecret, time.Now())
	if err := chromedp.Do(tab,
		chromedp.SendKeys(chromedp.CSS("#email"), a.Email),
		chromedp.SendKeys(chromedp.CSS("#password"), staffPassword),
		chromedp.SendKeys(chromedp.CSS("#code"), totp),
		chromedp.Click(chromedp.CSS("button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("nav[aria-label=Console]")),
		chromedp.Navigate(base+"/admin/access-reviews"),
		chromedp.Click(chromedp.CSS(`form[action="/admin/access-reviews"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action$="/close"]`)),
		chromedp.Click(chromedp.CSS(`form[action$="/accounts/`+a.ID+`"] button`)),
		// The next page has no form for Ada's row: waiting for that, not
		// for Bo's select (on the old page too), keeps the choice below
		// from being made on a page that is going away.
		chromedp.WaitNotPresent(chromedp.CSS(`form[action$="/accounts/`+a.ID+`"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#role-`+bo.ID)),
		chromedp.SetValue(chromedp.CSS(`#role-`+bo.ID), string(staff.RoleAnalyst)),
		chromedp.Submit(chromedp.CSS(`#role-`+bo.ID)),
		chromedp.WaitNotPresent(chromedp.CSS(`#role-`+bo.ID)),
		chromedp.Click(chromedp.CSS(`form[action$="/close"] button`)),
		chromedp.WaitNotPresent(chromedp.CSS(`form[action$="/close"]`)),
	); err != nil {
		t.Fatalf("walk: %v", err)
	}
	text, err := chromedp.Run(tab, chromedp.Text(chromedp.CSS("main")))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text, "is closed") || !strings.Contains(text, "Role changed to") {
		t.Fatalf("the page after closing says: %.1000s", text)
	}
	if got, _ := f.srv.App.Staff.Get(ctx, bo.ID); got.Role != staff.RoleAnalyst {
		t.Fatalf("Bo is %s", got.Role)
	}
}
