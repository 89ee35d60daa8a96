package web_test

import (
	"context"
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/steward-dev/steward/internal/app/apptest"
	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/dsr"
	"github.com/steward-dev/steward/internal/notify"
	"github.com/steward-dev/steward/internal/notify/mailtest"
	"github.com/steward-dev/steward/internal/staff"
)

const identityStatement = "Called the number on file; the customer answered both security questions."

// TestConsoleStaffVerifiesIdentity replays issue 12's last identity gap: a
// customer who cannot give the data points was stuck, since no code path
// let staff record a verification made another way. Now an officer
// records it on the request page (channel and statement), which satisfies
// the tier; staff without the requests permission, and a form without
// its CSRF token, are refused and change nothing; the page names who
// verified it, when and how; the audit log holds the act with the
// channel, never the statement.
func TestConsoleStaffVerifiesIdentity(t *testing.T) {
	for _, dialect := range dialects {
		t.Run(string(dialect), func(t *testing.T) {
			ctx := context.Background()
			f := newConsoleFixture(t, dialect)
			app := f.srv.App
			hash, _ := app.Vault.BlindIndex(ctx, "email", "ada.fixture@example.org")
			req, err := app.Requests.File(ctx, dsr.NewRequest{Kind: dsr.KindErasure, Regime: dsr.GDPR, SubjectID: "cust-1",
				Email: "ada.fixture@example.org", EmailHash: hash, Categories: []string{"financial"}})
			if err != nil {
				t.Fatal(err)
			}
			path := "/admin/requests/" + req.ID + "/identity"
			form := func(csrf string) url.Values {
				return url.Values{"csrf": {csrf}, "channel": {"phone"}, "statement": {identityStatement}}
			}
			unchanged := func(when string) {
				t.Helper()
				if idn, err := app.Requests.Identity(ctx, req.ID); err != nil || idn.Satisfied() || idn.StaffVerified != nil {
					t.Fatalf("%s: identity %+v, %v", when, idn, err)
				}
			}

			// Staff whose role may not handle requests are refused, with a
			// valid token of their own session.
			for _, role := range []staff.Role{staff.RoleSupport, staff.RoleSecurityOfficer, staff.RoleAnalyst, staff.RoleAdmin} {
				b, _ := f.browserFor(t, role)
				if got := b.do("POST", path, form(b.formToken("/admin/training"))); got.status != http.StatusForbidden {
					t.Fatalf("%s: %d %.300s, want 403", role, got.status, got.body)
				}
			}
			unchanged("after refused roles")

			officerBrowser, officer := f.browserFor(t, staff.RolePrivacyOfficer)
			page := officerBrowser.do("GET", "/admin/requests/"+req.ID, nil)
			if page.status != 200 || !strings.Contains(page.body, `action="`+path+`"`) || !strings.Contains(page.body, "Verified the customer another way?") {
				t.Fatalf("request page offers no identity form: %d %.3000s", page.status, page.body)
			}
			// A form without its token, or with another's, is refused.
			for name, csrf := range map[string]string{"missing": "", "guessed": "guess"} {
				values := form(csrf)
				if csrf == "" {
					values.Del("csrf")
				}
				if got := officerBrowser.do("POST", path, values); got.status != http.StatusForbidden {
					t.Fatalf("CSRF %s: %d %.300s, want 403", name, got.status, got.body)
				}
			}
			unchanged("after forms without CSRF")

			// A statement too short is shown again with the field marked,
			// the channel kept.
			bad := form(officerBrowser.formToken("/admin/requests/" + req.ID))
			bad.Set("statement", "ok")
			if got := officerBrowser.do("POST", path, bad); got.status != http.StatusBadRequest || !strings.Contains(got.body, "statement") ||
				!strings.Contains(got.body, `<option value="phone" selected>`) {
				t.Fatalf("short statement: %d %.3000s", got.status, got.body)
			}
			unchanged("after a short statement")

			if got := officerBrowser.do("POST", path, form(officerBrowser.formToken("/admin/requests/"+req.ID))); got.status != http.StatusSeeOther {
				t.Fatalf("record: %d %.3000s", got.status, got.body)
			}
			idn, err := app.Requests.Identity(ctx, req.ID)
			if err != nil || !idn.Satisfied() || idn.StaffVerified == nil || idn.StaffVerified.By != audit.Staff(officer.ID) {
				t.Fatalf("identity after the record: %+v, %v", idn, err)
			}
			page = officerBrowser.do("GET", "/admin/requests/"+req.ID, nil)
			want := "Identity verified by " + officer.Name + " (privacy officer) on " + idn.StaffVerified.At.Format("2006-01-02") + ": “" + identityStatement + "” (by a phone call)."
			if !strings.Contains(page.body, want) || strings.Contains(page.body, "Verified the customer another way?") {
				t.Fatalf("request page lacks %q, or still offers the form: %.4000s", want, page.body)
			}
			// The tier is met: the request can be verified now.
			verify := url.Values{"csrf": {officerBrowser.formToken("/admin/requests/" + req.ID)}}
			if got := officerBrowser.do("POST", "/admin/requests/"+req.ID+"/verify", verify); got.status != http.StatusSeeOther {
				t.Fatalf("verify after the record: %d %.300s", got.status, got.body)
			}
			// A second record is refused with a sentence, not a raw 409.
			if got := officerBrowser.do("POST", path, form(officerBrowser.formToken("/admin/requests/"+req.ID))); got.status != http.StatusConflict ||
				!strings.Contains(got.body, "verified already") {
				t.Fatalf("second record: %d %.300s", got.status, got.body)
			}
			entries, err := app.Audit.Search(ctx, audit.Query{Target: audit.Target{Kind: dsr.TargetRequest, ID: req.ID}})
			if err != nil {
				t.Fatal(err)
			}
			var found int
			for _, e := range entries.Entries {
				if e.Action == "dsr.identity_verified_by_staff" {
					found++
					if e.Actor != audit.Staff(officer.ID) || e.Details.Map()["channel"] != "phone" || strings.Contains(e.Details.String(), "security questions") {
						t.Errorf("audit entry %v %s", e.Actor, e.Details)
					}
				}
			}
			if found != 1 {
				t.Fatalf("%d dsr.identity_verified_by_staff entries, want 1", found)
			}
			// The audit log says it in a sentence, without the statement.
			security, _ := f.browserFor(t, staff.RoleSecurityOfficer)
			logPage := security.do("GET", "/admin/audit", nil)
			if text := html.UnescapeString(logPage.body); logPage.status != 200 ||
				!strings.Contains(text, "Recorded the customer's identity as verified by a phone call, for the points2 tier.") || strings.Contains(text, "security questions") {
				t.Errorf("audit page: %d %.4000s", logPage.status, logPage.body)
			}
		})
	}
}

// TestRequestsAPIIdentityAndAgents: a company system files an agent's
// request through POST /v1/requests (the customer is emailed the link to
// confirm it), reads in GET /v1/requests/{id} the identity the request
// needs and the agent's part (never the agent's name, email or mandate),
// and records an identity its staff verified another way through POST
// /v1/requests/{id}/identity; other keys are refused, and bad input is a
// problem naming the field.
func TestRequestsAPIIdentityAndAgents(t *testing.T) {
	t.Parallel()
	for _, dialect := range dialects {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			mail := mailtest.Start(t, mailtest.Options{TLS: notify.TLSNone})
			srv := apptest.StartWith(t, dialect, apptest.Options{SMTP: mail.Addr()})
			c := caller{t, srv.URL}
			admin := srv.Keys.Admin

			agentBody := `{"kind":"access","regime":"ccpa","scope":"categories","channel":"email","email":"customer@shop.example","language":"fr",
				"agent":{"name":"Lex Agency","email":"lex@agency.example","mandate":"Power of attorney for customer@shop.example, signed 2026-11-01"}}`
			for body, field := range map[string]string{
				strings.Replace(agentBody, `"name":"Lex Agency"`, `"name":""`, 1):                                         "agent.name",
				strings.Replace(agentBody, `lex@agency.example`, `customer@shop.example`, 1):                              "agent.email",
				strings.Replace(agentBody, `"Power of attorney for customer@shop.example, signed 2026-11-01"`, `"  "`, 1): "agent.mandate",
				strings.Replace(agentBody, `"scope":"categories"`, `"scope":"everything"`, 1):                             "scope",
				strings.Replace(agentBody, `"regime":"ccpa"`, `"regime":"gdpr"`, 1):                                       "scope",
				strings.Replace(agentBody, `"agent":{`, `"agent":{"phone":"1",`, 1):                                       "phone",
			} {
				code, got, header := c.do("POST", "/v1/requests", admin, body)
				if code != 400 || !strings.HasPrefix(header.Get("Content-Type"), "application/problem+json") || !strings.Contains(got, `"field":"`+field+`"`) {
					t.Errorf("POST %s: %d %s, want 400 naming %s", body, code, got, field)
				}
			}
			code, body, _ := c.do("POST", "/v1/requests", admin, agentBody)
			var filed dsr.Request
			if code != 201 || json.Unmarshal([]byte(body), &filed) != nil || strings.Contains(body, "Lex") || strings.Contains(body, "Power of attorney") {
				t.Fatalf("agent filing: %d %s", code, body)
			}
			// The customer may be told the request was received first.
			msg := mail.WaitForMatch(t, "customer@shop.example", func(m mailtest.Message) bool { return strings.Contains(m.Text, "/privacy/agent/confirm/") })
			if !strings.Contains(msg.Text, "/privacy/agent/confirm/"+filed.ID) || !strings.Contains(msg.Text, "Lex Agency") {
				t.Fatalf("confirmation email: %q\n%s", msg.Subject, msg.Text)
			}

			type detail struct {
				Identity struct {
					Required struct {
						Points      int  `json:"points"`
						Declaration bool `json:"declaration"`
					} `json:"required"`
					Tier              string          `json:"tier"`
					Reached           string          `json:"reached"`
					Satisfied         bool            `json:"satisfied"`
					StaffVerification json.RawMessage `json:"staff_verification"`
				} `json:"identity"`
				Agent *struct {
					Confirmed bool   `json:"confirmed"`
					ExpiresAt string `json:"expires_at"`
				} `json:"agent"`
			}
			get := func(id string) (detail, string) {
				t.Helper()
				code, body, _ := c.do("GET", "/v1/requests/"+id, admin, "")
				var d detail
				if code != 200 || json.Unmarshal([]byte(body), &d) != nil {
					t.Fatalf("GET %s: %d %s", id, code, body)
				}
				return d, body
			}
			d, raw := get(filed.ID)
			if d.Identity.Required.Points != 2 || d.Identity.Tier != "points2" || d.Identity.Reached != "code" || d.Identity.Satisfied ||
				d.Agent == nil || d.Agent.Confirmed || d.Agent.ExpiresAt == "" {
				t.Fatalf("detail of the agent's request: %s", raw)
			}
			for _, secret := range []string{"Lex", "lex@agency.example", "Power of attorney", "customer@shop.example"} {
				if strings.Contains(raw, secret) {
					t.Fatalf("GET shows %q: %s", secret, raw)
				}
			}

			// Staff verified the customer by phone: recorded through the API.
			path := "/v1/requests/" + filed.ID + "/identity"
			good := `{"channel":"phone","statement":"` + identityStatement + `"}`
			for name, key := range map[string]string{"ingest": srv.Keys.Ingest, "decide": srv.Keys.Decide} {
				if code, _, _ := c.do("POST", path, key, good); code != 403 {
					t.Errorf("%s key: %d, want 403", name, code)
				}
			}
			if code, _, _ := c.do("POST", path, "", good); code != 401 {
				t.Errorf("no key: %d, want 401", code)
			}
			for body, field := range map[string]string{
				`{"channel":"telepathy","statement":"` + identityStatement + `"}`: "channel",
				`{"channel":"phone","statement":"ok"}`:                            "statement",
				`{"channel":"phone"}`:                                             "statement",
			} {
				code, got, header := c.do("POST", path, admin, body)
				if code != 400 || !strings.HasPrefix(header.Get("Content-Type"), "application/problem+json") || !strings.Contains(got, `"field":"`+field+`"`) {
					t.Errorf("POST identity %s: %d %s, want 400 naming %s", body, code, got, field)
				}
			}
			if code, got, _ := c.do("POST", "/v1/requests/req_AAAAAAAAAAAAAAAA/identity", admin, good); code != 404 {
				t.Errorf("unknown request: %d %s", code, got)
			}
			code, body, _ = c.do("POST", path, admin, good)
			if code != 200 || !strings.Contains(body, `"satisfied":true`) || !strings.Contains(body, `"channel":"phone"`) || !strings.Contains(body, `"by":"api_key:`) {
				t.Fatalf("record: %d %s", code, body)
			}
			if code, got, _ := c.do("POST", path, admin, good); code != 409 || !strings.Contains(got, "verified already") {
				t.Fatalf("second record: %d %s", code, got)
			}
			d, raw = get(filed.ID)
			if !d.Identity.Satisfied || d.Identity.Reached != "points2" || len(d.Identity.StaffVerification) == 0 || d.Agent.Confirmed {
				t.Fatalf("detail after the record: %s", raw)
			}
			// Identity met, but the customer has not confirmed the agent yet.
			if err := srv.App.Requests.CheckWorkable(context.Background(), filed.ID); err == nil {
				t.Fatal("an agent's request is workable before the customer confirmed it")
			}

			// A request of the customer's own has no agent; the code suffices.
			code, body, _ = c.do("POST", "/v1/requests", admin, `{"kind":"objection","channel":"phone","email":"own@shop.example","details":"no marketing"}`)
			var own dsr.Request
			if code != 201 || json.Unmarshal([]byte(body), &own) != nil {
				t.Fatalf("own filing: %d %s", code, body)
			}
			d, raw = get(own.ID)
			if d.Agent != nil || !d.Identity.Satisfied || d.Identity.Tier != "code" || strings.Contains(raw, `"agent"`) {
				t.Fatalf("detail of the customer's own request: %s", raw)
			}
			if code, got, _ := c.do("POST", "/v1/requests/"+own.ID+"/identity", admin, good); code != 409 {
				t.Fatalf("identity of a code-only request: %d %s", code, got)
			}
		})
	}
}
