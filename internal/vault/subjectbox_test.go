package vault_test

import (
	"context"
	"errors"
	"testing"

	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/vault"
)

// TestSealForDiesWithTheSubject: what is sealed under a subject's data key
// opens only for that subject with the same associated data, and never
// again once the subject is erased, even from a copy of the sealed bytes.
func TestSealForDiesWithTheSubject(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		v := MustOpen(t, store, MustKeyring(t, keyText(1)))
		sealed, err := v.SealFor(ctx, "erin", []byte("archive key"), []byte("export:exp_1"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := v.SealFor(ctx, "frank", []byte("x"), nil); err != nil {
			t.Fatal(err)
		}
		got, err := v.OpenFor(ctx, "erin", sealed, []byte("export:exp_1"))
		if err != nil || string(got) != "archive key" {
			t.Fatalf("OpenFor = %q, %v", got, err)
		}
		for _, tc := range []struct {
			name, subject, associated string
		}{
			{"other associated data", "erin", "export:exp_2"},
			{"other subject", "frank", "export:exp_1"},
		} {
			if _, err := v.OpenFor(ctx, tc.subject, sealed, []byte(tc.associated)); !errors.Is(err, vault.ErrCorrupt) {
				t.Errorf("%s: OpenFor err = %v, want ErrCorrupt", tc.name, err)
			}
		}
		if _, err := v.EraseSubject(ctx, "erin"); err != nil {
			t.Fatal(err)
		}
		if _, err := v.OpenFor(ctx, "erin", sealed, []byte("export:exp_1")); !errors.Is(err, vault.ErrErased) {
			t.Fatalf("OpenFor after erasure err = %v, want ErrErased", err)
		}
		if _, err := v.SealFor(ctx, "erin", []byte("again"), nil); !errors.Is(err, vault.ErrErased) {
			t.Fatalf("SealFor after erasure err = %v, want ErrErased", err)
		}
	})
}
