package web_test

import (
	"context"
	"html"
	"net/http"
	"strings"
	"testing"

	"github.com/steward-dev/steward/internal/apikey"
	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/staff"
)

// TestConsoleViewIsOneAccess replays a staff member reloading a customer's
// page: it recorded one access per page view, so the customer's list of
// accesses filled with reloads. Now views within CustomerViewWindow of one
// sign-in are one access; another staff member's view is another.
func TestConsoleViewIsOneAccess(t *testing.T) {
	for _, dialect := range []db.Dialect{db.SQLite, db.Postgres} {
		t.Run(string(dialect), func(t *testing.T) {
			ctx := context.Background()
			f := newConsoleFixture(t, dialect)
			officer, a := f.browserFor(t, staff.RolePrivacyOfficer)
			other, b := f.browserFor(t, staff.RoleSupport)
			for range 3 {
				if got := officer.do("GET", "/admin/customers/cust-1", nil); got.status != http.StatusOK {
					t.Fatalf("view: %d", got.status)
				}
			}
			if got := other.do("GET", "/admin/customers/cust-1", nil); got.status != http.StatusOK {
				t.Fatalf("view: %d", got.status)
			}
			for _, who := range []staff.Created{a, b} {
				page, err := f.srv.App.Audit.Search(ctx, audit.Query{Actor: audit.Staff(who.ID), Action: "customer.view", Target: audit.Subject("cust-1")})
				if err != nil {
					t.Fatal(err)
				}
				if n := len(page.Entries); n != 1 {
					t.Errorf("%s: %d recorded views, want 1", who.Role, n)
				}
			}
		})
	}
}

// TestConsoleNamesPeopleAndKeys: the customer page, the audit log and the
// keys page name staff by name and role and keys by label, and say what
// an entry records in a sentence, not as ids and JSON.
func TestConsoleNamesPeopleAndKeys(t *testing.T) {
	ctx := context.Background()
	f := newConsoleFixture(t, db.SQLite)
	app := f.srv.App
	officer, a := f.browserFor(t, staff.RolePrivacyOfficer)
	admin, _ := f.browserFor(t, staff.RoleAdmin)
	security, _ := f.browserFor(t, staff.RoleSecurityOfficer)
	if got := officer.do("GET", "/admin/customers/cust-1", nil); got.status != http.StatusOK {
		t.Fatalf("view: %d", got.status)
	}
	_, key, err := app.Keys.CreateRecorded(ctx, app.Audit, audit.System(), "cli", apikey.ScopeDecide, "", "checkout service")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := app.Audit.Append(ctx, audit.Entry{Actor: audit.APIKey(key.ID), Action: "vault.reveal", Target: audit.Subject("cust-1"),
		Details: audit.MustDetails(map[string]any{"fields": []string{"iban"}, "purpose": "refund the order", "ticket": "T-7", "via": "api"})}); err != nil {
		t.Fatal(err)
	}
	pages := []struct {
		name   string
		b      *browser
		path   string
		want   []string
		reject []string
	}{
		{"customer", officer, "/admin/customers/cust-1",
			[]string{a.Name + " (privacy officer)", "Opened the customer's record, every field masked.",
				"API key “checkout service” (decide)", "Revealed the iban field for “refund the order” (ticket T-7) through the API."},
			[]string{">" + "staff:" + a.ID, `{"masked":true}`, `"fields"`, ">api_key:"}},
		{"audit log", security, "/admin/audit?subject=cust-1",
			[]string{a.Name + " (privacy officer)", "Opened the customer's record, every field masked.", "API key “checkout service” (decide)",
				// The registry's description beside the action, and the
				// registered actions offered as the filter's choices.
				"<code>vault.reveal</code>: A staff member or a reveal key read a customer's sealed field in plain text",
				`<datalist id="audit-actions">`, `<option value="webhook.replay_dead">`},
			[]string{">staff:" + a.ID + "<", `{&#34;masked&#34;:true}`, `{"masked":true}`}},
		{"keys", admin, "/admin/keys", []string{"<td>checkout service</td>"}, nil},
	}
	for _, p := range pages {
		t.Run(p.name, func(t *testing.T) {
			got := p.b.do("GET", p.path, nil)
			body := html.UnescapeString(got.body)
			if got.status != http.StatusOK {
				t.Fatalf("%s: %d", p.path, got.status)
			}
			for _, w := range p.want {
				if !strings.Contains(body, w) {
					t.Errorf("%s lacks %q", p.path, w)
				}
			}
			for _, r := range p.reject {
				if strings.Contains(got.body, r) || strings.Contains(body, r) {
					t.Errorf("%s shows %q", p.path, r)
				}
			}
		})
	}
}
