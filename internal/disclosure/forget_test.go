package disclosure_test

import (
	"context"
	"testing"

	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/disclosure"
)

// TestForgetBlanksTheTexts: a disclosure's reason, written by the asking
// system, can name the person; after the subject's erasure no reason of
// theirs remains and nothing of theirs waits for an answer, while another
// subject's disclosures are untouched.
func TestForgetBlanksTheTexts(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		w := newWorld(t, store)
		w.assess(t, "adnet", true)
		ask := func(subject string) disclosure.Disclosure {
			d, err := w.d.Ask(ctx, disclosure.Ask{Subject: subject, Vendor: "adnet", Purpose: "marketing", Categories: []string{"contact"},
				Reason: "Ada Lovelace of 12 Analytical Road asked for offers"})
			if err != nil {
				t.Fatal(err)
			}
			return d
		}
		mine, other := ask("cust-ada"), ask("cust-bob")
		if mine.State != disclosure.Pending {
			t.Fatalf("state before: %s", mine.State)
		}
		n, err := w.d.Forget(ctx, "cust-ada")
		if err != nil || n != 1 {
			t.Fatalf("Forget = %d, %v", n, err)
		}
		got, _ := w.d.Get(ctx, mine.ID)
		if got.Reason != "" || got.State != disclosure.Expired {
			t.Fatalf("after Forget: reason %q, state %s", got.Reason, got.State)
		}
		if kept, _ := w.d.Get(ctx, other.ID); kept.Reason == "" || kept.State != disclosure.Pending {
			t.Fatalf("another subject's disclosure changed: %+v", kept)
		}
	})
}
