package web_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"github.com/steward-dev/steward/internal/apikey"
	"github.com/steward-dev/steward/internal/app/apptest"
	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/audit/audittest"
	"github.com/steward-dev/steward/internal/db"
)

// TestAdminKeyCannotMintRevealKey replays the attack: an admin key asked
// POST /v1/api-keys for a reveal key and so read plaintext. It gets 403
// naming scope and no key; the keys it may make are recorded with their id.
func TestAdminKeyCannotMintRevealKey(t *testing.T) {
	for _, dialect := range []db.Dialect{db.SQLite, db.Postgres} {
		t.Run(string(dialect), func(t *testing.T) {
			srv := apptest.Start(t, dialect)
			c := caller{t, srv.URL}
			code, body, hdr := c.do("POST", "/v1/api-keys", srv.Keys.Admin, `{"scope":"reveal","label":"exfiltration"}`)
			var problem struct {
				Status int
				Errors []struct{ Field string }
			}
			json.Unmarshal([]byte(body), &problem)
			if code != 403 || hdr.Get("Content-Type") != "application/problem+json" || len(problem.Errors) != 1 || problem.Errors[0].Field != "scope" || strings.Contains(body, "stw_reveal_") {
				t.Fatalf("admin key minting a reveal key: %d %s", code, body)
			}
			keys, err := srv.App.Keys.List(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range keys {
				if k.Scope == apikey.ScopeReveal {
					t.Fatalf("a reveal key was made: %+v", k)
				}
			}
			code, body, _ = c.do("POST", "/v1/api-keys", srv.Keys.Admin, `{"scope":"decide","label":"checkout"}`)
			var made struct{ ID, Secret string }
			json.Unmarshal([]byte(body), &made)
			if code != 201 || !strings.HasPrefix(made.Secret, "stw_decide_") {
				t.Fatalf("decide key: %d %s", code, body)
			}
			page, err := srv.App.Audit.Search(context.Background(), audit.Query{Action: "api_key.create", Target: audit.Target{Kind: audit.KindAPIKey, ID: made.ID}})
			if err != nil || len(page.Entries) != 1 || page.Entries[0].Actor.Kind != audit.KindAPIKey || !strings.Contains(page.Entries[0].Details.String(), "checkout") ||
				strings.Contains(page.Entries[0].Details.String(), made.Secret) {
				t.Fatalf("the new key is not recorded: %+v %v", page.Entries, err)
			}
		})
	}
}

// TestRevealKeyHitsTheLimit replays the burst: a reveal key (which had no
// limit) reads 30 fields at once. Exactly 10 values come back, 20 answers
// are 429 problem+json, and security is alerted once; detokenising counts
// against the same limit.
func TestRevealKeyHitsTheLimit(t *testing.T) {
	for _, dialect := range []db.Dialect{db.SQLite, db.Postgres} {
		t.Run(string(dialect), func(t *testing.T) {
			srv := apptest.Start(t, dialect)
			c := caller{t, srv.URL}
			ctx := context.Background()
			revealKey, key, err := srv.App.Keys.Create(ctx, apikey.ScopeReveal, "", "support tool")
			if err != nil {
				t.Fatal(err)
			}
			const iban = "DE89370400440532013000"
			if code, body, _ := c.do("PUT", "/v1/subjects/cust-7/fields/iban", srv.Keys.Admin, `{"category":"financial","value":"`+iban+`"}`); code != 200 {
				t.Fatalf("put: %d %s", code, body)
			}
			_, body, _ := c.do("POST", "/v1/subjects/cust-7/fields/iban/token", srv.Keys.Admin, "")
			var tok struct{ Token string }
			json.Unmarshal([]byte(body), &tok)
			start := make(chan struct{})
			var wg sync.WaitGroup
			type answer struct {
				code        int
				body, ctype string
			}
			answers := make(chan answer, 30)
			for i := range 30 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					path, in := "/v1/subjects/cust-7/fields/iban/reveal", `{"purpose":"customer asked for a refund","ticket":"T-1"}`
					if i%5 == 0 {
						path, in = "/v1/detokenize", `{"token":"`+tok.Token+`","purpose":"payout to the customer","ticket":"T-2"}`
					}
					code, body, hdr := c.do("POST", path, revealKey, in)
					answers <- answer{code, body, hdr.Get("Content-Type")}
				}()
			}
			close(start)
			wg.Wait()
			close(answers)
			ok, limited := 0, 0
			for a := range answers {
				switch {
				case a.code == 200 && strings.Contains(a.body, iban):
					ok++
				case a.code == 429 && a.ctype == "application/problem+json" && !strings.Contains(a.body, iban):
					limited++
				default:
					t.Errorf("answer %d %s", a.code, a.body)
				}
			}
			if ok != 10 || limited != 20 {
				t.Fatalf("%d values and %d refusals, want 10 and 20", ok, limited)
			}
			alerts, err := srv.App.Audit.Search(ctx, audit.Query{Action: "alert.reveal_burst"})
			if err != nil || len(alerts.Entries) != 1 || alerts.Entries[0].Target != (audit.Target{Kind: audit.KindAPIKey, ID: key.ID}) {
				t.Fatalf("alerts: %+v %v", alerts.Entries, err)
			}
		})
	}
}

// TestVaultWritesFailClosed replays the finding over the API: with the
// audit log unwritable, an admin key overwrote, deleted and tokenised
// fields unrecorded. Each is now 503 and changes nothing; when the log is
// writable each is recorded under the key.
func TestVaultWritesFailClosed(t *testing.T) {
	for _, dialect := range []db.Dialect{db.SQLite, db.Postgres} {
		t.Run(string(dialect), func(t *testing.T) {
			srv := apptest.Start(t, dialect)
			c := caller{t, srv.URL}
			ctx := context.Background()
			admin := srv.Keys.Admin
			adminKey, err := srv.App.Keys.Check(ctx, admin)
			if err != nil {
				t.Fatal(err)
			}
			const iban = "DE89370400440532013000"
			if code, body, _ := c.do("PUT", "/v1/subjects/cust-7/fields/iban", admin, `{"category":"financial","value":"`+iban+`"}`); code != 200 {
				t.Fatalf("put: %d %s", code, body)
			}
			if code, body, _ := c.do("POST", "/v1/subjects/cust-7/fields/iban/token", admin, ""); code != 200 {
				t.Fatalf("token: %d %s", code, body)
			}
			page, err := srv.App.Audit.Accesses(ctx, "cust-7", 0, 10)
			if err != nil || len(page.Entries) != 2 || page.Entries[0].Action != "vault.tokenize" || page.Entries[1].Action != "vault.put" ||
				page.Entries[1].Actor != audit.APIKey(adminKey.ID) || strings.Contains(page.Entries[1].Details.String(), iban) {
				t.Fatalf("writes not recorded: %+v %v", page.Entries, err)
			}
			audittest.MakeUnwritable(t, srv.App.DB)
			attempts := []struct{ method, path, body string }{
				{"PUT", "/v1/subjects/cust-7/fields/iban", `{"category":"financial","value":"FR7630006000011234567890189"}`},
				{"DELETE", "/v1/subjects/cust-7/fields/iban", ""},
				{"POST", "/v1/subjects/cust-7/fields/iban/token", ""},
			}
			for _, a := range attempts {
				if code, body, _ := c.do(a.method, a.path, admin, a.body); code != 503 || strings.Contains(body, "tok_") {
					t.Errorf("%s %s with the audit log unwritable: %d %s", a.method, a.path, code, body)
				}
			}
			rec, err := srv.App.Vault.Get(ctx, "cust-7", "iban")
			if err != nil || string(rec.Value) != iban {
				t.Fatalf("the field changed: %v", err)
			}
			var tokens int
			srv.App.DB.QueryRow(`SELECT count(*) FROM vault_tokens`).Scan(&tokens)
			if tokens != 1 {
				t.Fatalf("%d tokens, want 1", tokens)
			}
		})
	}
}

// TestSignInAddressChangeIsTold replays the takeover: an admin key
// overwrote a customer's email field, signed in to the portal with the new
// address and read their IBAN, and the customer never knew. The previous
// address now gets a notice before the change is made (no notice, no
// change), and the portal lists the change as one made by the company's
// systems.
func TestSignInAddressChangeIsTold(t *testing.T) {
	for _, dialect := range []db.Dialect{db.SQLite, db.Postgres} {
		t.Run(string(dialect), func(t *testing.T) {
			f := newPortalFixture(t, dialect)
			c := caller{t, f.srv.URL}
			admin := f.srv.Keys.Admin
			const previous, attacker = "ada.portal@example.org", "mallory@example.net"
			// Setting the same address again (another case) tells no one.
			if code, body, _ := c.do("PUT", "/v1/subjects/cust-1/fields/email", admin, `{"category":"contact","value":"Ada.Portal@example.org"}`); code != 200 {
				t.Fatalf("same address: %d %s", code, body)
			}
			if n := len(f.mail.Messages()); n != 0 {
				t.Fatalf("%d messages for an unchanged address", n)
			}
			// The notice cannot be sent: the address is not changed.
			f.mail.RejectRecipient(previous, 550)
			if code, body, _ := c.do("PUT", "/v1/subjects/cust-1/fields/email", admin, `{"category":"contact","value":"`+attacker+`"}`); code != 503 {
				t.Fatalf("change with the notice refused: %d %s", code, body)
			}
			if rec, err := f.srv.App.Vault.Get(context.Background(), "cust-1", "email"); err != nil || !strings.EqualFold(string(rec.Value), previous) {
				t.Fatalf("the address changed without a notice: %v", err)
			}
			f.mail.RejectRecipient(previous, 0)
			if code, body, _ := c.do("PUT", "/v1/subjects/cust-1/fields/email", admin, `{"category":"contact","value":"`+attacker+`"}`); code != 200 {
				t.Fatalf("change: %d %s", code, body)
			}
			msg := f.mail.WaitFor(t, previous)
			if !strings.Contains(msg.Subject, "sign-in address") || strings.Contains(msg.Text, attacker) || strings.Contains(msg.HTML, attacker) ||
				!strings.Contains(msg.Text, f.srv.URL+"/privacy") {
				t.Fatalf("notice: %q %q", msg.Subject, msg.Text)
			}
			// In two steps (delete, then set) the address is told at the
			// deletion, and a deletion it cannot be told of does not happen.
			f.mail.RejectRecipient(attacker, 451)
			if code, body, _ := c.do("DELETE", "/v1/subjects/cust-1/fields/email", admin, ""); code != 503 {
				t.Fatalf("delete with the notice refused: %d %s", code, body)
			}
			f.mail.RejectRecipient(attacker, 0)
			if code, body, _ := c.do("DELETE", "/v1/subjects/cust-1/fields/email", admin, ""); code != 204 {
				t.Fatalf("delete: %d %s", code, body)
			}
			if msg := f.mail.WaitFor(t, attacker); !strings.Contains(msg.Subject, "sign-in address") {
				t.Fatalf("deletion notice: %q", msg.Subject)
			}
			if code, body, _ := c.do("PUT", "/v1/subjects/cust-1/fields/email", admin, `{"category":"contact","value":"`+attacker+`"}`); code != 200 {
				t.Fatalf("set again: %d %s", code, body)
			}
			// Whoever signs in, the change is in "who accessed your data".
			b := f.signIn(t, attacker)
			home := b.do("GET", "/privacy/home?lang=en", nil)
			if home.status != 200 || !strings.Contains(home.body, "changed the email address you sign in with") || !strings.Contains(home.body, "an internal system") {
				t.Fatalf("the portal does not list the change: %d %.2000s", home.status, home.body)
			}
		})
	}
}
