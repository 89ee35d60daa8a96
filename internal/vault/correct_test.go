package vault_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/vault"
)

// TestCorrect: a correction replaces an existing field's value, keeping
// its category and retention, and is audited as a correction without the
// value; a field the subject does not have is not created.
func TestCorrect(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		log, err := audit.New(audit.Config{DB: store})
		if err != nil {
			t.Fatal(err)
		}
		clk := newClock()
		v := MustOpen(t, store, MustKeyring(t, keyText(1)), func(c *vault.Config) { c.Audit = log; c.Now = clk.Now })
		ctx := audit.WithActor(context.Background(), audit.System())
		keep := clk.Now().Add(30 * 24 * time.Hour)
		if _, err := v.Put(ctx, "cust-1", vault.Field{Name: "phone", Category: "contact", Value: []byte("+44 1"), ExpiresAt: keep}); err != nil {
			t.Fatal(err)
		}
		if _, err := v.Correct(ctx, "cust-1", "phone", []byte("+44 2")); err != nil {
			t.Fatal(err)
		}
		rec, err := v.Get(ctx, "cust-1", "phone")
		if err != nil || string(rec.Value) != "+44 2" || rec.Category != "contact" || !rec.ExpiresAt.Equal(keep) {
			t.Fatalf("after Correct: %+v %q, %v", rec.FieldInfo, rec.Value, err)
		}
		if _, err := v.Correct(ctx, "cust-1", "iban", []byte("DE89")); errs.CodeOf(err) != errs.CodeNotFound {
			t.Fatalf("Correct of a missing field: %v, want not found", err)
		}
		if _, err := v.Get(ctx, "cust-1", "iban"); errs.CodeOf(err) != errs.CodeNotFound {
			t.Fatalf("Correct created a field: %v", err)
		}
		page, err := log.Accesses(context.Background(), "cust-1", 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, e := range page.Entries {
			if e.Action == vault.ActionCorrect {
				found = true
				if d := e.Details.String(); strings.Contains(d, "+44") || !strings.Contains(d, "phone") {
					t.Errorf("correction recorded as %s", d)
				}
			}
		}
		if !found {
			t.Error("no vault.correct entry")
		}
	})
}
