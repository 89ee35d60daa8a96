package vault_test

import (
	"context"
	"strings"
	"testing"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/audit/audittest"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/vault"
)

// TestWritesAreAuditedAndFailClosed replays the finding: vault writes,
// deletions and tokenisation left no audit entry and went ahead while the
// audit log was unwritable. Each is now recorded (actor, subject, field;
// never the value) in its own transaction, and refused (code unavailable,
// nothing changed) when the entry cannot be written.
func TestWritesAreAuditedAndFailClosed(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		log, err := audit.New(audit.Config{DB: store})
		if err != nil {
			t.Fatal(err)
		}
		v := MustOpen(t, store, MustKeyring(t, keyText(1)), func(c *vault.Config) { c.Audit = log })
		ctx := audit.WithActor(context.Background(), audit.APIKey("key_admin"))
		const iban, newIBAN = "DE89370400440532013000", "FR7630006000011234567890189"
		put := func(value string) error {
			_, err := v.Put(ctx, "cust-1", vault.Field{Name: "iban", Category: "financial", Value: []byte(value)})
			return err
		}
		if err := put(iban); err != nil {
			t.Fatal(err)
		}
		if _, err := v.Put(ctx, "cust-1", vault.Field{Name: "email", Category: "contact", Value: []byte("ada@example.org")}); err != nil {
			t.Fatal(err)
		}
		token, err := v.Tokenize(ctx, "cust-1", "iban")
		if err != nil {
			t.Fatal(err)
		}
		if err := v.RevokeToken(ctx, token); err != nil {
			t.Fatal(err)
		}
		if err := v.Delete(ctx, "cust-1", "email"); err != nil {
			t.Fatal(err)
		}
		page, err := log.Accesses(context.Background(), "cust-1", 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range page.Entries {
			if e.Actor != audit.APIKey("key_admin") {
				t.Errorf("%s by %s, want the key in the context", e.Action, e.Actor)
			}
			if d := e.Details.String(); strings.Contains(d, iban) || strings.Contains(d, "ada@") || strings.Contains(d, token) {
				t.Errorf("%s records a value: %s", e.Action, d)
			}
			got = append(got, e.Action+" "+e.Details.Map()["field"].(string))
		}
		want := []string{"vault.delete email", "vault.revoke_token iban", "vault.tokenize iban", "vault.put email", "vault.put iban"}
		if strings.Join(got, ", ") != strings.Join(want, ", ") {
			t.Fatalf("entries %v, want %v", got, want)
		}

		// Fail closed: every write is refused and nothing changes.
		token, err = v.Tokenize(ctx, "cust-1", "iban")
		if err != nil {
			t.Fatal(err)
		}
		audittest.MakeUnwritable(t, store)
		var tokens int
		store.QueryRow(`SELECT count(*) FROM vault_tokens`).Scan(&tokens)
		steps := []struct {
			name string
			do   func() error
		}{
			{"put", func() error { return put(newIBAN) }},
			{"put a new field", func() error {
				_, err := v.Put(ctx, "cust-2", vault.Field{Name: "iban", Category: "financial", Value: []byte(newIBAN)})
				return err
			}},
			{"tokenize", func() error { _, err := v.Tokenize(ctx, "cust-1", "iban"); return err }},
			{"revoke token", func() error { return v.RevokeToken(ctx, token) }},
			{"delete", func() error { return v.Delete(ctx, "cust-1", "iban") }},
		}
		for _, s := range steps {
			if err := s.do(); errs.CodeOf(err) != errs.CodeUnavailable {
				t.Errorf("%s with the audit log unwritable: %v, want unavailable", s.name, err)
			}
		}
		rec, err := v.Get(context.Background(), "cust-1", "iban")
		if err != nil || string(rec.Value) != iban {
			t.Fatalf("the value changed: %v", err)
		}
		if _, err := v.Get(context.Background(), "cust-2", "iban"); errs.CodeOf(err) != errs.CodeNotFound {
			t.Fatalf("a new field was stored: %v", err)
		}
		var after int
		store.QueryRow(`SELECT count(*) FROM vault_tokens`).Scan(&after)
		if after != tokens {
			t.Fatalf("tokens %d, want %d", after, tokens)
		}
		if _, err := v.Detokenize(context.Background(), token); err != nil {
			t.Fatalf("the token was revoked: %v", err)
		}
	})
}

// TestPutRecordsASignInAddressChange: writing the searchable email field
// records whether its lookup value changed (the portal tells the customer).
func TestPutRecordsASignInAddressChange(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		log, err := audit.New(audit.Config{DB: store})
		if err != nil {
			t.Fatal(err)
		}
		v := MustOpen(t, store, MustKeyring(t, keyText(1)), func(c *vault.Config) { c.Audit = log })
		ctx := context.Background()
		for _, step := range []struct {
			value   string
			changed bool
		}{{"ada@example.org", false}, {" ADA@example.org", false}, {"mallory@example.net", true}} {
			if _, err := v.Put(ctx, "cust-1", vault.Field{Name: "email", Category: "contact", Value: []byte(step.value)}); err != nil {
				t.Fatal(err)
			}
			page, err := log.Search(ctx, audit.Query{Action: vault.ActionPut, Limit: 1})
			if err != nil {
				t.Fatal(err)
			}
			if got := page.Entries[0].Details.Map()["lookup_changed"]; got != step.changed {
				t.Fatalf("put %q: lookup_changed %v, want %v", step.value, got, step.changed)
			}
		}
	})
}
