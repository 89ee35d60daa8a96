package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/apikey"
	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/staff"
)

var revealSecret = regexp.MustCompile(`stw_reveal_[A-Za-z0-9_-]+`)

// TestConsoleRevealKeys: the console is the other way to make a reveal
// key. Only a role with the settings permission opens the page; a reveal
// key needs a fresh sign-in; the key is shown once, works, and is recorded
// under the administrator with its id and label; revoking it is recorded too.
func TestConsoleRevealKeys(t *testing.T) {
	for _, dialect := range []db.Dialect{db.SQLite, db.Postgres} {
		t.Run(string(dialect), func(t *testing.T) {
			f := newConsoleFixture(t, dialect)
			app, ctx := f.srv.App, context.Background()
			for _, role := range []staff.Role{staff.RolePrivacyOfficer, staff.RoleSupport} {
				b, _ := f.browserFor(t, role)
				if got := b.do("GET", "/admin/keys", nil); got.status != http.StatusForbidden {
					t.Errorf("%s opens the API keys page: %d", role, got.status)
				}
			}
			b, admin := f.browserFor(t, staff.RoleAdmin)
			page := b.do("GET", "/admin/keys", nil)
			if page.status != 200 || !strings.Contains(page.body, "Make a key") || !strings.Contains(page.body, "reveal: reads customers") {
				t.Fatalf("keys page: %d %.500s", page.status, page.body)
			}
			csrf := b.formToken("/admin/keys")
			makeKey := func() answer {
				return b.do("POST", "/admin/keys", url.Values{"csrf": {csrf}, "scope": {"reveal"}, "label": {"refund desk"}})
			}
			if got := b.do("POST", "/admin/keys", url.Values{"scope": {"reveal"}, "label": {"refund desk"}}); got.status != http.StatusForbidden {
				t.Fatalf("without the form token: %d", got.status)
			}

			// A sign-in older than 15 minutes must be confirmed first.
			if _, err := app.DB.Exec(`UPDATE staff_sessions SET authenticated_at = authenticated_at - $1 WHERE staff_id = $2`,
				(16 * time.Minute).Microseconds(), admin.ID); err != nil {
				t.Fatal(err)
			}
			if got := makeKey(); got.status != http.StatusSeeOther || !strings.HasPrefix(got.header.Get("Location"), "/admin/reauth") || revealSecret.MatchString(got.body) {
				t.Fatalf("stale sign-in: %d %s", got.status, got.header.Get("Location"))
			}
			keys, _ := app.Keys.List(ctx)
			for _, k := range keys {
				if k.Scope == apikey.ScopeReveal {
					t.Fatal("a reveal key was made without a fresh sign-in")
				}
			}
			code, _ := staff.TOTPCode(admin.TOTPSecret, time.Now().Add(30*time.Second)) // this step's code was used to sign in
			if got := b.do("POST", "/admin/reauth", url.Values{"csrf": {csrf}, "password": {staffPassword}, "code": {code},
				"next": {"/admin/keys"}}); got.status != http.StatusSeeOther || got.header.Get("Location") != "/admin/keys" {
				t.Fatalf("reauth: %d %.300s", got.status, got.body)
			}
			got := makeKey()
			secret := revealSecret.FindString(got.body)
			if got.status != http.StatusCreated || secret == "" || got.header.Get("Cache-Control") != "no-store" {
				t.Fatalf("make key: %d %.500s", got.status, got.body)
			}
			if again := b.do("GET", "/admin/keys", nil); strings.Contains(again.body, secret) || !strings.Contains(again.body, "refund desk") {
				t.Fatal("the secret is shown again, or the key is not listed")
			}
			key, err := app.Keys.Check(ctx, secret)
			if err != nil || key.Scope != apikey.ScopeReveal {
				t.Fatalf("the key does not work: %v", err)
			}
			entries, err := app.Audit.Search(ctx, audit.Query{Action: "api_key.create", Target: audit.Target{Kind: audit.KindAPIKey, ID: key.ID}})
			if err != nil || len(entries.Entries) != 1 || entries.Entries[0].Actor != audit.Staff(admin.ID) ||
				!strings.Contains(entries.Entries[0].Details.String(), `"label":"refund desk"`) || strings.Contains(entries.Entries[0].Details.String(), secret) {
				t.Fatalf("creation not recorded: %+v %v", entries.Entries, err)
			}

			if got := b.do("POST", "/admin/keys/"+key.ID+"/revoke", url.Values{"csrf": {csrf}}); got.status != http.StatusSeeOther {
				t.Fatalf("revoke: %d %.300s", got.status, got.body)
			}
			if _, err := app.Keys.Check(ctx, secret); err == nil {
				t.Fatal("the revoked key still works")
			}
			entries, err = app.Audit.Search(ctx, audit.Query{Action: "api_key.revoke", Target: audit.Target{Kind: audit.KindAPIKey, ID: key.ID}})
			if err != nil || len(entries.Entries) != 1 || entries.Entries[0].Actor != audit.Staff(admin.ID) {
				t.Fatalf("revocation not recorded: %+v %v", entries.Entries, err)
			}
			if page := b.do("GET", "/admin/keys", nil); !strings.Contains(page.body, "revoked ") {
				t.Fatalf("the list does not show the revocation: %.500s", page.body)
			}
		})
	}
}
