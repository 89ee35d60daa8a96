package web_test

import (
	"context"
	"errors"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/dsr"
	"github.com/steward-dev/steward/internal/notify/mailtest"
	"github.com/steward-dev/steward/internal/staff"
	"github.com/steward-dev/steward/internal/vault"
)

var requestID = regexp.MustCompile(`req_[A-Za-z0-9_-]+`)

// TestPortalSecondProof replays issue 12: a customer signed in with the
// email code alone (or anyone holding their mailbox) exported their
// financial data. Now the export waits for two data points, typed in the
// portal in the customer's language; wrong ones are refused without echo,
// another customer cannot try, staff see the tier, and right ones let it
// proceed. A request touching no sensitive data needs only the code.
func TestPortalSecondProof(t *testing.T) {
	for _, dialect := range []db.Dialect{db.SQLite, db.Postgres} {
		t.Run(string(dialect), func(t *testing.T) {
			ctx := context.Background()
			f := newPortalFixture(t, dialect)
			app := f.srv.App
			if _, err := app.Vault.Put(ctx, "cust-1", vault.Field{Name: "birth_date", Category: "other", Value: []byte("1815-12-10")}); err != nil {
				t.Fatal(err)
			}
			b := f.signIn(t, "ada.portal@example.org")
			token := csrfField.FindStringSubmatch(b.do("GET", "/privacy/home?lang=de", nil).body)[1]
			filed := b.do("POST", "/privacy/requests", url.Values{"csrf": {token}, "kind": {"export"}, "lang": {"de"}})
			id := requestID.FindString(filed.header.Get("Location"))
			if id == "" {
				t.Fatalf("file: %d", filed.status)
			}
			page := b.do("GET", "/privacy/requests/"+id+"?lang=de", nil)
			if !strings.Contains(page.body, "Wir warten darauf, dass Sie Ihre Identität bestätigen.") || !strings.Contains(page.body, `action="/privacy/requests/`+id+`/identity"`) ||
				!strings.Contains(page.body, "Letzte 4 Ziffern Ihrer IBAN") {
				t.Fatalf("request page: %.4000s", page.body)
			}
			staffCtx := audit.WithActor(ctx, audit.Staff("stf_officer"))
			if _, err := app.Requests.Verify(staffCtx, id); !errors.Is(err, dsr.ErrIdentityNotReached) {
				t.Fatalf("staff verify before the second proof: %v", err)
			}
			officer, _ := (&consoleFixture{srv: f.srv}).browserFor(t, staff.RolePrivacyOfficer)
			if got := officer.do("GET", "/admin/requests/"+id, nil); !strings.Contains(got.body, "waiting for the customer to confirm their identity") {
				t.Fatalf("console before the proof: %.4000s", got.body)
			}
			// Another customer cannot try.
			other := f.signIn(t, "nobody@example.org")
			otherToken := csrfField.FindStringSubmatch(other.do("GET", "/privacy/home", nil).body)[1]
			if got := other.do("POST", "/privacy/requests/"+id+"/identity", url.Values{"csrf": {otherToken},
				"point_0": {"iban_last4"}, "value_0": {"3000"}, "point_1": {"birth_date"}, "value_1": {"1815-12-10"}}); got.status != http.StatusNotFound {
				t.Fatalf("another customer proves: %d", got.status)
			}
			token = csrfField.FindStringSubmatch(page.body)[1]
			wrong := b.do("POST", "/privacy/requests/"+id+"/identity", url.Values{"csrf": {token}, "lang": {"de"},
				"point_0": {"iban_last4"}, "value_0": {"9876"}, "point_1": {"birth_date"}, "value_1": {"1901-02-03"}})
			if wrong.status != http.StatusBadRequest || !strings.Contains(wrong.body, "Diese Angaben stimmen nicht mit unseren Daten überein.") {
				t.Fatalf("wrong points: %d %.3000s", wrong.status, wrong.body)
			}
			for _, leak := range []string{"9876", "1901-02-03", "3000", "1815-12-10", f.iban} {
				if strings.Contains(wrong.body, leak) {
					t.Errorf("the refusal shows %q", leak)
				}
			}
			right := b.do("POST", "/privacy/requests/"+id+"/identity", url.Values{"csrf": {token}, "lang": {"de"},
				"point_0": {"iban_last4"}, "value_0": {"30 00"}, "point_1": {"birth_date"}, "value_1": {"1815-12-10"}})
			if right.status != http.StatusSeeOther {
				t.Fatalf("right points: %d %.2000s", right.status, right.body)
			}
			if after := b.do("GET", right.header.Get("Location"), nil); !strings.Contains(after.body, "Ihre Identität ist bestätigt") {
				t.Fatalf("after the proof: %.3000s", after.body)
			}
			if got := officer.do("GET", "/admin/requests/"+id, nil); !strings.Contains(got.body, "Reached: <strong>points2") {
				t.Fatalf("console after the proof: %.4000s", got.body)
			}
			if _, err := app.Requests.Verify(staffCtx, id); err != nil {
				t.Fatalf("verify after the proof: %v", err)
			}
			// A restriction touches no sensitive data: the code suffices.
			token = csrfField.FindStringSubmatch(b.do("GET", "/privacy/home", nil).body)[1]
			filed = b.do("POST", "/privacy/requests", url.Values{"csrf": {token}, "kind": {"restriction"}})
			plain := requestID.FindString(filed.header.Get("Location"))
			if page := b.do("GET", "/privacy/requests/"+plain, nil); strings.Contains(page.body, "/identity") {
				t.Fatalf("a restriction asks for data points: %.3000s", page.body)
			}
			if _, err := app.Requests.Verify(staffCtx, plain); err != nil {
				t.Fatalf("verify a restriction: %v", err)
			}
		})
	}
}

// TestPortalAgentFlow replays issue 12's authorised agent: filed with a
// mandate, the customer is asked in their language by an emailed link,
// nothing proceeds before they confirm, another request's link confirms
// nothing, staff see the agent and the mandate, and filings are limited.
func TestPortalAgentFlow(t *testing.T) {
	for _, dialect := range []db.Dialect{db.SQLite, db.Postgres} {
		t.Run(string(dialect), func(t *testing.T) {
			ctx := context.Background()
			f := newPortalFixture(t, dialect)
			app := f.srv.App
			agent := newBrowser(t, f.srv.URL)
			fileFor := func(customerEmail, agentEmail string) answer {
				token := agent.formToken("/privacy/agent?lang=fr")
				return agent.do("POST", "/privacy/agent", url.Values{"csrf": {token}, "lang": {"fr"}, "kind": {"access"}, "scope": {"categories"},
					"agent_name": {"Grace Agent"}, "agent_email": {agentEmail}, "customer_email": {customerEmail}, "customer_lang": {"es"},
					"mandate": {"Ada Lovelace authorised me in writing on 1 March 2026."}})
			}
			filed := fileFor("ada.portal@example.org", "grace@agents.example")
			id := requestID.FindString(filed.body)
			if filed.status != http.StatusOK || id == "" || !strings.Contains(filed.body, "Nous avons écrit au client") {
				t.Fatalf("agent files: %d %.3000s", filed.status, filed.body)
			}
			confirmLink := regexp.MustCompile(`https?://[^\s"<>]+/privacy/agent/confirm/[^\s"<>]+`)
			// The customer is also told the request was received; which
			// comes first is not fixed.
			isConfirmation := func(m mailtest.Message) bool { return confirmLink.MatchString(m.Text) }
			m := f.mail.WaitForMatch(t, "ada.portal@example.org", isConfirmation)
			link := confirmLink.FindString(m.Text)
			if !strings.Contains(m.Subject, "Grace Agent") || !strings.Contains(m.Subject, "¿Ha encargado") || link == "" || !strings.Contains(link, id) {
				t.Fatalf("confirmation email: %q\n%s", m.Subject, m.Text)
			}
			staffCtx := audit.WithActor(ctx, audit.Staff("stf_officer"))
			if _, err := app.Requests.Verify(staffCtx, id); !errors.Is(err, dsr.ErrIdentityNotReached) {
				t.Fatalf("verify before the customer confirmed: %v", err)
			}
			// Another customer's request, and its link.
			otherFiled := fileFor("bob@example.org", "grace@agents.example")
			otherLink := confirmLink.FindString(f.mail.WaitForMatch(t, "bob@example.org", isConfirmation).Text)
			otherToken, _ := url.Parse(otherLink)
			if requestID.FindString(otherFiled.body) == "" || otherToken == nil {
				t.Fatalf("second filing: %.2000s", otherFiled.body)
			}
			customer := newBrowser(t, f.srv.URL)
			u, _ := url.Parse(link)
			path := u.Path + "?" + u.RawQuery
			page := customer.do("GET", path, nil)
			if page.status != 200 || !strings.Contains(page.body, "Sí, autoricé esta solicitud") {
				t.Fatalf("confirmation page: %d %.3000s", page.status, page.body)
			}
			if ag, _ := app.Requests.AgentOf(ctx, id); ag == nil || ag.ConfirmedAt != nil {
				t.Fatal("opening the link confirmed the request")
			}
			csrf := csrfField.FindStringSubmatch(page.body)[1]
			if got := customer.do("POST", u.Path, url.Values{"csrf": {csrf}, "lang": {"es"}, "token": {otherToken.Query().Get("token")}}); got.status != http.StatusNotFound {
				t.Fatalf("another request's token: %d", got.status)
			}
			if ag, _ := app.Requests.AgentOf(ctx, id); ag.ConfirmedAt != nil {
				t.Fatal("another request's token confirmed the request")
			}
			got := customer.do("POST", u.Path, url.Values{"csrf": {csrf}, "lang": {"es"}, "token": {u.Query().Get("token")}})
			if got.status != 200 || !strings.Contains(got.body, "Gracias: la solicitud está confirmada.") {
				t.Fatalf("confirm: %d %.3000s", got.status, got.body)
			}
			officer, _ := (&consoleFixture{srv: f.srv}).browserFor(t, staff.RolePrivacyOfficer)
			console := html.UnescapeString(officer.do("GET", "/admin/requests/"+id, nil).body)
			for _, want := range []string{"Grace Agent <grace@agents.example>", "Ada Lovelace authorised me in writing", "the customer confirmed it"} {
				if !strings.Contains(console, want) {
					t.Errorf("console request page lacks %q: %.4000s", want, console)
				}
			}
			// The request now proceeds as the customer's own: it is in
			// their portal, and a CCPA request to know waits for their data
			// points like any other.
			ada := f.signIn(t, "ada.portal@example.org")
			if home := ada.do("GET", "/privacy/home", nil); !strings.Contains(home.body, id) {
				t.Fatal("the confirmed request is not in the customer's portal")
			}
			// Filings are limited per agent email: the fifth one locks.
			for range 3 {
				fileFor("carol@example.org", "grace@agents.example")
			}
			if got := fileFor("dave@example.org", "grace@agents.example"); got.status != http.StatusTooManyRequests {
				t.Fatalf("sixth filing by the same agent: %d", got.status)
			}
		})
	}
}
