package web_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/steward-dev/steward/internal/app/apptest"
	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/dsr"
)

// TestRestrictionInBrowser walks a restriction on both stores: the
// customer asks for it in the portal, staff complete it in the console,
// and at once the decision API and a disclosure check answer
// "restricted" while the portal says so and what happens next; staff
// lift it and, once the customer was told by email, both answer as before,
// and the portal no longer shows it.
func TestRestrictionInBrowser(t *testing.T) {
	forStores(t, func(t *testing.T, dialect db.Dialect) {
		w := newWalk(t, dialect, apptest.Options{}, "cust-walk-4", "rhea.walk@example.org")
		app := w.srv.App
		grant := []consent.Event{{ID: "walk-4-grant", Property: "demo", Subject: w.subject, Purpose: "marketing", Vendor: "adnet",
			Action: consent.ActionGrant, Source: consent.SourceAPI, NoticeVersion: "2026-11"}}
		if err := app.Consent.ValidateEvents(grant, consent.Author{Kind: consent.AuthorRecordKey}); err != nil {
			t.Fatal(err)
		}
		if _, err := app.Consent.Append(w.ctx, grant); err != nil {
			t.Fatal(err)
		}
		assessVendor(t, w.srv, "adnet")
		disclose, _, err := app.Keys.Create(w.ctx, "disclose", "", "crm")
		if err != nil {
			t.Fatal(err)
		}
		c := caller{t, w.srv.URL}
		check := func(step, decision, disclosure string) {
			t.Helper()
			code, body, _ := c.do("POST", "/v1/decisions", w.srv.Keys.Decide, `{"questions":[{"subject":"`+w.subject+`","purpose":"marketing","vendor":"adnet","property":"demo"}]}`)
			if code != http.StatusOK || !strings.Contains(body, decision) {
				t.Errorf("%s: decision %d %s, want %s", step, code, body, decision)
			}
			code, body, _ = c.do("POST", "/v1/disclosures", disclose, `{"subject":"`+w.subject+`","vendor":"adnet","purpose":"marketing","categories":["contact"],"reason":"to show you offers from our partner"}`)
			if code != http.StatusOK || !strings.Contains(body, disclosure) {
				t.Errorf("%s: disclosure %d %s, want %s", step, code, body, disclosure)
			}
		}
		check("before", `"allowed":true`, `"state":"allowed"`)

		w.signIn("en")
		id := w.file(dsr.KindRestriction)
		for _, action := range []string{"verify", "start", "complete"} {
			w.staffAct(id, action, nil)
		}
		check("restricted", `"reason":"restricted"`, `"restricted"`)
		w.run("the portal", chromedp.Navigate(w.base+"/privacy/home"), chromedp.WaitVisible(chromedp.CSS("#restrictions")))
		got := w.text("#restrictions")
		for _, want := range []string{"Use of your data is restricted", "every purpose", "we neither use it nor share it"} {
			if !strings.Contains(got, want) {
				t.Errorf("the portal's restriction lacks %q: %q", want, got)
			}
		}
		if dialect == db.SQLite {
			axeRun(t, w.tab, "portal home with a restriction")
		}

		// The lift ends the restriction once the customer's notice went
		// out (GDPR Art. 18(3)): a job, so a moment later.
		w.staffAct(id, "lift", nil)
		waitFor(t, "the lift after its notice", func() bool {
			list, err := app.Consent.Restrictions(w.ctx, w.subject)
			return err == nil && len(list) == 0
		})
		check("lifted", `"allowed":true`, `"state":"allowed"`)
		w.run("the portal after lifting", chromedp.Navigate(w.base+"/privacy/home"), chromedp.WaitVisible(chromedp.CSS("#requests")))
		if n, _ := chromedp.Run(w.tab, chromedp.Evaluate[int](`document.querySelectorAll('#restrictions').length`)); n != 0 {
			t.Error("the portal still shows the lifted restriction")
		}
	})
}
