package web_test

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/steward-dev/steward/internal/apikey"
	"github.com/steward-dev/steward/internal/app/apptest"
	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/dsr"
	"github.com/steward-dev/steward/internal/notify"
	"github.com/steward-dev/steward/internal/notify/mailtest"
	"github.com/steward-dev/steward/internal/vault"
)

// TestRequestsAPI replays issue 12 against a running server: company
// systems had no API for requests, so support could not file one a
// customer made by phone, and no system could follow the queue. Now GET
// /v1/requests (filters, cursor pages), GET /v1/requests/{id} and POST
// /v1/requests take an admin key only; a filing records its channel, is
// audited with the key, and the customer is emailed in their language.
func TestRequestsAPI(t *testing.T) {
	t.Parallel()
	for _, dialect := range dialects {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			mail := mailtest.Start(t, mailtest.Options{TLS: notify.TLSNone})
			srv := apptest.StartWith(t, dialect, apptest.Options{SMTP: mail.Addr()})
			c := caller{t, srv.URL}
			record, _, err := srv.App.Keys.Create(ctx, apikey.ScopeRecord, "", "crm")
			if err != nil {
				t.Fatal(err)
			}
			disclose, _, err := srv.App.Keys.Create(ctx, apikey.ScopeDisclose, "", "crm")
			if err != nil {
				t.Fatal(err)
			}
			admin := srv.Keys.Admin
			phone := `{"kind":"erasure","regime":"gdpr","channel":"phone","email":"caller@shop.example","language":"de"}`

			// Keys of other scopes are refused, whatever they ask.
			for name, key := range map[string]string{"ingest": srv.Keys.Ingest, "decide": srv.Keys.Decide, "record": record, "disclose": disclose} {
				for _, call := range [][3]string{{"GET", "/v1/requests", ""}, {"POST", "/v1/requests", phone}, {"GET", "/v1/requests/req_AAAAAAAAAAAAAAAA", ""}} {
					if code, body, _ := c.do(call[0], call[1], key, call[2]); code != 403 || !strings.Contains(body, "problem") && !strings.Contains(body, "status") {
						t.Errorf("%s key: %s %s = %d %s, want 403", name, call[0], call[1], code, body)
					}
				}
			}
			if code, _, _ := c.do("GET", "/v1/requests", "", ""); code != 401 {
				t.Errorf("no key: %d", code)
			}
			var n int
			if err := srv.App.DB.QueryRow(`SELECT count(*) FROM dsr_requests`).Scan(&n); err != nil || n != 0 {
				t.Fatalf("refused callers filed %d requests (%v)", n, err)
			}

			// Refused input names the field.
			for body, field := range map[string]string{
				`{"kind":"erasure","channel":"portal","email":"a@shop.example"}`:                "channel",
				`{"kind":"erasure","channel":"fax","email":"a@shop.example"}`:                   "channel",
				`{"kind":"erasure","channel":"phone"}`:                                          "email",
				`{"kind":"rename","channel":"phone","email":"a@shop.example"}`:                  "kind",
				`{"kind":"erasure","channel":"phone","subject_id":"cust-none"}`:                 "email",
				`{"kind":"erasure","channel":"phone","email":"a@shop.example","language":"it"}`: "language",
			} {
				code, got, header := c.do("POST", "/v1/requests", admin, body)
				if code != 400 || !strings.HasPrefix(header.Get("Content-Type"), "application/problem+json") || !strings.Contains(got, `"field":"`+field+`"`) {
					t.Errorf("POST %s: %d %s, want 400 naming %s", body, code, got, field)
				}
			}

			// Support files a request taken by phone.
			code, body, header := c.do("POST", "/v1/requests", admin, phone)
			var filed dsr.Request
			if code != 201 || json.Unmarshal([]byte(body), &filed) != nil || filed.Channel != dsr.ChannelPhone || filed.Language != "de" ||
				header.Get("Location") != "/v1/requests/"+filed.ID || strings.Contains(body, "caller@shop.example") {
				t.Fatalf("file: %d %s", code, body)
			}
			msg := mail.WaitFor(t, "caller@shop.example")
			if !strings.Contains(msg.Subject, "Wir haben Ihre Anfrage erhalten") || !strings.Contains(msg.Text, "/privacy/requests/"+filed.ID+"?lang=de") {
				t.Errorf("received email: %q\n%s", msg.Subject, msg.Text)
			}
			entries, err := srv.App.Audit.Search(ctx, audit.Query{Target: audit.Target{Kind: dsr.TargetRequest, ID: filed.ID}})
			if err != nil || len(entries.Entries) == 0 || entries.Entries[len(entries.Entries)-1].Action != "dsr.file" ||
				entries.Entries[len(entries.Entries)-1].Actor.Kind != audit.KindAPIKey || entries.Entries[len(entries.Entries)-1].Details.Map()["channel"] != "phone" {
				t.Fatalf("audit of the filing: %+v %v", entries.Entries, err)
			}
			// A second one, by letter, for a known subject with an address on file.
			if _, err := srv.App.Vault.Put(ctx, "cust-letter", vault.Field{Name: "email", Category: "contact", Value: []byte("letter@shop.example")}); err != nil {
				t.Fatal(err)
			}
			code, body, _ = c.do("POST", "/v1/requests", admin, `{"kind":"access","channel":"letter","subject_id":"cust-letter"}`)
			var second dsr.Request
			if code != 201 || json.Unmarshal([]byte(body), &second) != nil || second.SubjectID != "cust-letter" {
				t.Fatalf("file by subject: %d %s", code, body)
			}
			mail.WaitFor(t, "letter@shop.example")

			// The queue: filters and cursor pages.
			list := func(query string) (int, struct {
				Items []dsr.Queued `json:"items"`
				Next  string       `json:"next"`
			}, string) {
				t.Helper()
				var page struct {
					Items []dsr.Queued `json:"items"`
					Next  string       `json:"next"`
				}
				code, body, _ := c.do("GET", "/v1/requests?"+query, admin, "")
				_ = json.Unmarshal([]byte(body), &page)
				return code, page, body
			}
			if code, page, body := list("kind=erasure"); code != 200 || len(page.Items) != 1 || page.Items[0].Request.ID != filed.ID {
				t.Errorf("kind=erasure: %d %s", code, body)
			}
			code, first, body := list("limit=1")
			if code != 200 || len(first.Items) != 1 || first.Next == "" {
				t.Fatalf("limit=1: %d %s", code, body)
			}
			code, rest, body := list("limit=1&cursor=" + url.QueryEscape(first.Next))
			if code != 200 || len(rest.Items) != 1 || rest.Next != "" || rest.Items[0].Request.ID == first.Items[0].Request.ID {
				t.Fatalf("next page: %d %s", code, body)
			}
			if code, page, _ := list("closed=true"); code != 200 || len(page.Items) != 0 {
				t.Errorf("closed: %d %+v", code, page)
			}
			for query, field := range map[string]string{"state=lost": "state", "overdue=maybe": "overdue", "limit=0": "limit", "cursor=%21%21": "cursor", "regime=lgpd": "regime"} {
				if code, _, body := list(query); code != 400 || !strings.Contains(body, `"field":"`+field+`"`) {
					t.Errorf("?%s: %d %s, want 400 naming %s", query, code, body, field)
				}
			}
			// One request, its history and what staff may do next.
			code, body, _ = c.do("GET", "/v1/requests/"+filed.ID, admin, "")
			var detail struct {
				Request dsr.Request `json:"request"`
				History []dsr.Event `json:"history"`
				Actions []string    `json:"actions"`
			}
			if code != 200 || json.Unmarshal([]byte(body), &detail) != nil || detail.Request.ID != filed.ID || len(detail.History) != 1 ||
				len(detail.Actions) == 0 || detail.Actions[0] != "verify" {
				t.Fatalf("get: %d %s", code, body)
			}
			if code, body, _ := c.do("GET", "/v1/requests/req_doesnotexist0000", admin, ""); code != 404 {
				t.Errorf("missing: %d %s", code, body)
			}
		})
	}
}
