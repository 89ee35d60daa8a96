package assurance_test

import (
	"context"
	"crypto/ed25519"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/assurance"
	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/ethics/ethicstest"
	"github.com/steward-dev/steward/internal/receipt"
	"github.com/steward-dev/steward/internal/vault/vaulttest"
)

// TestVendorGateFollowsAssurance replays the gate end to end, on the real
// consent service: a customer granted the newsletter with the mailer, and
// the decision follows the mailer's assessment at once — closed before
// sign-off, open after it, closed when the approval is withdrawn (without
// an older approval counting again), and closed when the approval runs
// out, with no job run.
func TestVendorGateFollowsAssurance(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		c := &clock{t: start}
		_, key, _ := ed25519.GenerateKey(nil)
		signer, _ := receipt.NewSigner(key)
		log, err := audit.New(audit.Config{DB: store})
		if err != nil {
			t.Fatal(err)
		}
		catalog, err := consent.Open(ctx, consent.Config{DB: store, Signer: signer, Now: c.now, FollowInterval: -1})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { catalog.Close() })
		ethicstest.OpenPurposes(t, catalog)
		if _, err := catalog.PutPurpose(ctx, consent.Purpose{Key: "newsletter", Names: map[string]string{"en": "Newsletter"}, LegalBasis: consent.BasisConsent}, true); err != nil {
			t.Fatal(err)
		}
		if _, err := catalog.PutVendor(ctx, mailer, true); err != nil {
			t.Fatal(err)
		}
		if _, err := catalog.PutProperty(ctx, consent.Property{Key: "shop", Name: "Shop", Domains: []string{"shop.example"}, DefaultJurisdiction: "DE"}, true); err != nil {
			t.Fatal(err)
		}
		box, err := vaulttest.Open(t, store).SecretBox("vendor")
		if err != nil {
			t.Fatal(err)
		}
		s, err := assurance.NewService(assurance.Config{DB: store, Audit: log, Secrets: box, Catalog: catalog, Gate: catalog, Now: c.now})
		if err != nil {
			t.Fatal(err)
		}
		if err := catalog.SetAssessmentSource(ctx, s.AssessedVendors); err != nil {
			t.Fatal(err)
		}
		f := &fixture{s: s, clock: c, log: log, store: store}
		events := []consent.Event{{ID: "grant-1", Property: "shop", Subject: "cust-1", Purpose: "newsletter", Vendor: mailer.Key,
			Action: consent.ActionGrant, Source: consent.SourceAPI}}
		if err := catalog.ValidateEvents(events, consent.Author{Kind: consent.AuthorRecordKey}); err != nil {
			t.Fatal(err)
		}
		if _, err := catalog.Append(ctx, events); err != nil {
			t.Fatal(err)
		}
		check := func(step string, want consent.Reason) {
			t.Helper()
			a, err := catalog.Decider().Decide(&consent.Question{Subject: "cust-1", Purpose: "newsletter", Vendor: mailer.Key, Jurisdiction: "DE"}, false)
			if err != nil {
				t.Fatal(err)
			}
			if a.Reason != want || a.Allowed != (want == consent.ReasonConsentGranted) {
				t.Fatalf("%s: %+v, want %s", step, a, want)
			}
			if got := catalog.VendorAssessed(mailer.Key); got != (want == consent.ReasonConsentGranted) {
				t.Fatalf("%s: VendorAssessed = %v", step, got)
			}
			as, err := s.Assurance(ctx, mailer.Key)
			if err != nil {
				t.Fatal(err)
			}
			if as.Passing != (want == consent.ReasonConsentGranted) {
				t.Fatalf("%s: the gate and Assurance disagree: %+v", step, as)
			}
		}
		check("never assessed", consent.ReasonVendorNotAssessed)
		older := f.MustApprove(t, mailer.Key)
		check("signed off", consent.ReasonConsentGranted)
		c.add(24 * time.Hour)
		latest := f.MustApprove(t, mailer.Key)
		check("signed off again", consent.ReasonConsentGranted)
		if _, err := s.Revoke(as(officer), latest.ID, "Their certificate was withdrawn after a breach."); err != nil {
			t.Fatal(err)
		}
		check("approval withdrawn (the older one does not count again)", consent.ReasonVendorNotAssessed)
		if _, err := s.Revoke(as(officer), older.ID, "Also withdrawn."); err != nil {
			t.Fatal(err)
		}
		c.add(time.Hour)
		renewed := f.MustApprove(t, mailer.Key)
		check("assessed anew", consent.ReasonConsentGranted)
		c.add(renewed.ValidUntil.Sub(c.now()) - time.Second)
		check("a second before it runs out", consent.ReasonConsentGranted)
		c.add(time.Second)
		check("ran out", consent.ReasonVendorNotAssessed)
		// A replica that starts now reads the same from the store.
		gate, err := s.AssessedVendors(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if a, ok := gate[mailer.Key]; !ok || !a.Until.Equal(*renewed.ValidUntil) {
			t.Fatalf("AssessedVendors = %+v, want the renewed approval", gate)
		}
	})
}
