package disclosure_test

import (
	"context"
	"testing"

	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/disclosure"
)

// TestDisclosureStaysWithinDeclared replays each block of issue 14 with the
// customer's consent granted, so that only the rule at hand can stop the
// data: in-house data never leaves; a vendor gets only the categories it is
// declared and assessed for; a vendor outside the EEA needs a recorded
// safeguard when a property is an EU one; and the decision engine's gate
// blocks a vendor it does not know as assessed. Each answer names its code,
// in the order of precedence, and says why in words.
func TestDisclosureStaysWithinDeclared(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		w := newWorld(t, store)
		if _, err := w.svc.PutCategory(ctx, consent.Category{Key: "vitals", Names: map[string]string{"en": "Vital signs"}, Special: true, InHouse: true}, true); err != nil {
			t.Fatal(err)
		}
		put := func(v consent.Vendor) {
			t.Helper()
			if _, err := w.svc.PutVendor(ctx, v, false); err != nil {
				t.Fatal(err)
			}
		}
		// adnet (IE) may receive contact and, as declared, vitals: the
		// in-house flag still wins.
		put(consent.Vendor{Key: "adnet", Name: "AdNet", Purposes: []string{"marketing", "sale"}, DataCategories: []string{"contact", "vitals", "location"}, Country: "IE"})
		w.assess(t, "adnet", true)
		w.record(t, "cust-1", "marketing", "adnet", consent.ActionGrant, false)
		ask := func(categories ...string) disclosure.Disclosure {
			t.Helper()
			d, err := w.d.Ask(ctx, disclosure.Ask{Subject: "cust-1", Vendor: "adnet", Purpose: "marketing", Categories: categories, Reason: "to show you offers"})
			if err != nil {
				t.Fatal(err)
			}
			return d
		}
		expect := func(step string, d disclosure.Disclosure, reason string) {
			t.Helper()
			if reason == "" {
				if d.State != disclosure.Allowed {
					t.Errorf("%s: %s (%s: %s), want allowed", step, d.State, d.BlockedReason, d.BlockedDetail)
				}
				return
			}
			if d.State != disclosure.Blocked || d.BlockedReason != reason || d.BlockedDetail == "" {
				t.Errorf("%s: %s (%s: %s), want blocked with %s and a detail", step, d.State, d.BlockedReason, d.BlockedDetail, reason)
			}
			stored, err := w.d.Get(ctx, d.ID)
			if err != nil || stored.BlockedReason != reason || stored.BlockedDetail == "" {
				t.Errorf("%s: read back %+v, %v", step, stored, err)
			}
		}
		expect("contact, consent granted", ask("contact"), "")
		expect("in-house category, consent granted", ask("contact", "vitals"), disclosure.BlockedCategoryInHouse)
		expect("undeclared category", ask("contact", "financial"), disclosure.BlockedCategoryNotDeclared)
		expect("unknown category", ask("shoe_size"), disclosure.BlockedCategoryNotDeclared)
		// The in-house check comes first, whatever else is wrong.
		expect("in-house and undeclared", ask("financial", "vitals"), disclosure.BlockedCategoryInHouse)

		// Declared since the assessment, not assessed for: the gate closes
		// the vendor, and the category is named as outside the scope.
		w.assess(t, "adnet", true)
		put(consent.Vendor{Key: "adnet", Name: "AdNet", Purposes: []string{"marketing", "sale"}, DataCategories: []string{"contact", "vitals", "location", "device"}, Country: "IE"})
		expect("declared, outside the assessment", ask("device"), disclosure.BlockedCategoryNotDeclared)
		expect("within the assessment, the vendor grew", ask("contact"), disclosure.BlockedVendorNotAssessed)
		w.assess(t, "adnet", true)
		expect("assessed again", ask("device"), "")

		// A third country: the shop is a German property.
		put(consent.Vendor{Key: "adnet", Name: "AdNet", Purposes: []string{"marketing", "sale"}, DataCategories: []string{"contact"}, Country: "US"})
		w.assess(t, "adnet", true)
		expect("US vendor without safeguard", ask("contact"), disclosure.BlockedTransferWithoutSafeguard)
		expect("in-house before transfer", ask("vitals"), disclosure.BlockedCategoryInHouse)
		put(consent.Vendor{Key: "adnet", Name: "AdNet", Purposes: []string{"marketing", "sale"}, DataCategories: []string{"contact"}, Country: "US", TransferSafeguard: consent.SafeguardSCC})
		expect("US vendor with standard contractual clauses", ask("contact"), "")
		put(consent.Vendor{Key: "adnet", Name: "AdNet", Purposes: []string{"marketing", "sale"}, DataCategories: []string{"contact"}})
		expect("country not recorded, no safeguard", ask("contact"), disclosure.BlockedTransferWithoutSafeguard)
		put(consent.Vendor{Key: "adnet", Name: "AdNet", Purposes: []string{"marketing", "sale"}, DataCategories: []string{"contact"}, Country: "US"})
		// Only US properties: no EEA transfer rule applies.
		if _, err := w.svc.PutProperty(ctx, consent.Property{Key: "shop", Name: "Shop", Domains: []string{"shop.example"}, DefaultJurisdiction: "US-CA"}, false); err != nil {
			t.Fatal(err)
		}
		expect("US vendor, US property", ask("contact"), "")
		if _, err := w.svc.PutProperty(ctx, consent.Property{Key: "shop-fr", Name: "Shop FR", Domains: []string{"shop.example.fr"}, DefaultJurisdiction: "FR"}, true); err != nil {
			t.Fatal(err)
		}
		expect("US vendor, one EU property among others", ask("contact"), disclosure.BlockedTransferWithoutSafeguard)
		put(consent.Vendor{Key: "adnet", Name: "AdNet", Purposes: []string{"marketing", "sale"}, DataCategories: []string{"contact"}, Country: "IE"})

		// One gate: the assurance answer passes, but the decision engine was
		// told of a withdrawal (another replica's): blocked all the same.
		w.assess(t, "adnet", true)
		expect("assessed", ask("contact"), "")
		w.svc.SetAssessedVendors(map[string]consent.VendorAssessment{})
		expect("withdrawn in the gate", ask("contact"), disclosure.BlockedVendorNotAssessed)
		w.assess(t, "adnet", true)
		expect("assessed again", ask("contact"), "")
		// The purpose has no approved ethics assessment: nothing leaves for it.
		if err := w.svc.SetPurposeAssessmentSource(ctx, func(context.Context) (map[string]consent.PurposeAssessment, error) {
			return map[string]consent.PurposeAssessment{}, nil
		}); err != nil {
			t.Fatal(err)
		}
		expect("purpose not assessed", ask("contact"), disclosure.BlockedPurposeNotAssessed)
	})
}
