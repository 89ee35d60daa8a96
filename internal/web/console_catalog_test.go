package web_test

import (
	"context"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/steward-dev/steward/internal/app/apptest"
	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/staff"
)

// catalogForm is one catalog section of the console and the forms a test
// posts to it.
type catalogForm struct {
	name string
	// role has the section's permission, denied does not.
	role, denied staff.Role
	list, kind   string // the list page and the audit target kind
	key          string // the entry create makes
	create, edit url.Values
	// stored checks the entry after the edit.
	stored func(t *testing.T, app *apptest.Server)
	// bad is refused by the service's validation; invalid are the inputs
	// it must mark, with the words shown; kept is what was typed and must
	// be on the page again.
	bad     url.Values
	invalid map[string]string
	kept    []string
}

func catalogForms() []catalogForm {
	return []catalogForm{
		{
			name: "categories", role: staff.RolePrivacyOfficer, denied: staff.RoleAdmin,
			list: "/admin/catalog/categories", kind: "category", key: "loyalty",
			create: url.Values{"key": {"loyalty"}, "name.en": {"Loyalty points"}, "name.de": {"Treuepunkte"}, "in_house": {"on"},
				"retention_days": {"730"}, "position": {"15"}},
			edit: url.Values{"name.en": {"Loyalty points"}, "name.fr": {"Points de fidélité"}, "special": {"on"},
				"retention_days": {"365"}, "position": {"15"}},
			stored: func(t *testing.T, srv *apptest.Server) {
				c, err := srv.App.Consent.Category("loyalty")
				want := map[string]string{"en": "Loyalty points", "fr": "Points de fidélité"} // de left empty: removed
				if err != nil || !c.Special || c.InHouse || c.RetentionDays != 365 || !reflect.DeepEqual(c.Names, want) {
					t.Errorf("stored %+v %v", c, err)
				}
			},
			bad:     url.Values{"key": {"c-bad"}, "name.en": {"Typed category"}, "retention_days": {"-5"}, "position": {"3"}},
			invalid: map[string]string{"retention_days": "must be between 0"},
			kept:    []string{`value="Typed category"`, `value="-5"`, `value="c-bad"`},
		},
		{
			name: "purposes", role: staff.RoleAdmin, denied: staff.RolePrivacyOfficer,
			list: "/admin/catalog/purposes", kind: "purpose", key: "support_chat",
			create: url.Values{"key": {"support_chat"}, "name.en": {"Support chat"}, "description.en": {"Lets us answer you."},
				"legal_basis": {"legitimate_interest"}, "position": {"5"}, "cookies": {"_chat\n_chat_*"}, "retention_days": {"30"}},
			edit: url.Values{"name.en": {"Support chat"}, "name.de": {"Support-Chat"}, "legal_basis": {"consent"}, "position": {"6"},
				"cookies": {"_chat"}, "retention_days": {"30"}},
			stored: func(t *testing.T, srv *apptest.Server) {
				p, err := srv.App.Consent.Purpose("support_chat")
				if err != nil || p.LegalBasis != consent.BasisConsent || p.Names["de"] != "Support-Chat" || p.Position != 6 ||
					!slices.Equal(p.Cookies, []string{"_chat"}) || p.RetentionDays != 30 || len(p.Descriptions) != 0 {
					t.Errorf("stored %+v %v", p, err)
				}
			},
			bad: url.Values{"key": {"p-bad"}, "name.en": {"Typed purpose"}, "legal_basis": {"contract"}, "necessary": {"on"},
				"sale_or_sharing": {"on"}, "cookies": {"_ok\nbad cookie!"}},
			invalid: map[string]string{"sale_or_sharing": "cannot be a sale or sharing", "cookies": "Line 2: a cookie name"},
			kept:    []string{`value="Typed purpose"`, "bad cookie!", `id="necessary" name="necessary" checked`, `value="contract" selected`},
		},
		{
			name: "communication topics", role: staff.RoleAdmin, denied: staff.RolePrivacyOfficer,
			list: "/admin/catalog/purposes", kind: "purpose", key: "offers",
			create: url.Values{"key": {"offers"}, "name.en": {"Offers"}, "legal_basis": {"consent"}, "kind": {"communication"},
				"channels": {"email", "sms"}, "frequency": {"weekly"}, "position": {"11"}},
			edit: url.Values{"name.en": {"Offers"}, "name.de": {"Angebote"}, "legal_basis": {"consent"}, "kind": {"communication"},
				"channels": {"post"}, "frequency": {"quarterly"}, "position": {"11"}},
			stored: func(t *testing.T, srv *apptest.Server) {
				p, err := srv.App.Consent.Purpose("offers")
				if err != nil || !p.Communication() || !slices.Equal(p.Channels, []consent.Channel{consent.ChannelPost}) || p.Frequency != consent.FrequencyQuarterly {
					t.Errorf("stored %+v %v", p, err)
				}
			},
			bad: url.Values{"key": {"t-bad"}, "name.en": {"Typed topic"}, "legal_basis": {"legitimate_interest"}, "kind": {"communication"},
				"frequency": {"hourly"}},
			invalid: map[string]string{"channel-email": "name at least one channel", "frequency": "must be daily", "legal_basis": "rests on consent"},
			kept:    []string{`value="Typed topic"`, `value="communication" selected`},
		},
		{
			name: "vendors", role: staff.RoleSecurityOfficer, denied: staff.RoleAdmin,
			list: "/admin/catalog/vendors", kind: "vendor", key: "mailer",
			create: url.Values{"key": {"mailer"}, "name": {"Mailer GmbH"}, "purposes": {"marketing"}, "data_categories": {"contact"},
				"country": {"DE"}, "privacy_url": {"https://mailer.example/privacy"}, "transfer_safeguard": {"scc"}},
			edit: url.Values{"name": {"Mailer AG"}, "purposes": {"marketing", "analytics"}, "data_categories": {"contact", "device"},
				"country": {"CH"}, "transfer_safeguard": {"adequacy"}},
			stored: func(t *testing.T, srv *apptest.Server) {
				v, err := srv.App.Consent.Vendor("mailer")
				if err != nil || v.Name != "Mailer AG" || !slices.Equal(v.Purposes, []string{"marketing", "analytics"}) ||
					!slices.Equal(v.DataCategories, []string{"contact", "device"}) || v.Country != "CH" ||
					v.TransferSafeguard != consent.SafeguardAdequacy || v.PrivacyURL != "" {
					t.Errorf("stored %+v %v", v, err)
				}
			},
			bad: url.Values{"key": {"v-bad"}, "name": {"Typed vendor"}, "purposes": {"marketing"}, "country": {"Germany"},
				"privacy_url": {"ftp://v.example"}},
			invalid: map[string]string{"country": "ISO 3166-1", "privacy_url": "absolute http or https URL"},
			kept:    []string{`value="Typed vendor"`, `value="Germany"`, `value="ftp://v.example"`, `value="marketing" checked`},
		},
		{
			name: "properties", role: staff.RoleAdmin, denied: staff.RoleSecurityOfficer,
			list: "/admin/catalog/properties", kind: "property", key: "blog",
			create: url.Values{"key": {"blog"}, "name": {"Blog"}, "domains": {"blog.example\nwww.blog.example"}, "opt_in": {"EU, UK"},
				"opt_out": {"US"}, "default_regime": {"opt_in"}, "default_jurisdiction": {"DE"}, "policy_url": {"https://blog.example/privacy"}},
			edit: url.Values{"name": {"The blog"}, "domains": {"blog.example"}, "opt_in": {"EU"}, "opt_out": {"US\nUS-CA"},
				"default_regime": {"opt_out"}, "default_jurisdiction": {"US-CA"}},
			stored: func(t *testing.T, srv *apptest.Server) {
				p, err := srv.App.Consent.Property("blog")
				want := consent.JurisdictionRules{OptIn: []string{"EU"}, OptOut: []string{"US", "US-CA"}, Default: consent.OptOut}
				if err != nil || p.Name != "The blog" || !slices.Equal(p.Domains, []string{"blog.example"}) ||
					!reflect.DeepEqual(p.JurisdictionRules, want) || p.DefaultJurisdiction != "US-CA" || p.PolicyURL != "" {
					t.Errorf("stored %+v %v", p, err)
				}
			},
			bad: url.Values{"key": {"blog2"}, "name": {"Typed blog"}, "domains": {"ok.example\nNot A Domain"}, "opt_in": {"EU, Narnia"},
				"default_regime": {"opt_in"}},
			invalid: map[string]string{"domains": "Line 2: must be a lowercase host name", "opt_in": "Line 2: &#34;Narnia&#34; is not a country"},
			kept:    []string{`value="Typed blog"`, "ok.example\nNot A Domain", "EU, Narnia"},
		},
		{
			name: "notices", role: staff.RolePrivacyOfficer, denied: staff.RoleSecurityOfficer,
			list: "/admin/catalog/notices", kind: "notice", key: "2027-01",
			create: url.Values{"version": {"2027-01"}, "text.en": {"We keep your data safe."}, "material": {"on"}},
			edit:   url.Values{"text.en": {"We keep your data safe.\r\nWe never sell it."}, "text.es": {"Protegemos sus datos."}}, // browsers post CRLF
			stored: func(t *testing.T, srv *apptest.Server) {
				n, err := srv.App.Consent.Notice(context.Background(), "2027-01")
				want := map[string]string{"en": "We keep your data safe.\nWe never sell it.", "es": "Protegemos sus datos."}
				if err != nil || n.Material || n.PublishedAt != nil || !reflect.DeepEqual(n.Texts, want) {
					t.Errorf("stored %+v %v", n, err)
				}
			},
			bad:     url.Values{"version": {"bad version!"}, "text.en": {"Typed notice"}},
			invalid: map[string]string{"version": "must be 1 to 64 letters"},
			kept:    []string{`value="bad version!"`, "Typed notice"},
		},
	}
}

// invalidInput finds an input marked invalid, by its id.
func invalidInput(body, id string) bool {
	return regexp.MustCompile(`id="` + regexp.QuoteMeta(id) + `"[^>]*aria-invalid="true"`).MatchString(body)
}

// TestConsoleCatalogForms: each catalog section of the console, on both
// stores: a role without its permission is refused, and so is a form
// without the session's CSRF token; an entry is created and edited, each
// write recorded in the audit log under the staff member; a refused form
// shows each problem at its input and keeps what was typed.
func TestConsoleCatalogForms(t *testing.T) {
	for _, dialect := range []db.Dialect{db.SQLite, db.Postgres} {
		t.Run(string(dialect), func(t *testing.T) {
			f := newConsoleFixture(t, dialect)
			app, ctx := f.srv.App, context.Background()
			for _, tc := range catalogForms() {
				t.Run(tc.name, func(t *testing.T) {
					exists := func() bool {
						switch tc.kind {
						case "category":
							_, err := app.Consent.Category(tc.key)
							return err == nil
						case "purpose":
							_, err := app.Consent.Purpose(tc.key)
							return err == nil
						case "vendor":
							_, err := app.Consent.Vendor(tc.key)
							return err == nil
						case "property":
							_, err := app.Consent.Property(tc.key)
							return err == nil
						}
						_, err := app.Consent.Notice(ctx, tc.key)
						return err == nil
					}
					with := func(v url.Values, csrf string) url.Values {
						out := url.Values{"csrf": {csrf}}
						for k, vs := range v {
							out[k] = vs
						}
						return out
					}

					// Denied: the pages and the form, even with a valid token of the session.
					other, _ := f.browserFor(t, tc.denied)
					otherToken := other.formToken("/admin/catalog")
					for _, path := range []string{tc.list, tc.list + "/new"} {
						if got := other.do("GET", path, nil); got.status != http.StatusForbidden {
							t.Errorf("%s opens %s: %d", tc.denied, path, got.status)
						}
					}
					if got := other.do("POST", tc.list, with(tc.create, otherToken)); got.status != http.StatusForbidden || exists() {
						t.Fatalf("%s creates: %d", tc.denied, got.status)
					}

					b, who := f.browserFor(t, tc.role)
					if page := b.do("GET", "/admin/catalog", nil); !strings.Contains(page.body, `href="`+tc.list+`"`) {
						t.Errorf("the catalog's index does not offer %s to %s", tc.list, tc.role)
					}
					token := b.formToken(tc.list + "/new")
					// CSRF: without the token, or with another session's.
					for _, bad := range []string{"", otherToken} {
						if got := b.do("POST", tc.list, with(tc.create, bad)); got.status != http.StatusForbidden || exists() {
							t.Fatalf("created with token %q: %d", bad, got.status)
						}
					}

					got := b.do("POST", tc.list, with(tc.create, token))
					if got.status != http.StatusSeeOther || got.header.Get("Location") != tc.list+"?saved="+url.QueryEscape(tc.key) || !exists() {
						t.Fatalf("create: %d %s %.500s", got.status, got.header.Get("Location"), got.body)
					}
					if list := b.do("GET", got.header.Get("Location"), nil); !strings.Contains(list.body, "Saved "+tc.key) ||
						!strings.Contains(list.body, "<code>"+tc.key+"</code>") {
						t.Errorf("the list does not show the new entry: %.800s", list.body)
					}
					if again := b.do("POST", tc.list, with(tc.create, token)); again.status != http.StatusConflict || !invalidInput(again.body, keyInput(tc.kind)) {
						t.Errorf("creating it again: %d, want 409 with the key marked", again.status)
					}
					var before consent.Property
					if tc.kind == "property" {
						before, _ = app.Consent.Property(tc.key)
					}

					edit := b.do("GET", tc.list+"/"+tc.key+"/edit", nil)
					if edit.status != http.StatusOK || !strings.Contains(edit.body, `action="`+tc.list+"/"+tc.key+`"`) {
						t.Fatalf("edit page: %d %.500s", edit.status, edit.body)
					}
					if got := b.do("POST", tc.list+"/"+tc.key, with(tc.edit, "")); got.status != http.StatusForbidden {
						t.Errorf("edited without the token: %d", got.status)
					}
					if got := b.do("POST", tc.list+"/"+tc.key, with(tc.edit, token)); got.status != http.StatusSeeOther {
						t.Fatalf("edit: %d %.800s", got.status, got.body)
					}
					tc.stored(t, f.srv)
					if tc.kind == "property" {
						if after, _ := app.Consent.Property(tc.key); !reflect.DeepEqual(after.Banner, before.Banner) {
							t.Errorf("the console's edit changed the banner settings: %+v, was %+v", after.Banner, before.Banner)
						}
					}
					for _, verb := range []string{"create", "update"} {
						entries, err := app.Audit.Search(ctx, audit.Query{Action: "catalog." + tc.kind + "." + verb, Target: audit.Target{Kind: tc.kind, ID: tc.key}})
						if err != nil || len(entries.Entries) != 1 || entries.Entries[0].Actor != audit.Staff(who.ID) {
							t.Errorf("%s not recorded under the staff member: %+v %v", verb, entries.Entries, err)
						}
					}

					refused := b.do("POST", tc.list, with(tc.bad, token))
					if refused.status != http.StatusBadRequest || !strings.Contains(refused.body, "Nothing was saved") {
						t.Fatalf("bad form: %d %.800s", refused.status, refused.body)
					}
					for input, words := range tc.invalid {
						if !invalidInput(refused.body, input) || !strings.Contains(refused.body, words) {
							t.Errorf("input %s is not marked with %q: %.3000s", input, words, refused.body)
						}
					}
					for _, typed := range tc.kept {
						if !strings.Contains(refused.body, typed) {
							t.Errorf("the typed %q is lost", typed)
						}
					}
				})
			}
		})
	}
}

// keyInput is the id of a form's key input.
func keyInput(kind string) string {
	if kind == "notice" {
		return "version"
	}
	return "key"
}

var confirmField = regexp.MustCompile(`name="confirm" value="([^"]+)"`)

// TestConsoleNoticePublish: publishing a draft shows first what it changes
// in the notice in force, language by language, and whether the change is
// material; it publishes only on the confirmation that names the draft as
// reviewed: not on a bare post, not after the draft changed since (the
// replayed confirmation of an earlier text), not twice.
func TestConsoleNoticePublish(t *testing.T) {
	for _, dialect := range []db.Dialect{db.SQLite, db.Postgres} {
		t.Run(string(dialect), func(t *testing.T) {
			f := newConsoleFixture(t, dialect)
			app, ctx := f.srv.App, context.Background()
			b, who := f.browserFor(t, staff.RolePrivacyOfficer)
			token := b.formToken("/admin/catalog/notices/new")
			const oldLine = "Demo Shop uses your data to run the shop and, with your consent, for analytics and marketing."
			if got := b.do("POST", "/admin/catalog/notices", url.Values{"csrf": {token}, "version": {"2027-01"}, "material": {"on"},
				"text.en": {oldLine + "\nWe now also share it with payment providers."},
				"text.fr": {"Demo Shop utilise vos données."}}); got.status != http.StatusSeeOther {
				t.Fatalf("draft: %d %.500s", got.status, got.body)
			}
			published := func() bool {
				n, err := app.Consent.Notice(ctx, "2027-01")
				return err != nil || n.PublishedAt != nil
			}

			review := b.do("GET", "/admin/catalog/notices/2027-01/publish", nil)
			for _, want := range []string{
				"Compared with version 2026-11",
				"Material change.",
				"<span>  " + oldLine + "</span>", // kept in English
				"+ We now also share it with payment providers.</ins>",
				"− Demo Shop verwendet Ihre Daten", // German dropped
				"+ Demo Shop utilise vos données.</ins>",
				"(new language)",
				"Publish version 2027-01",
			} {
				if !strings.Contains(review.body, want) {
					t.Errorf("the review lacks %q", want)
				}
			}
			first := confirmField.FindStringSubmatch(review.body)
			if review.status != http.StatusOK || first == nil || published() {
				t.Fatalf("review: %d %.2000s", review.status, review.body)
			}

			// A post without the confirmation (one click, or a forged form) publishes nothing.
			if got := b.do("POST", "/admin/catalog/notices/2027-01/publish", url.Values{"csrf": {token}}); got.status != http.StatusConflict ||
				!strings.Contains(got.body, "Nothing was published") || published() {
				t.Fatalf("published without confirmation: %d", got.status)
			}
			// The draft changes after the review: the earlier confirmation no longer publishes.
			if got := b.do("POST", "/admin/catalog/notices/2027-01", url.Values{"csrf": {token}, "material": {"on"},
				"text.en": {oldLine + "\nWe now also sell it."}}); got.status != http.StatusSeeOther {
				t.Fatalf("change the draft: %d", got.status)
			}
			stale := b.do("POST", "/admin/catalog/notices/2027-01/publish", url.Values{"csrf": {token}, "confirm": {first[1]}})
			if stale.status != http.StatusConflict || published() || !strings.Contains(stale.body, "+ We now also sell it.</ins>") {
				t.Fatalf("a stale confirmation published: %d", stale.status)
			}
			// Another role cannot publish, even with the right confirmation.
			current := confirmField.FindStringSubmatch(stale.body)
			other, _ := f.browserFor(t, staff.RoleSecurityOfficer)
			if got := other.do("POST", "/admin/catalog/notices/2027-01/publish", url.Values{"csrf": {other.formToken("/admin/catalog")},
				"confirm": {current[1]}}); got.status != http.StatusForbidden || published() {
				t.Fatalf("a security officer published: %d", got.status)
			}

			got := b.do("POST", "/admin/catalog/notices/2027-01/publish", url.Values{"csrf": {token}, "confirm": {current[1]}})
			if got.status != http.StatusSeeOther || !published() {
				t.Fatalf("publish: %d %.500s", got.status, got.body)
			}
			if list := b.do("GET", got.header.Get("Location"), nil); !strings.Contains(list.body, "Version 2027-01 is published and now in force.") {
				t.Errorf("the list does not say it: %.800s", list.body)
			}
			if cur, ok := app.Consent.CurrentNotice(); !ok || cur.Version != "2027-01" || !cur.Material {
				t.Errorf("notice in force: %+v", cur)
			}
			entries, err := app.Audit.Search(ctx, audit.Query{Action: "catalog.notice.publish", Target: audit.Target{Kind: "notice", ID: "2027-01"}})
			if err != nil || len(entries.Entries) != 1 || entries.Entries[0].Actor != audit.Staff(who.ID) {
				t.Errorf("publication not recorded under the staff member: %+v %v", entries.Entries, err)
			}
			// Published, it can no longer be edited, reviewed or published again.
			for _, req := range []struct{ method, path string }{
				{"GET", "/admin/catalog/notices/2027-01/edit"}, {"GET", "/admin/catalog/notices/2027-01/publish"},
				{"POST", "/admin/catalog/notices/2027-01/publish"}, {"POST", "/admin/catalog/notices/2027-01"},
			} {
				if got := b.do(req.method, req.path, url.Values{"csrf": {token}, "confirm": {current[1]}, "text.en": {"x"}}); got.status != http.StatusConflict {
					t.Errorf("%s %s after publication: %d", req.method, req.path, got.status)
				}
			}
		})
	}
}

// TestConsoleCatalogNumbers: a number field that is no number is refused
// at the console, next to its input, before the service is asked.
func TestConsoleCatalogNumbers(t *testing.T) {
	f := newConsoleFixture(t, db.SQLite)
	b, _ := f.browserFor(t, staff.RoleAdmin)
	token := b.formToken("/admin/catalog/purposes/new")
	got := b.do("POST", "/admin/catalog/purposes", url.Values{"csrf": {token}, "key": {"p-ten"}, "name.en": {"Ten"},
		"legal_basis": {"consent"}, "position": {"ten"}})
	if got.status != http.StatusBadRequest || !invalidInput(got.body, "position") || !strings.Contains(got.body, "must be a whole number") ||
		!strings.Contains(got.body, `value="ten"`) {
		t.Fatalf("position ten: %d %.1500s", got.status, got.body)
	}
	if _, err := f.srv.App.Consent.Purpose("p-ten"); err == nil {
		t.Fatal("the purpose was created")
	}
}
