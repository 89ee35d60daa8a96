package dsr_test

import (
	"context"
	"testing"

	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/dsr"
	"github.com/steward-dev/steward/internal/errs"
)

// TestLegalHoldStopsErasure: while a legal hold keeps a customer's data,
// their erasure is not started (the refusal says what to do), and
// CheckNotHeld, which the erasure job asks before it erases, refuses too;
// other kinds of request and other customers go on; once the hold is
// lifted the erasure starts.
func TestLegalHoldStopsErasure(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		f := newFixture(t, store)
		staff := as(officer)
		held := map[string]bool{"cust-held": true}
		f.s.SetOnHold(func(_ context.Context, subject string) (bool, error) { return held[subject], nil })
		file := func(kind dsr.Kind, subject string) dsr.Request {
			t.Helper()
			r, err := f.s.File(as(customer), dsr.NewRequest{Kind: kind, Regime: dsr.GDPR, SubjectID: subject, Email: adaEmail, EmailHash: f.MustHash(t, adaEmail)})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.s.Verify(staff, r.ID); err != nil {
				t.Fatal(err)
			}
			return r
		}
		erasure, access, other := file(dsr.KindErasure, "cust-held"), file(dsr.KindAccess, "cust-held"), file(dsr.KindErasure, "cust-free")
		_, err := f.s.Start(staff, erasure.ID)
		if e, ok := errs.As(err); !ok || e.Code != errs.CodeConflict || e.Key != "erasure_held" {
			t.Fatalf("start of a held customer's erasure: %v, want a conflict keyed erasure_held", err)
		}
		if r, _ := f.s.Get(staff, erasure.ID); r.State != dsr.StateVerified {
			t.Fatalf("the refused start moved the request to %s", r.State)
		}
		if err := f.s.CheckNotHeld(staff, erasure); !errs.Is(err, errs.CodeConflict) {
			t.Fatalf("CheckNotHeld: %v", err)
		}
		for _, r := range []dsr.Request{access, other} {
			if _, err := f.s.Start(staff, r.ID); err != nil {
				t.Fatalf("start of %s for %s: %v", r.Kind, r.SubjectID, err)
			}
		}
		delete(held, "cust-held") // lifted
		if r, err := f.s.Start(staff, erasure.ID); err != nil || r.State != dsr.StateInProgress {
			t.Fatalf("start after the hold was lifted: %+v, %v", r.State, err)
		}
	})
}
