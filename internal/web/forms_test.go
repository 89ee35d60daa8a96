package web_test

import (
	"net/http"
	"testing"
)

// TestFormScenarios: forms are declared per property by an admin key only,
// with keyed validation; a form's choices are recorded with source
// form:<id> only for a declared form of the event's property and the
// purposes it asks for; the public ingest key still records device events
// only (the attack of issue 11, replayed with a form's source), while the
// back end's record key records the customer's own with the form's source.
func TestFormScenarios(t *testing.T) {
	t.Parallel()
	event := func(id, who, purpose, source string) string {
		return `{"events":[{"id":"` + id + `","property":"demo",` + who + `,"purpose":"` + purpose + `","action":"grant","source":"` + source + `","notice_version":"2026-11"}]}`
	}
	checkout := `{"id":"checkout","name":"Checkout","purposes":["marketing","analytics"]}`
	forEachDialect(t, func(t *testing.T, env *testEnv) {
		env.run(t, []scenario{
			{name: "undeclared form: the page's snippet is refused", method: "GET", url: "/form.js?p=demo&f=checkout", status: http.StatusNotFound, fields: []string{"f"}},
			{name: "undeclared form: a choice in it is refused", method: "POST", url: "/v1/consent/events", key: "ingest",
				body: event("f-0", `"device":"dev-form"`, "marketing", "form:checkout"), status: http.StatusBadRequest, fields: []string{"events[0].source"},
				expect: []string{`form \"checkout\" is not declared for property \"demo\"`}},
			{name: "the ingest key may not declare a form", method: "POST", url: "/v1/properties/demo/forms", key: "ingest", body: checkout, status: http.StatusForbidden},
			{name: "the record key may not declare a form", method: "POST", url: "/v1/properties/demo/forms", key: "record", body: checkout, status: http.StatusForbidden},
			{name: "declare on an unknown property", method: "POST", url: "/v1/properties/nope/forms", key: "admin", body: checkout, status: http.StatusNotFound},
			{name: "declare asking a necessary purpose", method: "POST", url: "/v1/properties/demo/forms", key: "admin",
				body: `{"id":"bad","name":"Bad","purposes":["necessary"]}`, status: http.StatusBadRequest, fields: []string{"purposes[0]"}},
			{name: "declare with a bad id and no name", method: "POST", url: "/v1/properties/demo/forms", key: "admin",
				body: `{"id":"Check Out","purposes":["marketing"]}`, status: http.StatusBadRequest, fields: []string{"id", "name"}},
			{name: "declare", method: "POST", url: "/v1/properties/demo/forms", key: "admin", body: checkout, status: http.StatusCreated,
				expect: []string{`"property":"demo"`, `"id":"checkout"`, `"purposes":["marketing","analytics"]`}},
			{name: "declare again", method: "POST", url: "/v1/properties/demo/forms", key: "admin", body: checkout, status: http.StatusConflict},
			{name: "list", method: "GET", url: "/v1/properties/demo/forms", key: "admin", status: http.StatusOK, expect: []string{`"id":"checkout"`}},
			{name: "read", method: "GET", url: "/v1/properties/demo/forms/checkout", key: "admin", status: http.StatusOK, expect: []string{`"name":"Checkout"`}},
			{name: "read an undeclared form", method: "GET", url: "/v1/properties/demo/forms/nope", key: "admin", status: http.StatusNotFound},
			{name: "change with another id in the body", method: "PUT", url: "/v1/properties/demo/forms/checkout", key: "admin",
				body: `{"id":"other","name":"Checkout","purposes":["marketing"]}`, status: http.StatusBadRequest, fields: []string{"id"}},
			{name: "change", method: "PUT", url: "/v1/properties/demo/forms/checkout", key: "admin",
				body: `{"name":"Checkout page","purposes":["marketing","analytics"]}`, status: http.StatusOK, expect: []string{`"name":"Checkout page"`}},
			{name: "declared form: the snippet", method: "GET", url: "/form.js?p=demo&f=checkout", status: http.StatusOK,
				expect: []string{`"form":"checkout"`, `"key":"marketing"`}, forbid: []string{`"key":"sale_of_data"`}},
			{name: "ingest key: a device's choice in the form", method: "POST", url: "/v1/consent/events", key: "ingest",
				body: event("f-1", `"device":"dev-form"`, "marketing", "form:checkout"), status: http.StatusOK, expect: []string{`"receipt":"eyJ`}},
			// The attack of issue 11 with a form's source: the public key
			// names a customer. Refused, the ledger unchanged.
			{name: "ingest key: a customer's choice in the form", method: "POST", url: "/v1/consent/events", key: "ingest",
				body: event("f-2", `"subject":"cust-form"`, "marketing", "form:checkout"), status: http.StatusBadRequest, fields: []string{"events[0].subject"}},
			{name: "ingest key: a purpose the form does not ask", method: "POST", url: "/v1/consent/events", key: "ingest",
				body: event("f-3", `"device":"dev-form"`, "sale_of_data", "form:checkout"), status: http.StatusBadRequest, fields: []string{"events[0].source"}},
			{name: "another property's key: the form of demo", method: "POST", url: "/v1/consent/events", key: "kiosk",
				body: event("f-4", `"device":"dev-form"`, "marketing", "form:checkout"), status: http.StatusBadRequest, fields: []string{"events[0].property"}},
			{name: "record key: the customer's choice in the form", method: "POST", url: "/v1/consent/events", key: "record",
				body: event("f-5", `"subject":"cust-form"`, "marketing", "form:checkout"), status: http.StatusOK, expect: []string{`"receipt":"eyJ`}},
			{name: "record key: an undeclared form", method: "POST", url: "/v1/consent/events", key: "record",
				body: event("f-6", `"subject":"cust-form"`, "marketing", "form:newsletter"), status: http.StatusBadRequest, fields: []string{"events[0].source"}},
			{name: "the customer's decision follows the form", method: "POST", url: "/v1/decisions", key: "decide",
				body: `{"questions":[{"subject":"cust-form","purpose":"marketing","property":"demo"}]}`, status: http.StatusOK, expect: []string{`"allowed":true`}},
		})
	})
}
