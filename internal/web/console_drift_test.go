package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/connector/drift"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/scanner"
	"github.com/steward-dev/steward/internal/staff"
)

var driftForms = regexp.MustCompile(`(?s)<form method="post" action="/admin/drift/[^"]+".*?</form>`)

// TestConsoleDrift: the drift page is the inventory permission's; it
// lists open findings with declare and dismiss forms that carry the CSRF
// token; a post without it is refused and changes nothing; a declaration
// moves the finding to those waiting for the dataset file, a dismissal to
// the history, both under the officer's name in the audit log; a finding
// decided already is not decided again; the page speaks German.
func TestConsoleDrift(t *testing.T) {
	for _, dialect := range []db.Dialect{db.SQLite, db.Postgres} {
		t.Run(string(dialect), func(t *testing.T) {
			f := newConsoleFixture(t, dialect)
			app, ctx := f.srv.App, context.Background()
			res := drift.Result{System: "shop", Live: map[drift.ColumnRef]bool{}, Declared: map[drift.ColumnRef]bool{},
				Candidates: []drift.Candidate{
					{Table: "signups", Column: "telefon", Category: drift.Contact, Evidence: drift.ByName},
					{Table: "signups", Column: "kontakt", Category: drift.Contact, Evidence: drift.ByValues, Ratio: 0.85},
				}}
			if _, err := app.Drift.Record(ctx, res); err != nil {
				t.Fatal(err)
			}
			open, err := app.Drift.OpenFindings(ctx)
			if err != nil || len(open) != 2 {
				t.Fatalf("%d open findings, %v", len(open), err)
			}
			kontakt, telefon := open[0], open[1]

			for _, role := range []staff.Role{staff.RoleSupport, staff.RoleAnalyst, staff.RoleSecurityOfficer} {
				if role.Can(staff.PermInventory) {
					continue
				}
				b, _ := f.browserFor(t, role)
				if got := b.do("GET", "/admin/drift", nil); got.status != http.StatusForbidden || strings.Contains(got.body, "signups.telefon") {
					t.Errorf("%s opens the drift page: %d", role, got.status)
				}
				csrf := b.formToken("/admin/training")
				if got := b.do("POST", "/admin/drift/"+telefon.ID+"/dismiss", url.Values{"csrf": {csrf}, "note": {"x"}}); got.status != http.StatusForbidden {
					t.Errorf("%s dismisses a finding: %d", role, got.status)
				}
			}

			b, officer := f.browserFor(t, staff.RolePrivacyOfficer)
			page := b.do("GET", "/admin/drift", nil)
			if page.status != http.StatusOK || !strings.Contains(page.body, "signups.telefon") || !strings.Contains(page.body, "its values (85% of a sample, not kept)") ||
				!strings.Contains(page.body, `href="/admin/drift"`) {
				t.Fatalf("drift page: %d %.800s", page.status, page.body)
			}
			csrf := b.formToken("/admin/drift")
			forms := driftForms.FindAllString(page.body, -1)
			if len(forms) != 4 {
				t.Fatalf("%d decision forms, want 4", len(forms))
			}
			for _, form := range forms {
				if !strings.Contains(form, `name="csrf" value="`+csrf+`"`) {
					t.Errorf("a form without the CSRF token: %s", form)
				}
			}

			if got := b.do("POST", "/admin/drift/"+telefon.ID+"/declare", url.Values{"category": {"contact"}}); got.status != http.StatusForbidden {
				t.Errorf("declare without the form token: %d", got.status)
			}
			if got, _ := app.Drift.Get(ctx, telefon.ID); got.State != drift.Open {
				t.Fatalf("a post without the token changed the finding: %s", got.State)
			}
			if got := b.do("POST", "/admin/drift/"+kontakt.ID+"/dismiss", url.Values{"csrf": {csrf}, "note": {" "}}); got.status != http.StatusBadRequest ||
				!strings.Contains(got.body, "why the column is not personal data") {
				t.Errorf("dismiss without a reason: %d %.300s", got.status, got.body)
			}

			got := b.do("POST", "/admin/drift/"+telefon.ID+"/declare", url.Values{"csrf": {csrf}, "category": {"contact"}})
			if got.status != http.StatusOK || !strings.Contains(got.body, "signups.telefon is declared") || !strings.Contains(got.body, "Declared, waiting for the dataset file") {
				t.Fatalf("declare: %d %.800s", got.status, got.body)
			}
			got = b.do("POST", "/admin/drift/"+kontakt.ID+"/dismiss", url.Values{"csrf": {csrf}, "note": {"holds test fixtures"}})
			if got.status != http.StatusOK || !strings.Contains(got.body, "later scans leave it alone") || !strings.Contains(got.body, "holds test fixtures") ||
				!strings.Contains(got.body, "No undeclared personal data was found") {
				t.Fatalf("dismiss: %d %.800s", got.status, got.body)
			}
			if got := b.do("POST", "/admin/drift/"+kontakt.ID+"/declare", url.Values{"csrf": {csrf}, "category": {"contact"}}); got.status != http.StatusConflict {
				t.Errorf("declaring a dismissed finding: %d", got.status)
			}
			for _, action := range []string{"drift.declare", "drift.dismiss"} {
				p, err := app.Audit.Search(ctx, audit.Query{Action: action})
				if err != nil || len(p.Entries) != 1 || p.Entries[0].Actor != audit.Staff(officer.ID) {
					t.Errorf("%s in the audit log: %+v %v", action, p.Entries, err)
				}
			}
			if de := b.do("GET", "/admin/drift?lang=de", nil); !strings.Contains(de.body, "Nicht deklarierte personenbezogene Daten") || strings.Contains(de.body, "Declared, waiting") {
				t.Errorf("German page: %.500s", de.body)
			}
		})
	}
}

// TestConsoleTrackerDrift: an undeclared tracker a stored website scan
// found is a drift finding on the console's drift page, with a form to
// declare it with a purpose and a vendor; declaring it assigns the tracker
// (as the scanner's page does) and the next scan, which sees it assigned,
// closes the finding. A second scan does not list it twice.
func TestConsoleTrackerDrift(t *testing.T) {
	f := newConsoleFixture(t, db.SQLite)
	app, ctx := f.srv.App, context.Background()
	pixel := scanner.Tracker{Kind: scanner.KindCookie, Name: "_px", Domain: "ads.example", ThirdParty: true,
		Class: scanner.Classification{Source: scanner.SourceUnclassified}}
	for range 2 {
		if _, err := app.Scanner.Record(ctx, &scanner.Report{Property: "demo", Trackers: []scanner.Tracker{pixel}}, scanner.TriggerCLI); err != nil {
			t.Fatal(err)
		}
	}
	open, err := app.Drift.OpenFindings(ctx)
	if err != nil || len(open) != 1 || !open[0].Tracker() || open[0].System != "site:demo" {
		t.Fatalf("open findings %+v, %v; want the one tracker", open, err)
	}
	b, _ := f.browserFor(t, staff.RolePrivacyOfficer)
	page := b.do("GET", "/admin/drift?lang=en", nil)
	if page.status != http.StatusOK || !strings.Contains(page.body, "<code>_px @ ads.example</code>") || !strings.Contains(page.body, `name="purpose"`) {
		t.Fatalf("drift page: %d %.3000s", page.status, page.body)
	}
	csrf := b.formToken("/admin/drift")
	if got := b.do("POST", "/admin/drift/"+open[0].ID+"/declare", url.Values{"csrf": {csrf}, "purpose": {"nonsense"}}); got.status != http.StatusBadRequest {
		t.Fatalf("declare with an unknown purpose: %d", got.status)
	}
	if got := b.do("POST", "/admin/drift/"+open[0].ID+"/declare", url.Values{"csrf": {csrf}, "purpose": {"marketing"}}); got.status != http.StatusOK ||
		!strings.Contains(got.body, "the next scan of the site closes the finding") {
		t.Fatalf("declare: %d %.2000s", got.status, got.body)
	}
	trackers, err := app.Scanner.Trackers(ctx, "demo")
	if err != nil || len(trackers) != 1 || trackers[0].Source != scanner.SourceAssigned || trackers[0].Purpose != "marketing" {
		t.Fatalf("trackers %+v, %v; want _px assigned to marketing", trackers, err)
	}
	pixel.Class = scanner.Classification{Source: scanner.SourceAssigned, Purpose: "marketing"}
	if _, err := app.Scanner.Record(ctx, &scanner.Report{Property: "demo", Trackers: []scanner.Tracker{pixel}}, scanner.TriggerCLI); err != nil {
		t.Fatal(err)
	}
	if got, err := app.Drift.Get(ctx, open[0].ID); err != nil || got.State != drift.Closed || got.ClosedReason != drift.ClosedDeclaredInFile {
		t.Fatalf("after the next scan: %+v, %v; want closed", got, err)
	}
}
