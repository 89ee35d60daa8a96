package dsr_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/dsr"
)

// TestRetireClosed: a request closed before the cutoff loses its details
// and address (the row stays); one closed after, an open one and a held
// subject's keep theirs; a dry run names the same requests and changes
// nothing; a retired request is not retired again.
func TestRetireClosed(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		f := newFixture(t, store)
		old := f.MustFile(t, dsr.KindObjection, dsr.GDPR, adaEmail, "Ada Lovelace objects")
		held := f.MustFile(t, dsr.KindObjection, dsr.GDPR, "bob@example.org", "Bob objects")
		for _, id := range []string{old.ID, held.ID} {
			if _, err := f.s.Reject(as(officer), id, "not ours"); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := store.ExecContext(ctx, `UPDATE dsr_requests SET subject_id = 'sub-bob' WHERE id = $1`, held.ID); err != nil {
			t.Fatal(err)
		}
		cutoff := f.clock.now().Add(time.Second)
		f.clock.add(time.Hour)
		late := f.MustFile(t, dsr.KindObjection, dsr.GDPR, adaEmail, "closed later")
		if _, err := f.s.Reject(as(officer), late.ID, "not ours"); err != nil {
			t.Fatal(err)
		}
		open := f.MustFile(t, dsr.KindRectification, dsr.GDPR, adaEmail, "still open")

		dry, err := f.s.RetireClosed(ctx, cutoff, []string{"sub-bob"}, true)
		if err != nil || !slices.Equal(dry, []string{old.ID}) {
			t.Fatalf("dry run = %v, %v; want [%s]", dry, err, old.ID)
		}
		if d, _ := f.s.Details(as(officer), old.ID); d == "" {
			t.Fatal("the dry run blanked the details")
		}
		got, err := f.s.RetireClosed(ctx, cutoff, []string{"sub-bob"}, false)
		if err != nil || !slices.Equal(got, dry) {
			t.Fatalf("RetireClosed = %v, %v; the dry run said %v", got, err, dry)
		}
		if d, err := f.s.Details(as(officer), old.ID); err != nil || d != "" {
			t.Errorf("details of the retired request: %q, %v", d, err)
		}
		if c, err := f.s.Contact(as(officer), old.ID); err != nil || c != "" {
			t.Errorf("address of the retired request: %q, %v", c, err)
		}
		if _, err := f.s.Get(ctx, old.ID); err != nil {
			t.Errorf("the retired request's record: %v", err)
		}
		for _, id := range []string{held.ID, late.ID, open.ID} {
			if d, err := f.s.Details(as(officer), id); err != nil || d == "" {
				t.Errorf("details of %s: %q, %v", id, d, err)
			}
		}
		if again, err := f.s.RetireClosed(ctx, cutoff, nil, false); err != nil || !slices.Equal(again, []string{held.ID}) {
			t.Fatalf("after the hold: %v, %v; want only the held request", again, err)
		}
	})
}
