package disclosure_test

import (
	"context"
	"testing"

	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/disclosure"
)

// TestDisclosureRestrictedAndObjected replays the findings: a restricted
// customer's data went to the carrier (a necessary purpose) and to a
// vendor they had consented to; a customer who objected to marketing was
// still asked, or shared with after a later grant by the back end. Each is
// now blocked with a fixed reason, at once, and lifting the restriction
// restores the answer.
func TestDisclosureRestrictedAndObjected(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		w := newWorld(t, store)
		w.assess(t, "carrier", true)
		w.assess(t, "adnet", true)
		ask := func(subject, vendor, purpose string) disclosure.Disclosure {
			t.Helper()
			d, err := w.d.Ask(ctx, disclosure.Ask{Subject: subject, Vendor: vendor, Purpose: purpose, Categories: []string{"contact"}, Reason: "to deliver your order"})
			if err != nil {
				t.Fatal(err)
			}
			return d
		}
		w.record(t, "cust-r", "marketing", "adnet", consent.ActionGrant, false)
		if d := ask("cust-r", "adnet", "marketing"); d.State != disclosure.Allowed {
			t.Fatalf("before: %s (%s)", d.State, d.BlockedReason)
		}
		if _, err := w.svc.Restrict(ctx, "cust-r", "", "dsr_x"); err != nil {
			t.Fatal(err)
		}
		for _, c := range [][2]string{{"adnet", "marketing"}, {"carrier", "delivery"}} {
			if d := ask("cust-r", c[0], c[1]); d.State != disclosure.Blocked || d.BlockedReason != disclosure.BlockedRestricted {
				t.Errorf("restricted, %s for %s: %s (%s), want blocked (restricted)", c[0], c[1], d.State, d.BlockedReason)
			}
		}
		if err := w.svc.Lift(ctx, "cust-r", ""); err != nil {
			t.Fatal(err)
		}
		if d := ask("cust-r", "carrier", "delivery"); d.State != disclosure.Allowed {
			t.Errorf("after lifting: %s (%s)", d.State, d.BlockedReason)
		}

		events := []consent.Event{{ID: "obj-1", Property: "shop", Subject: "cust-o", Purpose: "marketing", Action: consent.ActionObject, Source: consent.SourcePortal}}
		if err := w.svc.ValidateEvents(events, consent.Author{Kind: consent.AuthorPortal}); err != nil {
			t.Fatal(err)
		}
		if _, err := w.svc.Append(ctx, events); err != nil {
			t.Fatal(err)
		}
		w.record(t, "cust-o", "marketing", "adnet", consent.ActionGrant, false) // the back end, not the customer
		if d := ask("cust-o", "adnet", "marketing"); d.State != disclosure.Blocked || d.BlockedReason != disclosure.BlockedObjected {
			t.Errorf("objected: %s (%s), want blocked (objected)", d.State, d.BlockedReason)
		}
	})
}
