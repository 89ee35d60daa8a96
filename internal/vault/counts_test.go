package vault_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/vault"
)

// TestFieldCounts: the data map's view of the vault counts customers per
// field name and category, leaving expired fields out, without a value.
func TestFieldCounts(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		clk := newClock()
		v := MustOpen(t, store, MustKeyring(t, keyText(1)), func(c *vault.Config) { c.Now = clk.Now })
		MustPut(t, v, "subj-1", "iban", "financial", "DE89370400440532013000")
		MustPut(t, v, "subj-2", "iban", "financial", "DE02120300000000202051")
		MustPut(t, v, "subj-2", "email", "contact", "synthetic@example.org")
		expires := clk.Now().Add(time.Hour)
		if _, err := v.Put(ctx, "subj-3", vault.Field{Name: "email", Category: "contact", Value: []byte("gone@example.org"), ExpiresAt: expires}); err != nil {
			t.Fatal(err)
		}
		clk.Advance(2 * time.Hour)
		got, err := v.FieldCounts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := []vault.FieldCount{{Name: "email", Category: "contact", Count: 1}, {Name: "iban", Category: "financial", Count: 2}}
		if !slices.Equal(got, want) {
			t.Errorf("FieldCounts = %+v, want %+v", got, want)
		}
	})
}
