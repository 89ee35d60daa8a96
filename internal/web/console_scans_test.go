package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/scanner"
	"github.com/steward-dev/steward/internal/scanner/scantest"
	"github.com/steward-dev/steward/internal/staff"
)

// TestConsoleScans: the scans pages are the inventory permission's; a
// scan's page lists its violations and what to classify, with forms that
// carry the CSRF token; an assignment needs the token and a catalog
// purpose, and is recorded under the officer's name; the declaration is
// served as JSON and as HTML in each language.
func TestConsoleScans(t *testing.T) {
	for _, dialect := range []db.Dialect{db.SQLite, db.Postgres} {
		t.Run(string(dialect), func(t *testing.T) {
			f := newConsoleFixture(t, dialect)
			app, ctx := f.srv.App, context.Background()
			scantest.Seed(t, app.Consent)
			at := time.Now().UTC()
			run, err := app.Scanner.Record(ctx, &scanner.Report{Property: scantest.Property, StartedAt: at, FinishedAt: at,
				Pages: []string{"http://127.0.0.1/"}, States: []string{"none", "reject", "accept", "only:analytics", "only:marketing"},
				Violations: []scanner.Violation{{State: "reject", Page: "http://127.0.0.1/", Kind: scanner.KindCookie, Name: "_fbp", Domain: "127.0.0.1", Purpose: "marketing", Reason: scanner.ViolationRefused}},
				Trackers: []scanner.Tracker{
					{Kind: scanner.KindCookie, Name: "_fbp", Domain: "127.0.0.1", Lifetime: 90 * 86400, Class: scanner.Classification{Purpose: "marketing", Platform: "Facebook", Source: scanner.SourceOCD}, States: []string{"reject"}},
					{Kind: scanner.KindSessionStorage, Name: "stats_visit", Domain: "http://127.0.0.1", Class: scanner.Classification{Source: scanner.SourceUnclassified}, Suggested: "analytics", States: []string{"only:analytics"}},
				}}, scanner.TriggerCLI)
			if err != nil {
				t.Fatal(err)
			}
			for _, role := range []staff.Role{staff.RoleSupport, staff.RoleAnalyst, staff.RoleSecurityOfficer, staff.RoleAdmin} {
				b, _ := f.browserFor(t, role)
				if got := b.do("GET", "/admin/scans/"+run.ID, nil); got.status != http.StatusForbidden || strings.Contains(got.body, "stats_visit") {
					t.Errorf("%s opens a scan: %d", role, got.status)
				}
				csrf := b.formToken("/admin/training")
				if got := b.do("POST", "/admin/scans/"+run.ID+"/assign", url.Values{"csrf": {csrf}, "kind": {"session_storage"}, "name": {"stats_visit"},
					"domain": {"http://127.0.0.1"}, "purpose": {"analytics"}}); got.status != http.StatusForbidden {
					t.Errorf("%s assigns a tracker: %d", role, got.status)
				}
			}

			b, officer := f.browserFor(t, staff.RolePrivacyOfficer)
			list := b.do("GET", "/admin/scans", nil)
			if list.status != http.StatusOK || !strings.Contains(list.body, `href="/admin/scans/`+run.ID+`"`) || !strings.Contains(list.body, `href="/admin/scans"`) {
				t.Fatalf("scans page: %d %.600s", list.status, list.body)
			}
			page := b.do("GET", "/admin/scans/"+run.ID, nil)
			for _, want := range []string{"<code>_fbp</code>", "after “Reject all”", "its purpose was refused", "It appeared only with analytics granted alone",
				`action="/admin/scans/` + run.ID + `/assign"`, `/admin/scans/shop/declaration?lang=de`} {
				if !strings.Contains(page.body, want) {
					t.Errorf("scan page lacks %q", want)
				}
			}
			csrf := b.formToken("/admin/scans/" + run.ID)
			if !strings.Contains(page.body, `name="csrf" value="`+csrf+`"`) {
				t.Error("the assign form lacks the CSRF token")
			}
			assign := func(token, purpose string) answer {
				return b.do("POST", "/admin/scans/"+run.ID+"/assign", url.Values{"csrf": {token}, "kind": {"session_storage"}, "name": {"stats_visit"},
					"domain": {"http://127.0.0.1"}, "purpose": {purpose}})
			}
			if got := assign("", "analytics"); got.status != http.StatusForbidden {
				t.Errorf("assign without the token: %d", got.status)
			}
			if got := assign(csrf, "nope"); got.status != http.StatusBadRequest || !strings.Contains(got.body, "Choose one of the catalog") {
				t.Errorf("assign to an unknown purpose: %d %.300s", got.status, got.body)
			}
			if got := assign(csrf, "analytics"); got.status != http.StatusOK || !strings.Contains(got.body, "stats_visit is assigned to analytics") ||
				!strings.Contains(got.body, "Everything this scan found is classified") {
				t.Errorf("assign: %d %.300s", got.status, got.body)
			}
			entries, err := app.Audit.Search(ctx, audit.Query{Action: "scan.assign"})
			if err != nil || len(entries.Entries) != 1 || entries.Entries[0].Actor != audit.Staff(officer.ID) {
				t.Errorf("audit %+v, %v", entries, err)
			}

			decl := b.do("GET", "/admin/scans/shop/declaration", nil)
			if decl.status != http.StatusOK || !strings.Contains(decl.body, `"stats_visit"`) || !strings.Contains(decl.body, `"key": "analytics"`) {
				t.Errorf("declaration JSON: %d %.500s", decl.status, decl.body)
			}
			if got := b.do("GET", "/admin/scans/shop/declaration?lang=de", nil); got.status != http.StatusOK || !strings.Contains(got.body, "Cookies und ähnliche Technologien") {
				t.Errorf("German declaration: %d %.300s", got.status, got.body)
			}
			if got := b.do("GET", "/admin/scans/shop/declaration?lang=xx", nil); got.status != http.StatusBadRequest {
				t.Errorf("declaration in an unknown language: %d", got.status)
			}
			if got := b.do("POST", "/admin/scans", url.Values{"csrf": {b.formToken("/admin/scans")}, "property": {"nope"}}); got.status != http.StatusNotFound || !strings.Contains(got.body, "The scan did not start") {
				t.Errorf("scan of an unknown property: %d %.300s", got.status, got.body)
			}
		})
	}
}
