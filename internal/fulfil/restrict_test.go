package fulfil_test

import (
	"context"
	"testing"

	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/dsr"
)

// TestEraseForgetsRestrictions: the subject's restriction rows named them
// after their erasure; the ledger step now deletes them.
func TestEraseForgetsRestrictions(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		fx := newFixture(t, store)
		if _, err := fx.svc.Restrict(ctx, "1001", "", ""); err != nil {
			t.Fatal(err)
		}
		r := fx.file(t, dsr.KindErasure)
		if _, err := fx.f.Erase(ctx, r.ID); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := store.QueryRowContext(ctx, `SELECT count(*) FROM consent_restrictions WHERE subject_id = '1001'`).Scan(&n); err != nil || n != 0 {
			t.Fatalf("restriction rows after erasure: %d, %v", n, err)
		}
		if list, err := fx.svc.Restrictions(ctx, "1001"); err != nil || len(list) != 0 {
			t.Fatalf("Restrictions = %+v, %v", list, err)
		}
		if a, err := fx.svc.Decider().Decide(&consent.Question{Subject: "1001", Purpose: "analytics"}, false); err == nil && a.Reason == consent.ReasonRestricted {
			t.Fatalf("the erased subject is still restricted: %+v", a)
		}
	})
}
