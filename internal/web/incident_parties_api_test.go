package web_test

import (
	"context"
	"testing"

	"github.com/steward-dev/steward/client"
)

// TestIncidentPartiesScenarios: through the API an admin key drafts the
// regulator's report, writes the customers' notice, reads the notices'
// progress, lists and tells the vendors and records a report and a
// referral; bad input names the field; sending notices on a server
// without email answers 503; other keys are refused.
func TestIncidentPartiesScenarios(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, env *testEnv) {
		title, kind, cats := "Card numbers in a log file", "confidentiality", []string{"financial"}
		inc, err := env.admin.CreateIncident(context.Background(), client.IncidentInput{Title: &title, Kind: &kind, Categories: &cats})
		if err != nil {
			t.Fatal(err)
		}
		env.vars["incident"] = inc.ID
		at := "/v1/incidents/{{incident}}"
		env.run(t, []scenario{
			{name: "report of an open incident", method: "GET", url: at + "/regulator-report", key: "admin", status: 200,
				expect: []string{`"nature":{"title":"Card numbers in a log file"`, `"computed":false`, `"category":"financial"`, `"late":false`}},
			{name: "a decide key cannot read the report", method: "GET", url: at + "/regulator-report", key: "decide", status: 403},
			{name: "the report of an unknown incident", method: "GET", url: "/v1/incidents/inc_nope/regulator-report", key: "admin", status: 404},
			{name: "write the notice", method: "PUT", url: at + "/notices/texts/en", key: "admin", status: 200,
				body:   `{"happened":"A log held card numbers.","meaning":"They may be read.","done":"We deleted the log.","can_do":"Watch your statements.","contact":"privacy@shop.example"}`,
				expect: []string{`"language":"en"`, `"written_by":"api_key:`}},
			{name: "a notice without a contact", method: "PUT", url: at + "/notices/texts/de", key: "admin", status: 400,
				body: `{"happened":"x","meaning":"x","done":"x","can_do":"x","contact":""}`, fields: []string{"contact"}},
			{name: "a notice in another language", method: "PUT", url: at + "/notices/texts/it", key: "admin", status: 400,
				body: `{"happened":"x","meaning":"x","done":"x","can_do":"x","contact":"x"}`, fields: []string{"language"}},
			{name: "the notices", method: "GET", url: at + "/notices", key: "admin", status: 200,
				expect: []string{`"texts":[{"language":"en"`, `"progress":{"queued":0,"sending":0,"sent":0,"failed":0,"no_address":0,"total":0}`}},
			{name: "sending needs email", method: "POST", url: at + "/notices", key: "admin", status: 503},
			{name: "an ingest key cannot send", method: "POST", url: at + "/notices", key: "ingest", status: 403},
			{name: "vendors", method: "GET", url: at + "/vendors", key: "admin", status: 200, expect: []string{`"items":[`}},
			{name: "vendors of an open incident are not told", method: "POST", url: at + "/vendors", key: "admin", status: 409},
			{name: "notified before a report", method: "POST", url: at + "/notified", key: "admin", body: `{}`, status: 409},
			{name: "a report to the authority", method: "POST", url: at + "/filings", key: "admin", status: 201,
				body:   `{"kind":"regulator","agency":"CNIL","channel":"online form","reference":"CNIL-42","filed_at":"2026-01-03T10:00:00Z"}`,
				expect: []string{`"kind":"regulator"`, `"reference":"CNIL-42"`}, forbid: []string{`"evidence_command"`}},
			{name: "a referral with evidence", method: "POST", url: at + "/filings", key: "admin", status: 201,
				body:   `{"kind":"law_enforcement","agency":"Police","filed_at":"2026-01-04T10:00:00Z","evidence_from":"2026-01-01T00:00:00Z","evidence_to":"2026-01-02T00:00:00Z"}`,
				expect: []string{`"evidence_command":"steward audit export --from 2026-01-01T00:00:00Z --to 2026-01-02T00:00:00Z --out `}},
			{name: "a report without a channel", method: "POST", url: at + "/filings", key: "admin", status: 400,
				body: `{"kind":"regulator","agency":"CNIL","filed_at":"2026-01-03T10:00:00Z"}`, fields: []string{"channel"}},
			{name: "filings", method: "GET", url: at + "/filings", key: "admin", status: 200, expect: []string{`"agency":"CNIL"`, `"agency":"Police"`}},
			{name: "the report names the filing", method: "GET", url: at + "/regulator-report", key: "admin", status: 200,
				expect: []string{`"filings":[{"id":"fil_`, `"for_people":"They may be read."`}},
			{name: "a decide key cannot file", method: "POST", url: at + "/filings", key: "decide", status: 403,
				body: `{"kind":"regulator","agency":"CNIL","channel":"x","filed_at":"2026-01-03T10:00:00Z"}`},
		})
	})
}
