package apikey_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/apikey"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/errs"
)

// FuzzCheck checks the parsing and check of API keys, the text of every
// request's Authorization header, against a real store (SQLite: the
// target's store holds two keys and is only read). It never panics; any
// text but a key the store made is refused as unauthorized; a key the
// store made is accepted with its own scope.
func FuzzCheck(f *testing.F) {
	ctx := context.Background()
	store := dbtest.Open(f, db.SQLite)
	if _, err := store.ExecContext(ctx, `INSERT INTO properties (key, name, domains, jurisdiction_rules, default_jurisdiction, policy_url, created_at, updated_at)
		VALUES ('shop', 'Shop', '[]', '{}', '', '', 0, 0)`); err != nil {
		f.Fatal(err)
	}
	keys := apikey.NewStore(store, time.Now)
	made := map[string]apikey.Scope{}
	for _, scope := range []apikey.Scope{apikey.ScopeIngest, apikey.ScopeDecide} {
		property := ""
		if scope == apikey.ScopeIngest {
			property = "shop"
		}
		plain, _, err := keys.Create(ctx, scope, property, "fuzz")
		if err != nil {
			f.Fatal(err)
		}
		made[plain] = scope
		f.Add(plain)
		f.Add(plain[:len(plain)-1])
		f.Add(plain + " ")
		f.Add(strings.ToUpper(plain))
	}
	for _, seed := range []string{"", "stw_", "stw_ingest_", "Bearer stw_x", "stw_admin_" + strings.Repeat("A", 43), strings.Repeat("stw_", 60), "stw_\x00"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, plain string) {
		k, err := keys.Check(ctx, plain)
		if scope, ok := made[plain]; ok {
			if err != nil || k == nil || k.Scope != scope {
				t.Fatalf("a key the store made: %+v, %v", k, err)
			}
			return
		}
		if k != nil || !errs.Is(err, errs.CodeUnauthorized) {
			t.Fatalf("Check(%q) = %+v, %v; want unauthorized", plain, k, err)
		}
		if len(plain) >= 8 && strings.Contains(err.Error(), plain) {
			t.Fatalf("the refusal quotes the key: %v", err)
		}
	})
}
