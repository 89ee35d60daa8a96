package web_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/steward-dev/steward/client"
	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/staff"
)

// TestIncidentReviewScenarios: through the API, a contained incident is
// refused closing without a review and while an action is open (409 on the
// field review, saying what to do); the review and its actions are
// written, bad input names its field; the public account is previewed,
// published (the public JSON then shows its counts and nothing of the
// incident's record), withdrawn (the JSON is empty again); then the
// incident closes. Other keys are refused (here and in authScenarios).
func TestIncidentReviewScenarios(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, env *testEnv) {
		ctx := context.Background()
		owner, err := env.srv.App.Staff.Create(ctx, audit.System(), staff.NewAccount{Email: "owner.review@shop.example", Name: "Rita Owner",
			Role: staff.RoleAdmin, Password: staffPassword})
		if err != nil {
			t.Fatal(err)
		}
		title, kind, cats, description := "Export sent to the wrong partner", "confidentiality", []string{"contact"}, "Noticed by Zed Internal on the partner portal"
		inc, err := env.admin.CreateIncident(ctx, client.IncidentInput{Title: &title, Kind: &kind, Categories: &cats, Description: &description})
		if err != nil {
			t.Fatal(err)
		}
		env.vars["incident"], env.vars["owner"] = inc.ID, owner.ID
		due := time.Now().UTC().AddDate(0, 0, 7).Format(time.DateOnly) // bodies are sent as written: no {{vars}}
		at := "/v1/incidents/{{incident}}"
		account := `{"texts":{"en":{"title":"Order list sent to a partner by mistake","happened":"An export went to the wrong partner.",` +
			`"done":"The partner deleted it.","outcome":"Exports are checked by two people."},` +
			`"de":{"title":"Bestellliste irrtümlich an einen Partner","happened":"Ein Export ging an den falschen Partner.","done":"Der Partner hat ihn gelöscht."}}}`
		env.run(t, []scenario{
			{name: "no review yet", method: "GET", url: at + "/review", key: "admin", status: 404},
			{name: "assess", method: "POST", url: at + "/assessment", key: "admin", body: `{"risk":"none","reasons":["the partner is bound by contract"]}`, status: 200},
			{name: "assessed", method: "POST", url: at + "/status", key: "admin", body: `{"status":"assessed"}`, status: 200},
			{name: "contained", method: "POST", url: at + "/status", key: "admin", body: `{"status":"contained"}`, status: 200},
			{name: "close without a review", method: "POST", url: at + "/status", key: "admin", body: `{"status":"closed"}`, status: 409,
				fields: []string{"review"}, expect: []string{"write the post-incident review before closing"}},
			{name: "review with an unknown area", method: "PUT", url: at + "/review", key: "admin", body: `{"what_failed":"x","areas":["luck"]}`,
				status: 400, fields: []string{"areas"}},
			{name: "review naming a person", method: "PUT", url: at + "/review", key: "admin", body: `{"what_failed":"ada@example.org clicked"}`,
				status: 400, fields: []string{"what_failed"}},
			{name: "a decide key cannot review", method: "PUT", url: at + "/review", key: "decide", body: `{"what_failed":"x"}`, status: 403},
			{name: "review", method: "PUT", url: at + "/review", key: "admin", body: `{"what_failed":"exports were sent by hand","controls":"no second check","areas":["training","configuration"]}`,
				status: 200, expect: []string{`"areas":["configuration","training"]`, `"written_by":"api_key:`, `"actions":[]`}},
			{name: "action for nobody", method: "POST", url: at + "/review/actions", key: "admin", body: `{"title":"x","owner":"stf_nobody","due":"` + due + `"}`,
				status: 400, fields: []string{"owner"}},
			{name: "action due in the past", method: "POST", url: at + "/review/actions", key: "admin", body: `{"title":"x","owner":"` + owner.ID + `","due":"2020-01-01"}`,
				status: 400, fields: []string{"due"}},
			{name: "action", method: "POST", url: at + "/review/actions", key: "admin", body: `{"title":"Check exports twice","owner":"` + owner.ID + `","due":"` + due + `"}`,
				status: 201, expect: []string{`"state":"open"`, `"owner":"` + owner.ID + `"`}},
			{name: "close with an open action", method: "POST", url: at + "/status", key: "admin", body: `{"status":"closed"}`, status: 409,
				fields: []string{"review"}, expect: []string{"1 follow-up action of the review is still open"}},
			{name: "publish before a set", method: "POST", url: at + "/account", key: "admin", body: account, status: 409, expect: []string{"compute who was affected"}},
			{name: "compute", method: "POST", url: at + "/affected", key: "admin", body: `{"method":"upload","external_ids":["cust-gpc"]}`, status: 201},
			{name: "publish without English", method: "POST", url: at + "/account", key: "admin", body: `{"texts":{"de":{"title":"x","happened":"y","done":"z"}}}`,
				status: 400, fields: []string{"texts.en.title"}},
			{name: "preview", method: "POST", url: at + "/account?preview=true", key: "admin", body: account, status: 200,
				expect: []string{`"version":1`, `"affected":1`}},
			{name: "nothing published by the preview", method: "GET", url: "/transparency/incidents.json", status: 200, expect: []string{`{"incidents":[]}`}},
			{name: "publish", method: "POST", url: at + "/account", key: "admin", body: account, status: 201, expect: []string{`"version":1`, `"affected":1`}},
			{name: "a decide key cannot publish", method: "POST", url: at + "/account", key: "decide", body: account, status: 403},
			{name: "public feed", method: "GET", url: "/transparency/incidents.json", status: 200,
				expect: []string{`"id":"` + inc.ID + `"`, `"Order list sent to a partner by mistake"`, `"total":1`, `"Bestellliste irrtümlich an einen Partner"`},
				forbid: []string{"Zed Internal", "Export sent to the wrong partner", "cust-gpc", "published_by", "api_key", "exports were sent by hand"}},
			{name: "versions", method: "GET", url: at + "/account", key: "admin", status: 200, expect: []string{`"version":1`, `"published_by":"api_key:`}},
			{name: "withdraw", method: "POST", url: at + "/account/withdraw", key: "admin", status: 200, expect: []string{`"withdrawn_at":`}},
			{name: "withdraw again", method: "POST", url: at + "/account/withdraw", key: "admin", status: 409},
			{name: "public feed after the withdrawal", method: "GET", url: "/transparency/incidents.json", status: 200, expect: []string{`{"incidents":[]}`}},
		})
		review, err := env.srv.App.Incidents.ReviewOf(ctx, inc.ID)
		if err != nil || len(review.Actions) != 1 {
			t.Fatalf("review %+v, %v", review, err)
		}
		env.vars["action"] = review.Actions[0].ID
		env.run(t, []scenario{
			{name: "done", method: "POST", url: at + "/review/actions/{{action}}/done", key: "admin", status: 200, expect: []string{`"state":"done"`, `"done_by":"api_key:`}},
			{name: "done twice", method: "POST", url: at + "/review/actions/{{action}}/done", key: "admin", status: 409},
			{name: "close", method: "POST", url: at + "/status", key: "admin", body: `{"status":"closed"}`, status: 200, expect: []string{`"status":"closed"`}},
			{name: "timeline", method: "GET", url: at + "/timeline", key: "admin", status: 200,
				expect: []string{`"kind":"reviewed"`, `"kind":"review_action"`, `"kind":"review_action_done"`, `"kind":"published"`, `"kind":"withdrawn"`}},
		})
	})
}

// TestConsoleIncidentReview: an officer is refused closing an incident
// before its review, in the page's language; writes the review and an
// action for a support agent, who sees it on their dashboard and marks it
// done there (an analyst may not mark it); previews the public account
// (nothing is published), publishes it, and the public page shows it; then
// the incident closes.
func TestConsoleIncidentReview(t *testing.T) {
	for _, dialect := range []db.Dialect{db.SQLite, db.Postgres} {
		t.Run(string(dialect), func(t *testing.T) {
			f := newConsoleFixture(t, dialect)
			officer, _ := f.browserFor(t, staff.RoleSecurityOfficer)
			agent, agentAccount := f.browserFor(t, staff.RoleSupport)
			analyst, _ := f.browserFor(t, staff.RoleAnalyst)
			csrf := officer.formToken("/admin/incidents")
			created := officer.do("POST", "/admin/incidents", url.Values{"csrf": {csrf}, "title": {"Mail merge sent to the wrong list"}, "kind": {"confidentiality"},
				"categories": {"contact"}, "description": {"Internal notes: found by Quentin Internal"}})
			id := strings.TrimPrefix(created.header.Get("Location"), "/admin/incidents/")
			at := "/admin/incidents/" + id
			for _, step := range []url.Values{
				{"csrf": {csrf}, "method": {"upload"}, "external_ids": {"cust-1"}},
			} {
				if got := officer.do("POST", at+"/affected", step); got.status != http.StatusSeeOther {
					t.Fatalf("compute: %d %.1000s", got.status, got.body)
				}
			}
			if got := officer.do("POST", at+"/assessment", url.Values{"csrf": {csrf}, "risk": {"none"}, "reasons": {"addresses only, to a processor"}}); got.status != http.StatusSeeOther {
				t.Fatalf("assess: %d %.1000s", got.status, got.body)
			}
			for _, to := range []string{"assessed", "contained"} {
				if got := officer.do("POST", at+"/status", url.Values{"csrf": {csrf}, "status": {to}}); got.status != http.StatusSeeOther {
					t.Fatalf("move to %s: %d", to, got.status)
				}
			}
			officer.do("GET", at+"?lang=de", nil) // the switch: remembered
			refused := officer.do("POST", at+"/status", url.Values{"csrf": {csrf}, "status": {"closed"}})
			if refused.status != http.StatusConflict || !strings.Contains(refused.body, "schreiben Sie vor dem Abschluss die Nachbetrachtung") {
				t.Fatalf("close before the review, in German: %d %.3000s", refused.status, refused.body)
			}
			officer.do("GET", at+"?lang=en", nil)
			if page := officer.do("GET", at, nil); !strings.Contains(page.body, `href="`+at+`/review"`) {
				t.Fatalf("the incident page does not lead to its review")
			}

			review := at + "/review"
			if got := officer.do("POST", review, url.Values{"csrf": {csrf}, "what_failed": {"the list was picked by hand"}, "areas": {"configuration", "nonsense"}}); got.status != http.StatusBadRequest ||
				!strings.Contains(got.body, "must be among") {
				t.Fatalf("review with a bad area: %d %.2000s", got.status, got.body)
			}
			if got := officer.do("POST", review, url.Values{"csrf": {csrf}, "what_failed": {"the list was picked by hand"}, "controls": {"no check before sending"},
				"areas": {"configuration", "training"}}); got.status != http.StatusSeeOther {
				t.Fatalf("review: %d %.2000s", got.status, got.body)
			}
			due := time.Now().UTC().AddDate(0, 0, 3).Format(time.DateOnly)
			if got := officer.do("POST", review+"/actions", url.Values{"csrf": {csrf}, "title": {"Pick mailing lists from the CRM only"},
				"owner": {agentAccount.ID}, "due": {due}}); got.status != http.StatusSeeOther {
				t.Fatalf("action: %d %.2000s", got.status, got.body)
			}
			page := officer.do("GET", review, nil)
			for _, want := range []string{"the list was picked by hand", "Pick mailing lists from the CRM only", agentAccount.Name, due, "Mark done", "English (required)"} {
				if !strings.Contains(page.body, want) {
					t.Errorf("review page lacks %q", want)
				}
			}
			if got := officer.do("POST", at+"/status", url.Values{"csrf": {csrf}, "status": {"closed"}}); got.status != http.StatusConflict ||
				!strings.Contains(got.body, "1 follow-up action of the review is still open") {
				t.Fatalf("close with an open action: %d", got.status)
			}

			dashboard := agent.do("GET", "/admin", nil)
			if !strings.Contains(dashboard.body, "Pick mailing lists from the CRM only") || strings.Contains(dashboard.body, `href="`+review+`"`) {
				t.Fatalf("the owner's dashboard: %.3000s", dashboard.body)
			}
			action := regexp.MustCompile(`/admin/my-actions/([^/"]+)/done`).FindStringSubmatch(dashboard.body)
			if action == nil {
				t.Fatal("no form to mark the action done on the owner's dashboard")
			}
			if got := analyst.do("POST", "/admin/my-actions/"+action[1]+"/done", url.Values{"csrf": {analyst.formToken("/admin")}}); got.status != http.StatusForbidden {
				t.Fatalf("an analyst marks another's action done: %d", got.status)
			}
			if got := agent.do("POST", "/admin/my-actions/"+action[1]+"/done", url.Values{"csrf": {agent.formToken("/admin")}}); got.status != http.StatusSeeOther {
				t.Fatalf("the owner marks it done: %d %.1000s", got.status, got.body)
			}
			if got := agent.do("GET", "/admin", nil); strings.Contains(got.body, "Pick mailing lists from the CRM only") {
				t.Fatal("a done action stays on the owner's dashboard")
			}

			texts := url.Values{"csrf": {csrf}, "en.title": {"Newsletter sent to the wrong list"}, "en.happened": {"A newsletter went to a list it was not meant for."},
				"en.done": {"The list was corrected the same hour."}, "en.outcome": {"Lists now come from the CRM only."},
				"fr.title": {"Lettre envoyée à la mauvaise liste"}, "fr.happened": {"Une lettre est partie vers une autre liste."}, "fr.done": {"La liste a été corrigée."}}
			preview := officer.do("POST", at+"/account/preview", texts)
			if preview.status != http.StatusOK || !strings.Contains(preview.body, "Preview of version 1") || !strings.Contains(preview.body, "1 people affected in total") ||
				!strings.Contains(preview.body, "Deutsch") {
				t.Fatalf("preview: %d %.3000s", preview.status, preview.body)
			}
			if got := newBrowser(t, f.srv.URL).do("GET", "/transparency/incidents/"+id, nil); got.status != http.StatusNotFound {
				t.Fatalf("published by a preview: %d", got.status)
			}
			if got := officer.do("POST", at+"/account", texts); got.status != http.StatusSeeOther {
				t.Fatalf("publish: %d %.2000s", got.status, got.body)
			}
			public := publicGet(t, f.srv.URL+"/transparency/incidents/"+id+"?lang=fr")
			for _, want := range []string{"Lettre envoyée à la mauvaise liste", "1 personne touchée", "La liste a été corrigée.", "Coordonnées"} {
				if !strings.Contains(public, want) {
					t.Errorf("public page lacks %q\n%.2000s", want, public)
				}
			}
			for _, never := range append([]string{"Quentin Internal", "Mail merge sent", "cust-1", agentAccount.Name, agentAccount.ID, "the list was picked by hand"}, f.secrets...) {
				if strings.Contains(public, never) {
					t.Errorf("public page holds %q", never)
				}
			}
			if got := officer.do("POST", at+"/status", url.Values{"csrf": {csrf}, "status": {"closed"}}); got.status != http.StatusSeeOther {
				t.Fatalf("close after the review: %d %.1500s", got.status, got.body)
			}
		})
	}
}

func publicGet(t *testing.T, u string) string {
	t.Helper()
	res, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Security-Policy") == "" {
		t.Fatalf("GET %s: %d, CSP %q", u, res.StatusCode, res.Header.Get("Content-Security-Policy"))
	}
	return string(body)
}
