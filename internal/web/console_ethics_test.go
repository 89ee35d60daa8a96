package web_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/staff"
)

// TestConsoleEthicsAssessment: a new purpose is refused by decisions and
// missing from the banner; a privacy officer sees it first in the list,
// gets Steward's answers on its page, saves a draft and approves it with
// CSRF, after which decisions allow it and the banner offers it; the
// printable view shows the approval; an administrator may not open the
// page, and an incomplete approval names what is missing.
func TestConsoleEthicsAssessment(t *testing.T) {
	for _, dialect := range []db.Dialect{db.SQLite, db.Postgres} {
		t.Run(string(dialect), func(t *testing.T) {
			ctx := context.Background()
			f := newConsoleFixture(t, dialect)
			app := f.srv.App
			if _, err := app.Consent.PutPurpose(ctx, consent.Purpose{Key: "loyalty_offers", Names: map[string]string{"en": "Loyalty offers"},
				LegalBasis: consent.BasisConsent, Position: 9}, true); err != nil {
				t.Fatal(err)
			}
			decide := func() consent.Answer {
				a, err := app.Consent.Decider().Decide(&consent.Question{Device: "dev-ethics", Purpose: "loyalty_offers", Property: "demo",
					Jurisdiction: "US"}, false)
				if err != nil {
					t.Fatal(err)
				}
				return a
			}
			offered := func() bool {
				resp, err := http.Get(f.srv.URL + "/banner.js?p=demo")
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				body, _ := io.ReadAll(resp.Body)
				if resp.StatusCode != 200 || !strings.Contains(string(body), `"analytics"`) {
					t.Fatalf("banner.js: %d", resp.StatusCode)
				}
				return strings.Contains(string(body), `"loyalty_offers"`)
			}
			if a := decide(); a.Allowed || a.Reason != consent.ReasonPurposeNotAssessed {
				t.Fatalf("before approval: %+v", a)
			}
			if offered() {
				t.Fatal("the banner offers a purpose not assessed")
			}

			admin, _ := f.browserFor(t, staff.RoleAdmin)
			if got := admin.do("GET", "/admin/catalog/purposes/loyalty_offers/assessment", nil); got.status != http.StatusForbidden {
				t.Fatalf("admin opens the assessment: %d", got.status)
			}
			if got := admin.do("GET", "/admin/catalog/purposes", nil); got.status != 200 || !strings.Contains(got.body, "not approved: refused") {
				t.Fatalf("purposes list: %d, no status %.300s", got.status, got.body)
			}

			officer, account := f.browserFor(t, staff.RolePrivacyOfficer)
			list := officer.do("GET", "/admin/catalog/assessments", nil)
			if list.status != 200 || strings.Index(list.body, "loyalty_offers") > strings.Index(list.body, "<code>analytics</code>") {
				t.Fatalf("list: %d, the unassessed purpose is not first: %.500s", list.status, list.body)
			}
			const path = "/admin/catalog/purposes/loyalty_offers/assessment"
			page := officer.do("GET", path, nil)
			if page.status != 200 || !strings.Contains(page.body, "from Steward") || !strings.Contains(page.body, "the banner asks before any use") {
				t.Fatalf("page: %d, no answer from Steward %.300s", page.status, page.body)
			}
			csrf := csrfField.FindStringSubmatch(page.body)[1]

			// Approving an empty draft names what is missing.
			got := officer.do("POST", path+"/approve", url.Values{"csrf": {csrf}})
			if got.status != http.StatusBadRequest || !strings.Contains(got.body, "answer the questions marked below") ||
				!strings.Contains(got.body, "is required") {
				t.Fatalf("approve empty: %d %.300s", got.status, got.body)
			}
			// Without the CSRF token nothing is saved.
			draft := url.Values{"customer_knows": {"The loyalty page explains the offers."}, "storage_safe": {"yes"},
				"storage": {"Our EU shop database."}, "typical": {"yes"}}
			if got := officer.do("POST", path, draft); got.status == http.StatusSeeOther {
				t.Fatalf("saved without CSRF: %d", got.status)
			}
			draft.Set("csrf", csrf)
			if got := officer.do("POST", path, draft); got.status != http.StatusSeeOther || got.header.Get("Location") != path+"?saved=1" {
				t.Fatalf("save: %d %s %.300s", got.status, got.header.Get("Location"), got.body)
			}
			if a := decide(); a.Reason != consent.ReasonPurposeNotAssessed {
				t.Fatalf("a draft opened the purpose: %+v", a)
			}
			got = officer.do("POST", path+"/approve", url.Values{"csrf": {csrf}})
			if got.status != http.StatusSeeOther || got.header.Get("Location") != "/admin/catalog/assessments?approved=loyalty_offers" {
				t.Fatalf("approve: %d %s %.300s", got.status, got.header.Get("Location"), got.body)
			}
			if a := decide(); a.Reason == consent.ReasonPurposeNotAssessed {
				t.Fatalf("after approval: %+v", a)
			}
			if !offered() {
				t.Fatal("the banner does not offer the approved purpose")
			}
			printed := officer.do("GET", path+"/print", nil)
			if printed.status != 200 || !strings.Contains(printed.body, "Approved by staff:"+account.ID) ||
				!strings.Contains(printed.body, "Our EU shop database.") || strings.Contains(printed.body, "has not been approved") {
				t.Fatalf("print: %d %.500s", printed.status, printed.body)
			}
			entries, err := app.Audit.Search(ctx, audit.Query{Action: "purpose.assessment_approved", Target: audit.Target{Kind: "purpose", ID: "loyalty_offers"}})
			if err != nil || len(entries.Entries) != 1 || entries.Entries[0].Actor != audit.Staff(account.ID) {
				t.Fatalf("audit: %+v %v", entries.Entries, err)
			}
		})
	}
}
