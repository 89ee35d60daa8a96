package web_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/staff"
)

// TestConsoleForms: an administrator declares and changes a property's
// form in the console, on both stores; another role and a form without the
// session's token are refused; each write is recorded in the audit log
// under the staff member; a refused form marks its inputs with the
// problems in the staff member's language and keeps what was typed.
func TestConsoleForms(t *testing.T) {
	for _, dialect := range []db.Dialect{db.SQLite, db.Postgres} {
		t.Run(string(dialect), func(t *testing.T) {
			f := newConsoleFixture(t, dialect)
			app, ctx := f.srv.App, context.Background()
			list := "/admin/catalog/properties/demo/forms"
			with := func(v url.Values, csrf string) url.Values {
				out := url.Values{"csrf": {csrf}}
				for k, vs := range v {
					out[k] = vs
				}
				return out
			}
			create := url.Values{"id": {"checkout"}, "name": {"Checkout"}, "purposes": {"marketing", "analytics"}}
			exists := func() bool { _, err := app.Consent.Form("demo", "checkout"); return err == nil }

			other, _ := f.browserFor(t, staff.RoleSecurityOfficer)
			for _, path := range []string{list, list + "/new"} {
				if got := other.do("GET", path, nil); got.status != http.StatusForbidden {
					t.Errorf("a security officer opens %s: %d", path, got.status)
				}
			}
			if got := other.do("POST", list, with(create, other.formToken("/admin/catalog"))); got.status != http.StatusForbidden || exists() {
				t.Fatalf("a security officer declares a form: %d", got.status)
			}

			b, who := f.browserFor(t, staff.RoleAdmin)
			if page := b.do("GET", "/admin/catalog/properties", nil); !strings.Contains(page.body, `href="`+list+`"`) {
				t.Error("the properties' list does not link to their forms")
			}
			newPage := b.do("GET", list+"/new", nil)
			if newPage.status != http.StatusOK || strings.Contains(newPage.body, `value="necessary"`) || !strings.Contains(newPage.body, `value="marketing"`) {
				t.Fatalf("new form page: %d %.1500s", newPage.status, newPage.body)
			}
			token := b.formToken(list + "/new")
			if got := b.do("POST", list, with(create, "")); got.status != http.StatusForbidden || exists() {
				t.Fatalf("declared without the token: %d", got.status)
			}
			got := b.do("POST", list, with(create, token))
			if got.status != http.StatusSeeOther || got.header.Get("Location") != list+"?saved=checkout" || !exists() {
				t.Fatalf("declare: %d %s %.500s", got.status, got.header.Get("Location"), got.body)
			}
			page := html.UnescapeString(b.do("GET", got.header.Get("Location"), nil).body)
			if !strings.Contains(page, "Saved checkout") || !strings.Contains(page, `/form.js?p=demo&f=checkout`) || !strings.Contains(page, "<div data-steward-form></div>") {
				t.Errorf("the list does not show the form and how to embed it: %.2000s", page)
			}
			if again := b.do("POST", list, with(create, token)); again.status != http.StatusConflict || !invalidInput(again.body, "id") {
				t.Errorf("declaring it again: %d, want 409 with the id marked", again.status)
			}
			if got := b.do("POST", list+"/checkout", with(url.Values{"name": {"Checkout page"}, "purposes": {"marketing"}}, token)); got.status != http.StatusSeeOther {
				t.Fatalf("change: %d %.800s", got.status, got.body)
			}
			if fo, err := app.Consent.Form("demo", "checkout"); err != nil || fo.Name != "Checkout page" || !slices.Equal(fo.Purposes, []string{"marketing"}) {
				t.Errorf("stored %+v %v", fo, err)
			}
			for _, verb := range []string{"create", "update"} {
				entries, err := app.Audit.Search(ctx, audit.Query{Action: "catalog.form." + verb, Target: audit.Target{Kind: "form", ID: "demo/checkout"}})
				if err != nil || len(entries.Entries) != 1 || entries.Entries[0].Actor != audit.Staff(who.ID) {
					t.Errorf("%s not recorded under the staff member: %+v %v", verb, entries.Entries, err)
				}
			}

			// Refused, in German: the purposes asked and the name.
			bad := url.Values{"id": {"Sign Up"}, "name": {""}, "purposes": {"necessary"}}
			refused := b.do("POST", list+"?lang=de", with(bad, token))
			body := html.UnescapeString(refused.body)
			if refused.status != http.StatusBadRequest || !invalidInput(refused.body, "id") || !invalidInput(refused.body, "name") ||
				!strings.Contains(body, "ist notwendig: Ein Formular fragt nicht danach") || !strings.Contains(body, `value="Sign Up"`) {
				t.Fatalf("bad form in German: %d %.3000s", refused.status, body)
			}
		})
	}
}
