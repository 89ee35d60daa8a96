package web_test

import (
	"context"
	"testing"

	"github.com/steward-dev/steward/client"
)

// TestIncidentScenarios: an admin key records an incident, changes it,
// assesses it (contact data: risk; financial data raises it to high),
// moves it, adds to its timeline and computes who it affected; bad input
// names the field, moves the machine does not allow conflict, and other
// keys are refused (here and in authScenarios for every route).
func TestIncidentScenarios(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, env *testEnv) {
		title, kind, cats := "Backup bucket left public", "confidentiality", []string{"financial"}
		inc, err := env.admin.CreateIncident(context.Background(), client.IncidentInput{Title: &title, Kind: &kind, Categories: &cats})
		if err != nil {
			t.Fatal(err)
		}
		env.vars["incident"] = inc.ID
		at := "/v1/incidents/{{incident}}"
		env.run(t, []scenario{
			{name: "create", method: "POST", url: "/v1/incidents", key: "admin", status: 201,
				body:   `{"title":"Stolen laptop","kind":"confidentiality","categories":["contact"]}`,
				expect: []string{`"status":"open"`, `"reported_by":"api_key:`, `"key":"gdpr.art33"`, `"state":"pending"`}},
			{name: "create without a kind", method: "POST", url: "/v1/incidents", key: "admin", body: `{"title":"x"}`, status: 400, fields: []string{"kind"}},
			{name: "create with an unknown field", method: "POST", url: "/v1/incidents", key: "admin", body: `{"title":"x","kind":"integrity","severity":3}`,
				status: 400, fields: []string{"severity"}},
			{name: "a decide key cannot create", method: "POST", url: "/v1/incidents", key: "decide", body: `{"title":"x","kind":"integrity"}`,
				status: 403, expect: []string{`"code":"forbidden"`}},
			{name: "an ingest key cannot read", method: "GET", url: at, key: "ingest", status: 403},
			{name: "no key", method: "GET", url: "/v1/incidents", status: 401},
			{name: "list", method: "GET", url: "/v1/incidents?status=open", key: "admin", status: 200, expect: []string{`"title":"Backup bucket left public"`}},
			{name: "list by an unknown status", method: "GET", url: "/v1/incidents?status=lost", key: "admin", status: 400, fields: []string{"status"}},
			{name: "get", method: "GET", url: at, key: "admin", status: 200, expect: []string{`"categories":["financial"]`, `"clocks":[`}},
			{name: "get unknown", method: "GET", url: "/v1/incidents/inc_nope", key: "admin", status: 404},
			{name: "patch", method: "PATCH", url: at, key: "admin", body: `{"cause":"a bucket policy changed by a script"}`, status: 200,
				expect: []string{`"cause":"a bucket policy changed by a script"`, `"title":"Backup bucket left public"`}},
			{name: "patch awareness before detection", method: "PATCH", url: at, key: "admin",
				body: `{"detected_at":"2026-01-02T00:00:00Z","aware_at":"2026-01-01T00:00:00Z"}`, status: 400, fields: []string{"aware_at"}},
			{name: "assessed before an assessment", method: "POST", url: at + "/status", key: "admin", body: `{"status":"assessed"}`, status: 409,
				expect: []string{`"code":"conflict"`}},
			{name: "notified is not a move", method: "POST", url: at + "/status", key: "admin", body: `{"status":"notified"}`, status: 409},
			{name: "assess without reasons", method: "POST", url: at + "/assessment", key: "admin", body: `{"risk":"risk","reasons":[]}`, status: 400,
				fields: []string{"reasons"}},
			{name: "assess: financial data raises it", method: "POST", url: at + "/assessment", key: "admin",
				body: `{"risk":"risk","reasons":["card numbers in the backup"]}`, status: 200, expect: []string{`"risk":"high"`, `"key":"gdpr.art34"`}},
			{name: "move", method: "POST", url: at + "/status", key: "admin", body: `{"status":"assessed","note":"DPO agrees"}`, status: 200,
				expect: []string{`"status":"assessed"`}},
			{name: "note", method: "POST", url: at + "/timeline", key: "admin", body: `{"note":"bucket made private"}`, status: 201,
				expect: []string{`"kind":"note"`}},
			{name: "timeline", method: "GET", url: at + "/timeline", key: "admin", status: 200,
				expect: []string{`"kind":"created"`, `"kind":"assessed"`, `"note":"bucket made private"`}},
			{name: "compute by upload", method: "POST", url: at + "/affected", key: "admin", body: `{"method":"upload","external_ids":["cust-gpc","cust-unknown"]}`,
				status: 201, expect: []string{`"members":1`, `"unresolved":1`, `"uploaded":2`}, forbid: []string{"cust-unknown", "cust-gpc"}},
			{name: "compute by the audit log without an actor", method: "POST", url: at + "/affected", key: "admin",
				body: `{"method":"audit","from":"2026-01-01T00:00:00Z","to":"2026-01-02T00:00:00Z"}`, status: 400, fields: []string{"actor"}},
			{name: "compute by an unknown method", method: "POST", url: at + "/affected", key: "admin", body: `{"method":"guess"}`, status: 400, fields: []string{"method"}},
			{name: "sets", method: "GET", url: at + "/affected", key: "admin", status: 200, expect: []string{`"method":"upload"`, `"members_sha256":"`},
				forbid: []string{"cust-gpc"}},
			{name: "a decide key cannot compute", method: "POST", url: at + "/affected", key: "decide", body: `{"method":"upload","external_ids":["a"]}`, status: 403},
		})
	})
}
