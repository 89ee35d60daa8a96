package disclosure_test

import (
	"context"
	"slices"
	"testing"

	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/disclosure"
)

// TestRecipients: the vendors a rectification is passed on to are those
// whose disclosures of the subject went ahead (allowed or approved); one
// still pending, or another subject's, is not a recipient.
func TestRecipients(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		w := newWorld(t, store)
		w.assess(t, "carrier", true)
		w.assess(t, "adnet", true)
		ask := func(subject, vendor, purpose string) disclosure.Disclosure {
			d, err := w.d.Ask(ctx, disclosure.Ask{Subject: subject, Vendor: vendor, Purpose: purpose, Categories: []string{"contact"}, Reason: "order"})
			if err != nil {
				t.Fatal(err)
			}
			return d
		}
		ask("cust-a", "carrier", "delivery")
		pending := ask("cust-a", "adnet", "marketing")
		ask("cust-b", "adnet", "marketing")
		got, err := w.d.Recipients(ctx, "cust-a")
		if err != nil || !slices.Equal(got, []string{"carrier"}) {
			t.Fatalf("Recipients = %v, %v; want [carrier]", got, err)
		}
		if _, err := w.d.Decide(ctx, pending.ID, "cust-a", true); err != nil {
			t.Fatal(err)
		}
		if got, err = w.d.Recipients(ctx, "cust-a"); err != nil || !slices.Equal(got, []string{"adnet", "carrier"}) {
			t.Fatalf("after approval, Recipients = %v, %v", got, err)
		}
	})
}
