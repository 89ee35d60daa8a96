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

// TestForgetReachesTheAnswers: an answer the customer gave in the portal
// to a request that is still open quotes them; the erasure's Forget drops
// it at once rather than when that request closes.
func TestForgetReachesTheAnswers(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		f := newFixture(t, store)
		open := f.MustFile(t, dsr.KindRectification, dsr.GDPR, adaEmail, "my account number is wrong")
		if _, err := f.s.AskCustomer(as(officer), open.ID, "Which account do you mean?"); err != nil {
			t.Fatal(err)
		}
		if _, err := f.s.Answer(as(customer), f.ada, open.ID, "Account 4711 at Nightingale Lane"); err != nil {
			t.Fatal(err)
		}
		if a, err := f.s.Answers(as(officer), open.ID); err != nil || len(a) != 1 {
			t.Fatalf("answers before the erasure = %+v, %v", a, err)
		}
		erasure := f.MustFile(t, dsr.KindErasure, dsr.GDPR, adaEmail, "")
		if _, err := f.s.Forget(ctx, "", f.ada, erasure.ID); err != nil {
			t.Fatal(err)
		}
		var sealed int
		if err := store.QueryRow(`SELECT count(*) FROM dsr_events WHERE answer_sealed IS NOT NULL`).Scan(&sealed); err != nil || sealed != 0 {
			t.Fatalf("sealed answers after the erasure: %d, %v", sealed, err)
		}
		if a, err := f.s.Answers(as(officer), open.ID); err != nil || len(a) != 0 {
			t.Fatalf("answers after the erasure = %+v, %v", a, err)
		}
	})
}
