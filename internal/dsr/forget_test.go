package dsr_test

import (
	"context"
	"testing"

	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/dsr"
)

// TestForget: an erasure's requester loses the details of every request
// (open and closed) and the address of every closed one, whose blind index
// no longer finds it; the erasure itself and open requests keep their
// address; another requester is untouched.
func TestForget(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		f := newFixture(t, store)
		rect := f.MustFile(t, dsr.KindRectification, dsr.GDPR, adaEmail, "my IBAN is DE89370400440532013000")
		closed := f.MustFile(t, dsr.KindObjection, dsr.GDPR, adaEmail, "Ada Lovelace objects")
		if _, err := f.s.Reject(as(officer), closed.ID, "not ours"); err != nil {
			t.Fatal(err)
		}
		erasure := f.MustFile(t, dsr.KindErasure, dsr.GDPR, adaEmail, "")
		other := f.MustFile(t, dsr.KindRectification, dsr.GDPR, "bob@example.org", "Bob's own details")

		got, err := f.s.Forget(ctx, "", f.ada, erasure.ID)
		if err != nil || len(got.Requests) != 3 || got.Details != 2 || got.Unlinked != 1 {
			t.Fatalf("Forget = %+v, %v", got, err)
		}
		for _, id := range []string{rect.ID, closed.ID, erasure.ID} {
			if d, err := f.s.Details(as(officer), id); err != nil || d != "" {
				t.Errorf("details of %s: %q, %v", id, d, err)
			}
		}
		if c, err := f.s.Contact(as(officer), closed.ID); err != nil || c != "" {
			t.Errorf("address of the closed request: %q, %v", c, err)
		}
		for _, id := range []string{rect.ID, erasure.ID} {
			if c, err := f.s.Contact(as(officer), id); err != nil || c != adaEmail {
				t.Errorf("address of %s: %q, %v", id, c, err)
			}
		}
		mine, _ := f.s.ListForRequester(ctx, f.ada)
		if len(mine) != 2 {
			t.Errorf("the address still finds %d requests, want 2 (the open one and the erasure)", len(mine))
		}
		if d, err := f.s.Details(as(officer), other.ID); err != nil || d == "" {
			t.Errorf("another requester's details: %q, %v", d, err)
		}
	})
}
