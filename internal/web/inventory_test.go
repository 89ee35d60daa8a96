package web_test

import (
	"context"
	"encoding/csv"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/staff"
)

// TestInventoryAPI: the data map and the record of processing answer an
// admin key as the OpenAPI document describes them, as JSON and as CSV; a
// key of any other scope, or none, is refused.
func TestInventoryAPI(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, env *testEnv) {
		env.run(t, []scenario{
			{name: "map", method: "GET", url: "/v1/inventory", key: "admin", status: 200,
				expect: []string{`"key":"steward.vault"`, `"key":"steward.ledger"`, `"key":"steward.archives"`, `"key":"adnet"`, `"gaps":[`}},
			{name: "record as JSON", method: "GET", url: "/v1/inventory/ropa", key: "admin", status: 200,
				expect: []string{`"controller":{"name":`, `"activities":[`, `"purpose":"analytics"`}},
			{name: "record as JSON, said so", method: "GET", url: "/v1/inventory/ropa?format=json", key: "admin", status: 200,
				expect: []string{`"activities":[`}},
			{name: "record as CSV", method: "GET", url: "/v1/inventory/ropa?format=csv", key: "admin", status: 200,
				expect:       []string{"section,key,name,legal_basis", "activity,analytics,", "system,steward.vault,vault"},
				expectHeader: map[string]string{"Content-Type": "text/csv", "Content-Disposition": "record-of-processing-"}},
			{name: "record in another format", method: "GET", url: "/v1/inventory/ropa?format=xml", key: "admin", status: 400, fields: []string{"format"}},
			{name: "map with a decide key", method: "GET", url: "/v1/inventory", key: "decide", status: 403},
			{name: "map with an ingest key", method: "GET", url: "/v1/inventory", key: "ingest", status: 403},
			{name: "map with a record key", method: "GET", url: "/v1/inventory", key: "record", status: 403},
			{name: "record with a decide key", method: "GET", url: "/v1/inventory/ropa?format=csv", key: "decide", status: 403, forbid: []string{"section,"}},
			{name: "map without a key", method: "GET", url: "/v1/inventory", status: 401},
		})
	})
}

// TestConsoleInventory: a privacy officer sees the data map, fills in a
// system's facts through a form that carries the CSRF token (a form
// without it, or from another role, changes nothing), sees a refused form
// again as typed with the problem next to its field, and prints or
// downloads the record; each save is audited under the officer's name.
func TestConsoleInventory(t *testing.T) {
	t.Parallel()
	for _, dialect := range []db.Dialect{db.SQLite, db.Postgres} {
		t.Run(string(dialect), func(t *testing.T) {
			f := newConsoleFixture(t, dialect)
			officer, account := f.browserFor(t, staff.RolePrivacyOfficer)
			page := officer.do("GET", "/admin/inventory", nil)
			for _, want := range []string{"steward.vault", "What to add next", "System steward.vault has no owner", `href="/admin/inventory/systems/steward.vault"`,
				"Financial data", `href="/admin/catalog/categories"`, "/admin/inventory/ropa"} {
				if page.status != http.StatusOK || !strings.Contains(page.body, want) {
					t.Fatalf("data map: %d, lacks %q: %.400s", page.status, want, page.body)
				}
			}
			if strings.Contains(page.body, f.secrets[0]) {
				t.Fatal("the data map shows a vault value")
			}
			path := "/admin/inventory/systems/steward.vault"
			token := officer.formToken(path)
			valid := url.Values{"owner": {"Privacy team"}, "location": {"de"}, "description": {"Sealed customer fields"},
				"security_measures": {"=cmd|' /C calc'!A0\nPer-customer keys"}}

			// Without the CSRF token, or as support: nothing is saved.
			if got := officer.do("POST", path, valid); got.status != http.StatusForbidden {
				t.Errorf("post without CSRF: %d", got.status)
			}
			support, _ := f.browserFor(t, staff.RoleSupport)
			supportForm := url.Values{"csrf": {support.formToken("/admin/training")}}
			for k, v := range valid {
				supportForm[k] = v
			}
			if got := support.do("POST", path, supportForm); got.status != http.StatusForbidden {
				t.Errorf("post as support: %d", got.status)
			}
			if got := support.do("GET", "/admin/inventory", nil); got.status != http.StatusForbidden {
				t.Errorf("data map as support: %d", got.status)
			}

			invalid := url.Values{"csrf": {token}, "owner": {"Privacy team"}, "location": {"Germany"}}
			got := officer.do("POST", path, invalid)
			if got.status != http.StatusBadRequest || !strings.Contains(got.body, "Nothing was saved") ||
				!strings.Contains(got.body, `id="location-error">Write a two-letter country code`) || !strings.Contains(got.body, `value="Germany"`) ||
				!strings.Contains(got.body, `aria-invalid="true"`) {
				t.Fatalf("invalid form: %d %.600s", got.status, got.body)
			}
			valid.Set("csrf", token)
			got = officer.do("POST", path, valid)
			if got.status != http.StatusSeeOther || !strings.HasPrefix(got.header.Get("Location"), "/admin/inventory?saved=steward.vault") {
				t.Fatalf("save: %d %q", got.status, got.header.Get("Location"))
			}
			page = officer.do("GET", got.header.Get("Location"), nil)
			if !strings.Contains(page.body, "Saved what the data map says of steward.vault") || !strings.Contains(page.body, "Privacy team") ||
				strings.Contains(page.body, "System steward.vault has no owner") {
				t.Errorf("after saving: %.600s", page.body)
			}
			entries, err := f.srv.App.Audit.Search(context.Background(), audit.Query{Action: "inventory.system.update"})
			if err != nil || len(entries.Entries) != 1 || entries.Entries[0].Actor != audit.Staff(account.ID) || entries.Entries[0].Target.ID != "steward.vault" {
				t.Fatalf("audit = %+v, %v; want one entry by the officer", entries, err)
			}

			ropa := officer.do("GET", "/admin/inventory/ropa", nil)
			for _, want := range []string{"Record of processing activities", "Legal basis", `href="/admin/inventory/ropa.csv"`, "Privacy team", "Per-customer keys"} {
				if ropa.status != http.StatusOK || !strings.Contains(ropa.body, want) {
					t.Errorf("record page lacks %q: %d", want, ropa.status)
				}
			}
			download := officer.do("GET", "/admin/inventory/ropa.csv", nil)
			if download.status != http.StatusOK || !strings.HasPrefix(download.header.Get("Content-Type"), "text/csv") {
				t.Fatalf("CSV: %d %q", download.status, download.header.Get("Content-Type"))
			}
			rows, err := csv.NewReader(strings.NewReader(download.body)).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			for _, row := range rows {
				if row[1] == "steward.vault" && !strings.HasPrefix(row[13], "'=cmd") {
					t.Errorf("the measures cell is not defused: %q", row[13])
				}
			}
			german := officer.do("GET", "/admin/inventory?lang=de", nil)
			if !strings.Contains(german.body, "Datenlandkarte") || !strings.Contains(german.body, "Was noch fehlt") || strings.Contains(german.body, "What to add next") {
				t.Errorf("German data map: %.300s", german.body)
			}
		})
	}
}
