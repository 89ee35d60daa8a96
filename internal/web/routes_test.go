package web_test

import (
	"encoding/json"
	"html"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/steward-dev/steward/internal/app/apptest"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/i18n"
	"github.com/steward-dev/steward/internal/web"
	"github.com/steward-dev/steward/internal/web/admin"
	"github.com/steward-dev/steward/internal/web/httpx"
)

// TestRouteGroups: the route table is one list, grouped by surface; each
// route is in exactly one group, under that group's prefixes and no other
// group's.
func TestRouteGroups(t *testing.T) {
	for _, d := range []web.Deps{{}, {MetricsElsewhere: true}} {
		groups := web.RouteGroups(d)
		var surfaces []string
		for _, g := range groups {
			surfaces = append(surfaces, g.Surface)
		}
		if want := []string{"operational", "banner", "demo", "api", "console", "portal", "transparency", "assess"}; !slices.Equal(surfaces, want) {
			t.Fatalf("surfaces %v, want %v", surfaces, want)
		}
		groupOf := map[string]string{}
		var flat []string
		for _, g := range groups {
			if len(g.Routes) == 0 || len(g.Prefixes) == 0 {
				t.Errorf("group %s: %d routes, prefixes %v", g.Surface, len(g.Routes), g.Prefixes)
			}
			for _, rt := range g.Routes {
				if other, dup := groupOf[rt.Pattern]; dup {
					t.Errorf("%s is in groups %s and %s", rt.Pattern, other, g.Surface)
				}
				groupOf[rt.Pattern] = g.Surface
				flat = append(flat, rt.Pattern)
				_, path, _ := strings.Cut(rt.Pattern, " ")
				if !g.Holds(path) {
					t.Errorf("%s is in group %s but not under its prefixes %v", rt.Pattern, g.Surface, g.Prefixes)
				}
				for _, o := range groups {
					if o.Surface != g.Surface && o.Holds(path) {
						t.Errorf("%s (group %s) is also under the prefixes of group %s", rt.Pattern, g.Surface, o.Surface)
					}
				}
			}
		}
		var table []string
		for _, rt := range web.Routes(d) {
			table = append(table, rt.Pattern)
		}
		if !slices.Equal(flat, table) {
			t.Errorf("Routes is not the groups' routes in order:\n%v\n%v", table, flat)
		}
		if slices.Contains(table, "GET /metrics") == d.MetricsElsewhere {
			t.Errorf("MetricsElsewhere=%v, GET /metrics in the table: %v", d.MetricsElsewhere, !d.MetricsElsewhere)
		}
	}
}

// apiNeeds are the API routes that need an optional subsystem.
var apiNeeds = map[string]string{
	"GET /v1/incidents":                              "the incident register",
	"POST /v1/incidents":                             "the incident register",
	"GET /v1/incidents/{id}":                         "the incident register",
	"PATCH /v1/incidents/{id}":                       "the incident register",
	"POST /v1/incidents/{id}/status":                 "the incident register",
	"POST /v1/incidents/{id}/assessment":             "the incident register",
	"GET /v1/incidents/{id}/timeline":                "the incident register",
	"POST /v1/incidents/{id}/timeline":               "the incident register",
	"GET /v1/incidents/{id}/affected":                "the incident register",
	"POST /v1/incidents/{id}/affected":               "the incident register",
	"DELETE /v1/subjects/{id}/legal-hold":            "retention",
	"DELETE /v1/webhooks/endpoints/{id}":             "the webhook outbox",
	"GET /v1/requests":                               "the request workflow",
	"GET /v1/subjects/{id}/legal-hold":               "retention",
	"GET /v1/webhooks/dead-letters":                  "the webhook outbox",
	"GET /v1/webhooks/endpoints":                     "the webhook outbox",
	"GET /v1/webhooks/endpoints/{id}":                "the webhook outbox",
	"GET /v1/webhooks/endpoints/{id}/messages":       "the webhook outbox",
	"PATCH /v1/webhooks/endpoints/{id}":              "the webhook outbox",
	"POST /v1/detokenize":                            "the reveal limiter",
	"POST /v1/disclosures":                           "the disclosure service",
	"POST /v1/requests":                              "the request workflow",
	"POST /v1/subjects/{id}/fields/{name}/reveal":    "the reveal limiter",
	"POST /v1/subjects/{id}/legal-hold":              "retention",
	"POST /v1/webhooks/endpoints":                    "the webhook outbox",
	"POST /v1/webhooks/endpoints/{id}/rotate-secret": "the webhook outbox",
	"POST /v1/webhooks/messages/{id}/replay":         "the webhook outbox",
	"GET /v1/inventory":                              "the data map",
	"GET /v1/inventory/ropa":                         "the data map",

	// The incident review and public account, and the transparency pages.
	"GET /v1/incidents/{id}/review":                        "the incident register",
	"PUT /v1/incidents/{id}/review":                        "the incident register",
	"POST /v1/incidents/{id}/review/actions":               "the incident register",
	"POST /v1/incidents/{id}/review/actions/{action}/done": "the incident register",
	"GET /v1/incidents/{id}/account":                       "the incident register",
	"POST /v1/incidents/{id}/account":                      "the incident register",
	"POST /v1/incidents/{id}/account/withdraw":             "the incident register",
	"GET /transparency":                                    "the transparency pages",
	"GET /transparency.json":                               "the transparency pages",
	"GET /transparency/history":                            "the transparency pages",
	"GET /transparency/assets/{file}":                      "the transparency pages",
	"GET /transparency/incidents":                          "the transparency pages",
	"GET /transparency/incidents.json":                     "the transparency pages",
	"GET /transparency/incidents/{id}":                     "the transparency pages",
	// Telling the parties of an incident, and the preference centre's links.
	"GET /v1/incidents/{id}/regulator-report":     "the incident register",
	"GET /v1/incidents/{id}/notices":              "the incident register",
	"PUT /v1/incidents/{id}/notices/texts/{lang}": "the incident register",
	"POST /v1/incidents/{id}/notices":             "the incident register",
	"GET /v1/incidents/{id}/vendors":              "the incident register",
	"POST /v1/incidents/{id}/vendors":             "the incident register",
	"GET /v1/incidents/{id}/filings":              "the incident register",
	"POST /v1/incidents/{id}/filings":             "the incident register",
	"POST /v1/incidents/{id}/notified":            "the incident register",
	"POST /v1/subjects/{id}/preference-links":     "the preference centre",
	// The purposes' ethics assessments.
	"GET /v1/purposes/{key}/assessment":          "the ethics assessments",
	"PUT /v1/purposes/{key}/assessment":          "the ethics assessments",
	"POST /v1/purposes/{key}/assessment/approve": "the ethics assessments",
}

// consoleNeeds are the console pages that need an optional subsystem of
// the console, by its short name (its page says console.problem_no_NAME).
var consoleNeeds = map[string]string{
	"GET /admin/incidents":                       "incidents",
	"POST /admin/incidents":                      "incidents",
	"GET /admin/incidents/{id}":                  "incidents",
	"POST /admin/incidents/{id}":                 "incidents",
	"POST /admin/incidents/{id}/status":          "incidents",
	"POST /admin/incidents/{id}/assessment":      "incidents",
	"POST /admin/incidents/{id}/note":            "incidents",
	"POST /admin/incidents/{id}/affected":        "incidents",
	"GET /admin/report-incident":                 "incidents",
	"POST /admin/report-incident":                "incidents",
	"GET /admin/scans":                           "scans",
	"POST /admin/scans":                          "scans",
	"GET /admin/scans/{id}":                      "scans",
	"POST /admin/scans/{id}/assign":              "scans",
	"GET /admin/scans/{property}/declaration":    "scans",
	"GET /admin/keys":                            "keys",
	"POST /admin/keys":                           "keys",
	"POST /admin/keys/{id}/revoke":               "keys",
	"GET /admin/webhooks":                        "webhooks",
	"POST /admin/webhooks":                       "webhooks",
	"POST /admin/webhooks/{id}/{op}":             "webhooks",
	"POST /admin/webhooks/messages/{id}/replay":  "webhooks",
	"GET /admin/jobs":                            "jobs",
	"POST /admin/jobs/{id}/{op}":                 "jobs",
	"POST /admin/customers/{id}/reveal":          "reveals",
	"GET /admin/drift":                           "drift",
	"POST /admin/drift/{id}/{decision}":          "drift",
	"POST /admin/customers/{id}/legal-hold":      "retention",
	"POST /admin/customers/{id}/legal-hold/lift": "retention",
	"GET /admin/retention":                       "retention",
	"GET /admin/inventory":                       "inventory",
	"GET /admin/inventory/systems/{key}":         "inventory",
	"POST /admin/inventory/systems/{key}":        "inventory",
	"GET /admin/inventory/ropa":                  "inventory",
	"GET /admin/inventory/ropa.csv":              "inventory",

	// The incident review and public account.
	"GET /admin/incidents/{id}/review":                        "incidents",
	"POST /admin/incidents/{id}/review":                       "incidents",
	"POST /admin/incidents/{id}/review/actions":               "incidents",
	"POST /admin/incidents/{id}/review/actions/{action}/done": "incidents",
	"POST /admin/incidents/{id}/account/preview":              "incidents",
	"POST /admin/incidents/{id}/account":                      "incidents",
	"POST /admin/incidents/{id}/account/withdraw":             "incidents",
	"POST /admin/my-actions/{action}/done":                    "incidents",
	// Telling the parties of an incident.
	"GET /admin/incidents/{id}/parties":          "incidents",
	"POST /admin/incidents/{id}/notices/texts":   "incidents",
	"POST /admin/incidents/{id}/notices":         "incidents",
	"POST /admin/incidents/{id}/vendors":         "incidents",
	"POST /admin/incidents/{id}/filings":         "incidents",
	"POST /admin/incidents/{id}/notified":        "incidents",
	"GET /admin/incidents/{id}/regulator-report": "incidents",
	// Consent analytics.
	"GET /admin/analytics":          "analytics",
	"GET /admin/analytics.csv":      "analytics",
	"POST /admin/analytics/rebuild": "analytics",
	// Access reviews and the monthly report.
	"GET /admin/access-reviews":                        "reviews",
	"POST /admin/access-reviews":                       "reviews",
	"GET /admin/access-reviews/{id}":                   "reviews",
	"POST /admin/access-reviews/{id}/accounts/{staff}": "reviews",
	"POST /admin/access-reviews/{id}/close":            "reviews",
	"GET /admin/reports/monthly":                       "reports",
	"GET /admin/reports/monthly/print":                 "reports",
	"GET /admin/reports/monthly.json":                  "reports",
	// The purposes' ethics assessments.
	"GET /admin/catalog/assessments":                        "ethics",
	"GET /admin/catalog/purposes/{key}/assessment":          "ethics",
	"POST /admin/catalog/purposes/{key}/assessment":         "ethics",
	"POST /admin/catalog/purposes/{key}/assessment/approve": "ethics",
	"GET /admin/catalog/purposes/{key}/assessment/print":    "ethics",
}

var wildcard = regexp.MustCompile(`\{[^}]+\}`)

// request makes a request for a route's pattern.
func request(pattern string) *http.Request {
	method, path, _ := strings.Cut(pattern, " ")
	return httptest.NewRequest(method, wildcard.ReplaceAllString(path, "x"), nil)
}

// TestOffSubsystemsAnswer503 serves each route of a server that runs
// without any optional subsystem: the routes that need one answer 503 with
// an RFC 9457 problem of code "unavailable" naming it; the others are
// served as usual.
func TestOffSubsystemsAnswer503(t *testing.T) {
	want := func(pattern string) string {
		_, path, _ := strings.Cut(pattern, " ")
		under := func(p string) bool { return path == p || strings.HasPrefix(path, p+"/") }
		switch {
		case under("/admin"):
			return "the staff console"
		case under("/privacy"):
			return "the privacy portal"
		case under("/assess"):
			return "the vendor questionnaire"
		case path == "/banner.js" || path == "/banner-tcf.js" || path == "/banner-gpp.js" || path == "/form.js" || path == "/tcf/vendor-list.json":
			return "the banner"
		}
		return apiNeeds[pattern]
	}
	for _, rt := range web.Routes(web.Deps{}) {
		t.Run(rt.Pattern, func(t *testing.T) {
			subsystem, on, ok := web.Requirement(rt.Handler)
			w := want(rt.Pattern)
			if w == "" {
				if ok {
					t.Fatalf("needs %q, want no subsystem", subsystem)
				}
				return
			}
			if !ok || on || subsystem != w {
				t.Fatalf("Requirement = %q, on %v, %v; want %q, off", subsystem, on, ok, w)
			}
			rec := httptest.NewRecorder()
			rt.Handler.ServeHTTP(rec, request(rt.Pattern))
			if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Content-Type") != "application/problem+json" || rec.Header().Get("Retry-After") == "" {
				t.Fatalf("%d %s (Retry-After %q): %s", rec.Code, rec.Header().Get("Content-Type"), rec.Header().Get("Retry-After"), rec.Body)
			}
			var p httpx.Problem
			if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
				t.Fatal(err)
			}
			if p.Code != "unavailable" || p.Status != http.StatusServiceUnavailable || p.Detail != w+" is not configured on this server" {
				t.Fatalf("problem %+v", p)
			}
		})
	}
	for pattern := range apiNeeds {
		if !slices.ContainsFunc(web.Routes(web.Deps{}), func(rt web.Route) bool { return rt.Pattern == pattern }) {
			t.Errorf("%s is not a route", pattern)
		}
	}
}

// TestConsoleSubsystemsOffAnswer503Pages: a console without its optional
// subsystems answers their pages 503 with its own error page (HTML), and
// its other pages as usual.
func TestConsoleSubsystemsOffAnswer503Pages(t *testing.T) {
	a := apptest.Start(t, db.SQLite).App
	console, err := admin.New(admin.Deps{Staff: a.Staff, Vault: a.Vault, Audit: a.Audit, Consent: a.Consent, Requests: a.Requests})
	if err != nil {
		t.Fatal(err)
	}
	for _, rt := range web.Routes(web.Deps{Console: console}) {
		if !strings.Contains(rt.Pattern, " /admin") {
			continue
		}
		t.Run(rt.Pattern, func(t *testing.T) {
			w := consoleNeeds[rt.Pattern]
			if strings.HasPrefix(rt.Pattern, "GET /admin/vendors") || strings.HasPrefix(rt.Pattern, "POST /admin/vendors") {
				w = "vendors"
			}
			subsystem, on, ok := web.Requirement(rt.Handler)
			if w == "" {
				if ok {
					t.Fatalf("needs %q, want no subsystem", subsystem)
				}
				return
			}
			if !ok || on || subsystem != w {
				t.Fatalf("Requirement = %q, on %v, %v; want %q, off", subsystem, on, ok, w)
			}
			for _, lang := range []string{"en", "de"} {
				rec := httptest.NewRecorder()
				req := request(rt.Pattern)
				req.Header.Set("Accept-Language", lang)
				rt.Handler.ServeHTTP(rec, req)
				says := html.EscapeString(i18n.Default().Printer(lang).T("console.problem_no_" + w))
				if rec.Code != http.StatusServiceUnavailable || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") ||
					!strings.Contains(rec.Body.String(), says) || (lang != "en" && says == html.EscapeString(i18n.Default().Printer("en").T("console.problem_no_"+w))) {
					t.Fatalf("%s: %d %s, want %q: %s", lang, rec.Code, rec.Header().Get("Content-Type"), says, rec.Body)
				}
			}
		})
	}
}
