package web_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/dsr"
	"github.com/steward-dev/steward/internal/staff"
)

// TestRestrictionScenarios: the admin API places, lists and lifts a
// restriction, and the decision API answers "restricted" in between; an
// objection recorded by the back end holds against its own later grant.
// Callers without an admin key are refused by authScenarios.
func TestRestrictionScenarios(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, env *testEnv) {
		decide := func(name, subject, purpose string, expect ...string) scenario {
			return scenario{name: name, method: "POST", url: "/v1/decisions", key: "decide", status: 200, expect: expect,
				body: questions(question(map[string]any{"device": nil, "subject": subject, "purpose": purpose, "vendor": "adnet"}))}
		}
		restrictions := func(name, method, query, key, body string, status int, expect ...string) scenario {
			return scenario{name: name, method: method, url: "/v1/subjects/cust-gpc/restrictions" + query, key: key, body: body, status: status, expect: expect}
		}
		refuse := func(name, subject, body string, status int, field string) scenario {
			return scenario{name: name, method: "POST", url: "/v1/subjects/" + subject + "/restrictions", key: "admin", body: body, status: status, fields: []string{field}}
		}
		record := func(name, id, action string) scenario {
			return scenario{name: name, method: "POST", url: "/v1/consent/events", key: "record", status: 200,
				body: events(event(id, map[string]any{"device": nil, "subject": "cust-obj", "purpose": "marketing", "action": action, "source": "api"}))}
		}
		env.run(t, []scenario{
			decide("granted before", "cust-gpc", "sale_of_data", `"allowed":true,"reason":"consent_granted"`),
			restrictions("none yet", "GET", "", "admin", "", 200, `{"restrictions":[]}`),
			restrictions("place for every purpose", "POST", "", "admin", `{"request_id":"req-7"}`, 200,
				`"subject":"cust-gpc"`, `"request_id":"req-7"`, `"placed_at":"`),
			decide("restricted at once", "cust-gpc", "sale_of_data", `"allowed":false,"reason":"restricted","event":`),
			restrictions("a record key cannot lift it", "DELETE", "", "record", "", 403, `"code":"forbidden"`),
			restrictions("a decide key cannot lift it", "DELETE", "", "decide", "", 403, `"code":"forbidden"`),
			restrictions("nor can the public ingest key", "DELETE", "", "ingest", "", 403, `"code":"forbidden"`),
			restrictions("nor a caller without a key", "DELETE", "", "", "", 401),
			restrictions("a record key cannot place one", "POST", "", "record", `{}`, 403, `"code":"forbidden"`),
			decide("still restricted", "cust-gpc", "sale_of_data", `"reason":"restricted"`),
			restrictions("list", "GET", "", "admin", "", 200, `"request_id":"req-7"`),
			refuse("unknown purpose", "cust-gpc", `{"purpose":"ads"}`, 400, "purpose"),
			refuse("pseudonym", "prs_abc", `{}`, 400, "subject"),
			refuse("unknown field", "cust-gpc", `{"purpose":"marketing","all":true}`, 400, "all"),
			restrictions("lift a purpose not restricted", "DELETE", "?purpose=marketing", "admin", "", 404),
			restrictions("lift", "DELETE", "", "admin", "", 200, `{"restrictions":[]}`),
			decide("granted after lifting", "cust-gpc", "sale_of_data", `"allowed":true,"reason":"consent_granted"`),
			restrictions("lift again", "DELETE", "", "admin", "", 404),
			record("back end records an objection", "obj-1", "object"),
			record("back end grants later", "obj-2", "grant"),
			decide("the objection holds", "cust-obj", "marketing", `"allowed":false,"reason":"objected"`),
			{name: "an ingest key cannot object", method: "POST", url: "/v1/consent/events", key: "ingest", status: 400, fields: []string{"events[0].subject"},
				body: events(event("obj-3", map[string]any{"device": nil, "subject": "cust-obj", "purpose": "marketing", "action": "object"}))},
			{name: "nobody objects to a necessary purpose", method: "POST", url: "/v1/consent/events", key: "record", status: 400, fields: []string{"events[0].purpose"},
				body: events(event("obj-4", map[string]any{"device": nil, "subject": "cust-obj", "purpose": "necessary", "action": "object", "source": "api"}))},
		})
	})
}

// TestRestrictionInConsoleAndPortal replays the findings end to end:
// staff complete a restriction request in the console, decisions answer
// "restricted" at once and the customer's portal says so in their
// language with what happens next; staff lift it (audited as them) and
// the portal no longer shows it. The customer objects in the portal; the
// back end's later grant does not end it, the customer's own does.
func TestRestrictionInConsoleAndPortal(t *testing.T) {
	for _, dialect := range []db.Dialect{db.SQLite, db.Postgres} {
		t.Run(string(dialect), func(t *testing.T) { testRestrictionInConsoleAndPortal(t, dialect) })
	}
}

func testRestrictionInConsoleAndPortal(t *testing.T, dialect db.Dialect) {
	ctx := context.Background()
	pf := newPortalFixture(t, dialect)
	app := pf.srv.App
	cf := &consoleFixture{srv: pf.srv}
	officer, account := cf.browserFor(t, staff.RolePrivacyOfficer)
	hash, _ := app.Vault.BlindIndex(ctx, "email", "ada.portal@example.org")
	req, err := app.Requests.File(ctx, dsr.NewRequest{Kind: dsr.KindRestriction, Regime: dsr.GDPR, SubjectID: "cust-1",
		Email: "ada.portal@example.org", EmailHash: hash})
	if err != nil {
		t.Fatal(err)
	}
	act := func(action string, form url.Values) answer {
		t.Helper()
		if form == nil {
			form = url.Values{}
		}
		form.Set("csrf", officer.formToken("/admin/requests/"+req.ID))
		return officer.do("POST", "/admin/requests/"+req.ID+"/"+action, form)
	}
	for _, action := range []string{"verify", "start", "complete"} {
		if got := act(action, nil); got.status != http.StatusSeeOther {
			t.Fatalf("%s: %d %.300s", action, got.status, got.body)
		}
	}
	analytics := &consent.Question{Subject: "cust-1", Purpose: "analytics", Jurisdiction: "DE"}
	if a, _ := app.Consent.Decider().Decide(analytics, false); a.Allowed || a.Reason != consent.ReasonRestricted {
		t.Fatalf("after the console completed the restriction: %+v", a)
	}
	page := officer.do("GET", "/admin/requests/"+req.ID, nil)
	if !strings.Contains(page.body, "Restrictions in force") || !strings.Contains(page.body, "/lift") {
		t.Fatalf("the request page offers no lifting: %.500s", page.body)
	}

	b := pf.signIn(t, "ada.portal@example.org")
	for lang, want := range map[string][]string{
		"en": {"Use of your data is restricted", "every purpose", "we neither use it nor share it"},
		"de": {"Die Verarbeitung Ihrer Daten ist eingeschränkt", "alle Zwecke", "Wir nutzen sie nicht"},
	} {
		home := b.do("GET", "/privacy/home?lang="+lang, nil)
		for _, w := range want {
			if !strings.Contains(home.body, w) {
				t.Errorf("portal (%s) lacks %q", lang, w)
			}
		}
	}

	if got := act("lift", nil); got.status != http.StatusSeeOther {
		t.Fatalf("lift: %d %.300s", got.status, got.body)
	}
	if a, _ := app.Consent.Decider().Decide(analytics, false); !a.Allowed {
		t.Fatalf("after lifting: %+v", a)
	}
	entries, _ := app.Audit.Search(ctx, audit.Query{Actor: audit.Staff(account.ID)})
	var actions []string
	for _, e := range entries.Entries {
		actions = append(actions, e.Action)
	}
	for _, want := range []string{"consent.restrict", "consent.lift", "dsr.complete"} {
		if !slices.Contains(actions, want) {
			t.Errorf("audit lacks %s by the officer: %v", want, actions)
		}
	}
	if home := b.do("GET", "/privacy/home", nil); strings.Contains(home.body, "Use of your data is restricted") {
		t.Fatal("the portal still shows a lifted restriction")
	}

	// The customer objects to marketing in the portal.
	home := b.do("GET", "/privacy/home", nil)
	token := csrfField.FindStringSubmatch(home.body)[1]
	if got := b.do("POST", "/privacy/consents", url.Values{"csrf": {token}, "property": {"demo"}, "purpose": {"marketing"}, "action": {"object"}}); got.status != http.StatusSeeOther {
		t.Fatalf("object: %d %.300s", got.status, got.body)
	}
	grant := []consent.Event{{ID: "later-grant", Property: "demo", Subject: "cust-1", Purpose: "marketing", Action: consent.ActionGrant,
		Source: consent.SourceAPI, NoticeVersion: "2026-11"}}
	if err := app.Consent.ValidateEvents(grant, consent.Author{Kind: consent.AuthorRecordKey}); err != nil {
		t.Fatal(err)
	}
	if _, err := app.Consent.Append(ctx, grant); err != nil {
		t.Fatal(err)
	}
	marketing := &consent.Question{Subject: "cust-1", Purpose: "marketing", Jurisdiction: "DE"}
	if a, _ := app.Consent.Decider().Decide(marketing, false); a.Allowed || a.Reason != consent.ReasonObjected {
		t.Fatalf("after the objection and the back end's grant: %+v", a)
	}
	home = b.do("GET", "/privacy/home?lang=en", nil)
	if !strings.Contains(home.body, "You objected to") || !strings.Contains(home.body, "To allow one again") {
		t.Fatalf("the portal does not show the objection: %.300s", home.body)
	}
	token = csrfField.FindStringSubmatch(home.body)[1]
	if got := b.do("POST", "/privacy/consents", url.Values{"csrf": {token}, "property": {"demo"}, "purpose": {"marketing"}, "action": {"grant"}}); got.status != http.StatusSeeOther {
		t.Fatalf("grant: %d", got.status)
	}
	if a, _ := app.Consent.Decider().Decide(marketing, false); !a.Allowed {
		t.Fatalf("after the customer's own grant: %+v", a)
	}
}
