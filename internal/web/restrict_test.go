package web_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/dsr"
	"github.com/steward-dev/steward/internal/jobs"
	"github.com/steward-dev/steward/internal/notify/mailtest"
	"github.com/steward-dev/steward/internal/staff"
)

// TestRestrictionScenarios: the admin API places and lists a restriction,
// and the decision API answers "restricted"; lifting it without email to
// tell the customer first is refused; an
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
			// The customer must be told before the lift (GDPR Art. 18(3)):
			// without email it cannot be, so it is refused and holds.
			// TestStaffLiftIsToldFirst lifts with email.
			restrictions("lift without email to tell the customer", "DELETE", "", "admin", "", 503, `"code":"unavailable"`, "Art. 18(3)"),
			decide("still restricted after a refused lift", "cust-gpc", "sale_of_data", `"reason":"restricted"`),
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
// language with what happens next; staff lift it (audited as them), which
// waits until the customer has been emailed in the request's language
// (GDPR Art. 18(3)), the console and portal showing the pending lift, and
// then the portal no longer shows it; the customer's own lift is
// immediate and sends nothing. The customer objects in the portal; the
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
		Email: "ada.portal@example.org", EmailHash: hash, Language: "de"})
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

	// Staff lift it: the customer is told first (GDPR Art. 18(3)). While
	// the mail server cannot take the notice, the lift waits and the
	// decision stays "restricted"; the console and portal say so.
	pf.mail.RejectRecipient("ada.portal@example.org", 451)
	sent := len(pf.mail.Messages())
	if got := act("lift", nil); got.status != http.StatusSeeOther {
		t.Fatalf("lift: %d %.300s", got.status, got.body)
	}
	waitFor(t, "the notice's refused attempt", func() bool { return pf.mail.Refused("ada.portal@example.org") > 0 })
	if a, _ := app.Consent.Decider().Decide(analytics, false); a.Reason != consent.ReasonRestricted {
		t.Fatalf("lifted before the customer was told: %+v", a)
	}
	if page := officer.do("GET", "/admin/requests/"+req.ID, nil); !strings.Contains(page.body, "Lifts waiting for the customer to be told") ||
		!strings.Contains(page.body, "the email to the customer is on its way") {
		t.Fatalf("the console does not show the pending lift: %.3000s", page.body)
	}
	if home := b.do("GET", "/privacy/home?lang=de", nil); !strings.Contains(home.body, "Wir heben diese Einschränkung demnächst auf") {
		t.Fatalf("the portal does not show the pending lift: %.3000s", home.body)
	}
	pf.mail.RejectRecipient("ada.portal@example.org", 0)
	notice := waitForMail(t, pf, sent, "Wir heben die Einschränkung", 60*time.Second)
	if !strings.Contains(notice.Text, "/privacy/home?lang=de") || strings.Contains(notice.Text, "ada.portal") {
		t.Fatalf("the notice:\n%s", notice.Text)
	}
	waitFor(t, "the lift after the notice", func() bool {
		a, _ := app.Consent.Decider().Decide(analytics, false)
		return a.Allowed
	})
	entries, _ := app.Audit.Search(ctx, audit.Query{Actor: audit.Staff(account.ID)})
	var actions []string
	for _, e := range entries.Entries {
		actions = append(actions, e.Action)
	}
	for _, want := range []string{"consent.restrict", "consent.lift_requested", "dsr.complete"} {
		if !slices.Contains(actions, want) {
			t.Errorf("audit lacks %s by the officer: %v", want, actions)
		}
	}
	if home := b.do("GET", "/privacy/home", nil); strings.Contains(home.body, "Use of your data is restricted") {
		t.Fatal("the portal still shows a lifted restriction")
	}

	// The customer ends a restriction of their own in the portal: at once,
	// and no email. Someone without one of theirs cannot.
	if _, err := app.Consent.Restrict(ctx, "cust-1", "analytics", req.ID); err != nil {
		t.Fatal(err)
	}
	sent = len(pf.mail.Messages())
	home := b.do("GET", "/privacy/home?lang=en", nil)
	if !strings.Contains(home.body, "End this restriction") {
		t.Fatalf("the portal offers no lift: %.3000s", home.body)
	}
	stranger := pf.signIn(t, "nobody@example.org")
	strangerToken := csrfField.FindStringSubmatch(stranger.do("GET", "/privacy/home", nil).body)[1]
	if got := stranger.do("POST", "/privacy/restrictions/lift", url.Values{"csrf": {strangerToken}, "purpose": {"analytics"}}); got.status != http.StatusNotFound {
		t.Fatalf("a stranger lifts: %d", got.status)
	}
	if got := b.do("POST", "/privacy/restrictions/lift", url.Values{"purpose": {"analytics"}}); got.status != http.StatusForbidden {
		t.Fatalf("a lift without the form token: %d", got.status)
	}
	if a, _ := app.Consent.Decider().Decide(analytics, false); a.Reason != consent.ReasonRestricted {
		t.Fatalf("a refused lift lifted: %+v", a)
	}
	token := csrfField.FindStringSubmatch(home.body)[1]
	if got := b.do("POST", "/privacy/restrictions/lift", url.Values{"csrf": {token}, "purpose": {"analytics"}}); got.status != http.StatusSeeOther {
		t.Fatalf("the customer's lift: %d %.300s", got.status, got.body)
	}
	if a, _ := app.Consent.Decider().Decide(analytics, false); !a.Allowed {
		t.Fatalf("after the customer's own lift: %+v", a)
	}
	// The customer's own lift queues no notice: the staff lift's job is the
	// only one there ever was.
	if list, err := app.Jobs.List(ctx, jobs.Filter{Kinds: []string{"consent.lift_notice"}}); err != nil || len(list.Jobs) != 1 {
		t.Fatalf("lift notices queued: %d, %v; want only the staff lift's", len(list.Jobs), err)
	}
	for _, m := range pf.mail.Messages()[sent:] {
		if strings.Contains(m.Subject, "lifting the restriction") || strings.Contains(m.Subject, "Einschränkung") {
			t.Fatalf("the customer's own lift sent %q", m.Subject)
		}
	}

	// The customer objects to marketing in the portal.
	home = b.do("GET", "/privacy/home", nil)
	token = csrfField.FindStringSubmatch(home.body)[1]
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

// waitForMail waits up to d for a message after the first skip whose
// subject holds want (a retried job may take a while).
func waitForMail(t *testing.T, pf *portalFixture, skip int, want string, d time.Duration) mailtest.Message {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		for _, m := range pf.mail.Messages()[skip:] {
			if strings.Contains(m.Subject, want) {
				return m
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no message %q within %v", want, d)
	return mailtest.Message{}
}

// waitFor polls cond for five seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
