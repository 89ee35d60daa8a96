package web_test

import (
	"testing"
)

// TestLegalHoldScenarios: an admin key places a legal hold with its reason,
// lists it and lifts it; a second open hold conflicts, a hold without a
// reason names the field, lifting none is not found. Keys without the admin
// scope are refused by authScenarios.
func TestLegalHoldScenarios(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, env *testEnv) {
		hold := func(name, method, subject, key, body string, status int, expect ...string) scenario {
			return scenario{name: name, method: method, url: "/v1/subjects/" + subject + "/legal-hold", key: key, body: body, status: status, expect: expect}
		}
		env.run(t, []scenario{
			hold("none yet", "GET", "cust-hold", "admin", "", 200, `{"holds":[]}`),
			hold("place", "POST", "cust-hold", "admin", `{"reason":"Claim 2026-17 before the labour court"}`, 201,
				`"subject_id":"cust-hold"`, `"reason":"Claim 2026-17 before the labour court"`, `"placed_by":"api_key:`),
			hold("a second open hold", "POST", "cust-hold", "admin", `{"reason":"another"}`, 409, `"code":"conflict"`),
			{name: "without a reason", method: "POST", url: "/v1/subjects/cust-other/legal-hold", key: "admin", body: `{"reason":" "}`, status: 400, fields: []string{"reason"}},
			{name: "a bad subject id", method: "POST", url: "/v1/subjects/a%20b/legal-hold", key: "admin", body: `{"reason":"x"}`, status: 400, fields: []string{"subject_id"}},
			{name: "an unknown field", method: "POST", url: "/v1/subjects/cust-other/legal-hold", key: "admin", body: `{"reason":"x","until":"2030"}`, status: 400, fields: []string{"until"}},
			hold("a decide key cannot lift it", "DELETE", "cust-hold", "decide", "", 403, `"code":"forbidden"`),
			hold("list", "GET", "cust-hold", "admin", "", 200, `"reason":"Claim 2026-17`),
			hold("lift", "DELETE", "cust-hold", "admin", "", 200, `"lifted_by":"api_key:`, `"lifted_at":"`),
			hold("lift none", "DELETE", "cust-hold", "admin", "", 404, `"code":"not_found"`),
			hold("the record stays", "GET", "cust-hold", "admin", "", 200, `"lifted_at":"`),
		})
	})
}
