package vault_test

import (
	"context"
	"errors"
	"testing"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/vault"
)

// TestPutBatch puts fields of several subjects in one call: each reads
// back, each has its audit entry, and a batch with one bad field writes
// nothing at all.
func TestPutBatch(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		log, err := audit.New(audit.Config{DB: store})
		if err != nil {
			t.Fatal(err)
		}
		v := MustOpen(t, store, MustKeyring(t, keyText(1)), func(c *vault.Config) { c.Audit = log })
		ctx := audit.WithActor(context.Background(), audit.APIKey("key_admin"))
		batch := []vault.SubjectField{
			{"cust-1", vault.Field{Name: "email", Category: "contact", Value: []byte("ada@example.org")}},
			{"cust-1", vault.Field{Name: "iban", Category: "financial", Value: []byte("DE89370400440532013000")}},
			{"cust-2", vault.Field{Name: "email", Category: "contact", Value: []byte("bo@example.org")}},
		}
		infos, err := v.PutBatch(ctx, batch)
		if err != nil {
			t.Fatal(err)
		}
		if len(infos) != len(batch) {
			t.Fatalf("%d infos for %d fields", len(infos), len(batch))
		}
		for i, sf := range batch {
			if infos[i].Subject != sf.Subject || infos[i].Name != sf.Field.Name || infos[i].Size != len(sf.Field.Value) {
				t.Errorf("info %d = %+v, want %s/%s", i, infos[i], sf.Subject, sf.Field.Name)
			}
			r, err := v.Get(ctx, sf.Subject, sf.Field.Name)
			if err != nil || string(r.Value) != string(sf.Field.Value) {
				t.Errorf("Get %s/%s = %q, %v", sf.Subject, sf.Field.Name, r.Value, err)
			}
		}
		for subject, want := range map[string]int{"cust-1": 2, "cust-2": 1} {
			page, err := log.Accesses(context.Background(), subject, 0, 100)
			if err != nil {
				t.Fatal(err)
			}
			puts := 0
			for _, e := range page.Entries {
				if e.Action == vault.ActionPut {
					puts++
				}
			}
			if puts != want {
				t.Errorf("%s: %d %s entries, want %d", subject, puts, vault.ActionPut, want)
			}
		}
		// The email address is searchable: its lookup was written.
		if found, err := v.Find(ctx, "email", "bo@example.org"); err != nil || len(found) != 1 || found[0] != "cust-2" {
			t.Errorf("Find = %v, %v; want cust-2", found, err)
		}

		bad := []vault.SubjectField{
			{"cust-3", vault.Field{Name: "email", Category: "contact", Value: []byte("cy@example.org")}},
			{"cust-3", vault.Field{Name: "iban", Category: "no-such-category", Value: []byte("x")}},
		}
		if _, err := v.PutBatch(ctx, bad); !errs.Is(err, errs.CodeInvalid) {
			t.Fatalf("PutBatch with a bad category: %v, want invalid", err)
		}
		if _, err := v.Get(ctx, "cust-3", "email"); err == nil || errors.Is(err, vault.ErrCorrupt) {
			t.Fatalf("a refused batch wrote its first field (Get: %v)", err)
		}
	})
}
