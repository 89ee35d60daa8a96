package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/staff"
)

// TestConsoleIncidents: the register is the security officers' (the
// permission "incidents"); every other role is refused its pages and
// forms, and every staff member reaches the short report form from any
// page, which opens a draft and says that no email went (this server has
// no SMTP). An officer records an incident, computes who it affected
// (counts only: the page names no customer and shows no value), assesses
// it (financial data raises the risk), moves it, sees its clocks and its
// timeline; a form without the CSRF token is refused.
func TestConsoleIncidents(t *testing.T) {
	for _, dialect := range []db.Dialect{db.SQLite, db.Postgres} {
		t.Run(string(dialect), func(t *testing.T) {
			f := newConsoleFixture(t, dialect)

			support, _ := f.browserFor(t, staff.RoleSupport)
			training := support.do("GET", "/admin/training", nil)
			if !strings.Contains(training.body, `href="/admin/report-incident"`) || strings.Contains(training.body, `href="/admin/incidents"`) {
				t.Fatalf("support's pages: the report link missing or the register shown\n%.2000s", training.body)
			}
			csrf := support.formToken("/admin/report-incident")
			got := support.do("POST", "/admin/report-incident", url.Values{"csrf": {csrf}, "title": {"USB stick lost on the train"},
				"description": {"It held a customer export from March."}})
			if got.status != http.StatusCreated || !strings.Contains(got.body, "no email could be sent") {
				t.Fatalf("report: %d %.1500s", got.status, got.body)
			}
			if got := support.do("POST", "/admin/report-incident", url.Values{"title": {"no token"}}); got.status != http.StatusForbidden {
				t.Fatalf("report without the CSRF token: %d", got.status)
			}

			for _, role := range []staff.Role{staff.RoleSupport, staff.RoleAnalyst, staff.RolePrivacyOfficer, staff.RoleAdmin} {
				b, _ := f.browserFor(t, role)
				token := b.formToken("/admin/report-incident")
				for _, try := range []struct{ method, path string }{
					{"GET", "/admin/incidents"}, {"POST", "/admin/incidents"}, {"GET", "/admin/incidents/inc_x"},
					{"POST", "/admin/incidents/inc_x/status"}, {"POST", "/admin/incidents/inc_x/affected"},
				} {
					var form url.Values
					if try.method == "POST" {
						form = url.Values{"csrf": {token}, "title": {"x"}, "kind": {"integrity"}, "status": {"closed"}, "method": {"upload"}, "external_ids": {"cust-1"}}
					}
					if got := b.do(try.method, try.path, form); got.status != http.StatusForbidden || strings.Contains(got.body, "USB stick") {
						t.Errorf("%s: %s %s = %d, want 403", role, try.method, try.path, got.status)
					}
				}
			}

			officer, _ := f.browserFor(t, staff.RoleSecurityOfficer)
			list := officer.do("GET", "/admin/incidents", nil)
			if list.status != http.StatusOK || !strings.Contains(list.body, "USB stick lost on the train") || !strings.Contains(list.body, "draft (suspected)") {
				t.Fatalf("register: %d %.2000s", list.status, list.body)
			}
			csrf = officer.formToken("/admin/incidents")
			if got := officer.do("POST", "/admin/incidents", url.Values{"title": {"no token"}, "kind": {"integrity"}}); got.status != http.StatusForbidden {
				t.Fatalf("create without the CSRF token: %d", got.status)
			}
			if got := officer.do("POST", "/admin/incidents", url.Values{"csrf": {csrf}, "title": {" "}, "kind": {"integrity"}}); got.status != http.StatusBadRequest ||
				!strings.Contains(got.body, "Give a title of one line") {
				t.Fatalf("create without a title: %d %.1500s", got.status, got.body)
			}
			created := officer.do("POST", "/admin/incidents", url.Values{"csrf": {csrf}, "title": {"Export bucket left public"}, "kind": {"confidentiality"},
				"categories": {"financial"}, "description": {"A script changed the bucket policy."}})
			id := strings.TrimPrefix(created.header.Get("Location"), "/admin/incidents/")
			if created.status != http.StatusSeeOther || !strings.HasPrefix(id, "inc_") {
				t.Fatalf("create: %d %q %.1000s", created.status, created.header.Get("Location"), created.body)
			}
			at := "/admin/incidents/" + id
			page := officer.do("GET", at, nil)
			for _, want := range []string{"Export bucket left public", "GDPR Art. 33(1)", "Deadlines", "Risk assessment", "Who was affected", "Timeline", "recorded"} {
				if !strings.Contains(page.body, want) {
					t.Fatalf("incident page lacks %q\n%.3000s", want, page.body)
				}
			}
			if got := officer.do("POST", at+"/affected", url.Values{"csrf": {csrf}, "method": {"upload"}, "external_ids": {"cust-1\ncust-nobody"}}); got.status != http.StatusSeeOther {
				t.Fatalf("compute: %d %.1500s", got.status, got.body)
			}
			if got := officer.do("POST", at+"/affected", url.Values{"csrf": {csrf}, "method": {"audit"}, "actor": {"someone"}, "from": {"2026-01-01T00:00"}, "to": {"2026-01-02T00:00"}}); got.status != http.StatusBadRequest ||
				!strings.Contains(got.body, "staff:ID or api_key:ID") {
				t.Fatalf("compute by a bad actor: %d %.1500s", got.status, got.body)
			}
			if got := officer.do("POST", at+"/assessment", url.Values{"csrf": {csrf}, "risk": {"risk"}, "reasons": {"card data in the export"}}); got.status != http.StatusSeeOther {
				t.Fatalf("assess: %d %.1500s", got.status, got.body)
			}
			if got := officer.do("POST", at+"/status", url.Values{"csrf": {csrf}, "status": {"closed"}}); got.status != http.StatusConflict {
				t.Fatalf("close an open breach with a risk: %d", got.status)
			}
			if got := officer.do("POST", at+"/status", url.Values{"csrf": {csrf}, "status": {"assessed"}, "note": {"DPO agrees"}}); got.status != http.StatusSeeOther {
				t.Fatalf("move: %d %.1500s", got.status, got.body)
			}
			if got := officer.do("POST", at+"/note", url.Values{"csrf": {csrf}, "note": {"bucket made private"}}); got.status != http.StatusSeeOther {
				t.Fatalf("note: %d", got.status)
			}
			page = officer.do("GET", at+"?lang=en", nil)
			for _, want := range []string{"high risk", "1 customers", "uploaded list", ">financial<", "1 identifiers matched nobody", "bucket made private",
				"GDPR Art. 34(1)", "Mark as contained"} {
				if !strings.Contains(page.body, want) {
					t.Errorf("incident page lacks %q", want)
				}
			}
			for _, never := range append([]string{"cust-1", "cust-nobody"}, f.secrets...) {
				if strings.Contains(page.body, never) {
					t.Errorf("the incident page shows %q", never)
				}
			}
			if de := officer.do("GET", at+"?lang=de", nil); !strings.Contains(de.body, "Risikobewertung") || !strings.Contains(de.body, "Fristen") {
				t.Errorf("the incident page in German: %.500s", de.body)
			}
		})
	}
}
