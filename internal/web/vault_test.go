package web_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/steward-dev/steward/internal/apikey"
	"github.com/steward-dev/steward/internal/app/apptest"
	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/audit/audittest"
	"github.com/steward-dev/steward/internal/db"
)

type caller struct {
	t   *testing.T
	url string
}

func (c caller) do(method, path, key, body string) (int, string, http.Header) {
	c.t.Helper()
	req, _ := http.NewRequest(method, c.url+path, strings.NewReader(body))
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// TestVaultRevealIsScopedAuditedAndFailsClosed: admin keys write fields and
// see them masked; plaintext needs a reveal key and a purpose, is recorded
// first, and is refused when the audit log cannot be written.
func TestVaultRevealIsScopedAuditedAndFailsClosed(t *testing.T) {
	for _, dialect := range []db.Dialect{db.SQLite, db.Postgres} {
		t.Run(string(dialect), func(t *testing.T) {
			srv := apptest.Start(t, dialect)
			c := caller{t, srv.URL}
			reveal, _, err := srv.App.Keys.Create(context.Background(), apikey.ScopeReveal, "", "support tool")
			if err != nil {
				t.Fatal(err)
			}
			admin := srv.Keys.Admin
			const iban = "DE89370400440532013000"
			if code, body, _ := c.do("PUT", "/v1/subjects/cust-7/fields/iban", admin, `{"category":"financial","value":"`+iban+`"}`); code != 200 || strings.Contains(body, iban) || !strings.Contains(body, "3000") {
				t.Fatalf("put: %d %s", code, body)
			}
			if code, body, _ := c.do("GET", "/v1/subjects/cust-7/fields/iban", admin, ""); code != 200 || strings.Contains(body, iban) {
				t.Fatalf("admin get shows plaintext: %d %s", code, body)
			}
			cases := []struct {
				name, key, body string
				status          int
			}{
				{"admin key may not reveal", admin, `{"purpose":"customer asked for a refund","ticket":"T-1"}`, 403},
				{"no purpose", reveal, `{"ticket":"T-1"}`, 400},
				{"no ticket", reveal, `{"purpose":"customer asked for a refund"}`, 400},
				{"no key", "", `{}`, 401},
				{"personal data in the purpose", reveal, `{"purpose":"ada@example.com asked for it","ticket":"T-1"}`, 400},
			}
			for _, tc := range cases {
				if code, body, _ := c.do("POST", "/v1/subjects/cust-7/fields/iban/reveal", tc.key, tc.body); code != tc.status || strings.Contains(body, iban) {
					t.Fatalf("%s: %d %s", tc.name, code, body)
				}
			}
			code, body, _ := c.do("POST", "/v1/subjects/cust-7/fields/iban/reveal", reveal, `{"purpose":"customer asked for a refund","ticket":"T-1"}`)
			if code != 200 || !strings.Contains(body, iban) {
				t.Fatalf("reveal: %d %s", code, body)
			}
			// Tokens: admin makes one, detokenising is a reveal.
			_, body, _ = c.do("POST", "/v1/subjects/cust-7/fields/iban/token", admin, "")
			var tok struct{ Token string }
			json.Unmarshal([]byte(body), &tok)
			if !strings.HasPrefix(tok.Token, "tok_") {
				t.Fatalf("token: %s", body)
			}
			if code, body, _ := c.do("POST", "/v1/detokenize", reveal, `{"token":"`+tok.Token+`","purpose":"payout to the customer","ticket":"T-2"}`); code != 200 || !strings.Contains(body, iban) {
				t.Fatalf("detokenize: %d %s", code, body)
			}
			// The accesses of the customer name both, with their purposes.
			code, body, _ = c.do("GET", "/v1/subjects/cust-7/accesses", admin, "")
			if code != 200 || !strings.Contains(body, "vault.reveal") || !strings.Contains(body, "vault.detokenize") || !strings.Contains(body, "T-2") || strings.Contains(body, iban) {
				t.Fatalf("accesses: %d %s", code, body)
			}
			// Fail closed: with the audit log unwritable, nothing is revealed.
			audittest.MakeUnwritable(t, srv.App.DB)
			for range 5 {
				code, body, hdr := c.do("POST", "/v1/subjects/cust-7/fields/iban/reveal", reveal, `{"purpose":"customer asked for a refund","ticket":"T-3"}`)
				if code != 503 || strings.Contains(body, iban) || hdr.Get("Retry-After") == "" {
					t.Fatalf("reveal with the audit log unwritable: %d %s", code, body)
				}
			}
			if code, body, _ := c.do("POST", "/v1/detokenize", reveal, `{"token":"`+tok.Token+`","purpose":"payout to the customer","ticket":"T-4"}`); code != 503 || strings.Contains(body, iban) {
				t.Fatalf("detokenize with the audit log unwritable: %d %s", code, body)
			}
		})
	}
}

// TestSealedVaultAnswers503 starts without a master key.
func TestSealedVaultAnswers503(t *testing.T) {
	srv := apptest.StartWith(t, db.SQLite, apptest.Options{Sealed: true})
	c := caller{t, srv.URL}
	code, body, _ := c.do("PUT", "/v1/subjects/cust-7/fields/iban", srv.Keys.Admin, `{"category":"financial","value":"x"}`)
	if code != 503 || !strings.Contains(body, "sealed") {
		t.Fatalf("sealed vault: %d %s", code, body)
	}
}

// TestAdminActsNameTheKey: catalog changes, reveals and erasures made with
// an API key are in the audit log under that key's id; an erasure that
// cannot be recorded does not happen.
func TestAdminActsNameTheKey(t *testing.T) {
	srv := apptest.Start(t, db.SQLite)
	ctx := context.Background()
	c := caller{t, srv.URL}
	reveal, revealKey, err := srv.App.Keys.Create(ctx, apikey.ScopeReveal, "", "support tool")
	if err != nil {
		t.Fatal(err)
	}
	adminKey, err := srv.App.Keys.Check(ctx, srv.Keys.Admin)
	if err != nil {
		t.Fatal(err)
	}
	if code, body, _ := c.do("PUT", "/v1/purposes/analytics", srv.Keys.Admin, `{"key":"analytics","name":{"en":"Statistics"},"legal_basis":"consent","position":1}`); code != 200 {
		t.Fatalf("put purpose: %d %s", code, body)
	}
	c.do("PUT", "/v1/subjects/cust-9/fields/iban", srv.Keys.Admin, `{"category":"financial","value":"DE89370400440532013000"}`)
	if code, body, _ := c.do("POST", "/v1/subjects/cust-9/fields/iban/reveal", reveal, `{"purpose":"refund requested","ticket":"T-9"}`); code != 200 {
		t.Fatalf("reveal: %d %s", code, body)
	}
	// Erasure: fail closed first, then for real, then idempotent.
	c.do("PUT", "/v1/subjects/cust-10/fields/iban", srv.Keys.Admin, `{"category":"financial","value":"DE89370400440532013000"}`)
	if _, err := srv.App.DB.Exec(`CREATE TRIGGER audit_unwritable BEFORE INSERT ON audit_entries BEGIN SELECT RAISE(ABORT, 'unwritable'); END`); err != nil {
		t.Fatal(err)
	}
	if code, body, _ := c.do("POST", "/v1/subjects/cust-10/erase", srv.Keys.Admin, ""); code != 503 {
		t.Fatalf("erase with the audit log unwritable: %d %s", code, body)
	}
	if code, _, _ := c.do("GET", "/v1/subjects/cust-10/fields/iban", srv.Keys.Admin, ""); code != 200 {
		t.Fatalf("a failed erasure erased: %d", code)
	}
	srv.App.DB.Exec(`DROP TRIGGER audit_unwritable`)
	for i, want := range []string{`"already_erased":false`, `"already_erased":true`} {
		if code, body, _ := c.do("POST", "/v1/subjects/cust-10/erase", srv.Keys.Admin, ""); code != 200 || !strings.Contains(body, want) || (i == 0 && !strings.Contains(body, `"fields":1`)) {
			t.Fatalf("erase %d: %d %s", i, code, body)
		}
	}
	if code, body, _ := c.do("GET", "/v1/subjects/cust-10/fields/iban", srv.Keys.Admin, ""); code != 404 || !strings.Contains(body, "erased") {
		t.Fatalf("read after erasure: %d %s", code, body)
	}
	for action, want := range map[string]audit.Actor{"catalog.purpose.update": audit.APIKey(adminKey.ID), "vault.reveal": audit.APIKey(revealKey.ID)} {
		page, err := srv.App.Audit.Search(ctx, audit.Query{Action: action})
		if err != nil || len(page.Entries) != 1 || page.Entries[0].Actor != want {
			t.Errorf("%s entries %+v, %v; want one by %s", action, page.Entries, err, want)
		}
	}
	if page, _ := srv.App.Audit.Search(ctx, audit.Query{Action: "vault.erase", Target: audit.Subject("cust-10")}); len(page.Entries) != 2 {
		t.Errorf("erasures recorded: %d, want 2", len(page.Entries))
	}
}
