package consent_test

import (
	"context"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
)

// TestVendorGate replays each way a vendor loses its assessment: a
// decision naming it answers vendor_not_assessed at once, whatever the
// consent, necessary purposes included; the banner's question
// (VendorAssessed) says the same.
func TestVendorGate(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		c := &clock{t: now}
		svc := openServiceWithClock(t, store, newSigner(t), c)
		seed(t, svc)
		if _, err := svc.PutVendor(ctx, consent.Vendor{Key: "courier", Name: "Courier", Purposes: []string{"necessary", "analytics"}, Country: "DE"}, true); err != nil {
			t.Fatal(err)
		}
		appendOK(t, svc, event("g1", "dev-g", "analytics", consent.ActionGrant))
		until := now.Add(24 * time.Hour)
		grant := consent.Question{Device: "dev-g", Purpose: "analytics", Vendor: "courier", Jurisdiction: "DE"}
		necessary := consent.Question{Device: "dev-g", Purpose: "necessary", Vendor: "courier", Jurisdiction: "DE"}
		noVendor := consent.Question{Device: "dev-g", Purpose: "analytics", Jurisdiction: "DE"}
		steps := []struct {
			name     string
			change   func()
			assessed bool
		}{
			{"never pushed: closed by default", func() {}, false},
			{"signed off", func() {
				svc.SetAssessedVendors(map[string]consent.VendorAssessment{"courier": {Until: until, Purposes: []string{"analytics", "necessary"}}})
			}, true},
			{"purposes grew beyond the assessment", func() {
				if _, err := svc.PutVendor(ctx, consent.Vendor{Key: "courier", Name: "Courier", Purposes: []string{"necessary", "analytics", "marketing"}, Country: "DE"}, false); err != nil {
					t.Fatal(err)
				}
			}, false},
			{"back within scope", func() {
				if _, err := svc.PutVendor(ctx, consent.Vendor{Key: "courier", Name: "Courier", Purposes: []string{"necessary", "analytics"}, Country: "DE"}, false); err != nil {
					t.Fatal(err)
				}
			}, true},
			{"categories grew beyond the assessment", func() {
				if _, err := svc.PutVendor(ctx, consent.Vendor{Key: "courier", Name: "Courier", Purposes: []string{"necessary", "analytics"},
					DataCategories: []string{"contact"}, Country: "DE"}, false); err != nil {
					t.Fatal(err)
				}
			}, false},
			{"assessed again with the category", func() {
				svc.SetAssessedVendors(map[string]consent.VendorAssessment{"courier": {Until: until, Purposes: []string{"analytics", "necessary"}, Categories: []string{"contact"}}})
			}, true},
			{"a second before expiry", func() { c.Advance(until.Sub(c.Now()) - time.Second) }, true},
			{"expired", func() { c.Advance(time.Second) }, false},
			{"assessed again", func() {
				svc.SetAssessedVendors(map[string]consent.VendorAssessment{"courier": {Until: until.Add(time.Hour), Purposes: []string{"analytics", "necessary"}, Categories: []string{"contact"}}})
			}, true},
			{"approval withdrawn", func() { svc.SetAssessedVendors(map[string]consent.VendorAssessment{}) }, false},
		}
		for _, step := range steps {
			step.change()
			for _, q := range []consent.Question{grant, necessary} {
				a := decide(t, svc, q)
				if step.assessed && !a.Allowed {
					t.Errorf("%s: %s: %+v, want allowed", step.name, q.Purpose, a)
				}
				if !step.assessed && (a.Allowed || a.Reason != consent.ReasonVendorNotAssessed) {
					t.Errorf("%s: %s: %+v, want vendor_not_assessed", step.name, q.Purpose, a)
				}
			}
			if got := svc.VendorAssessed("courier"); got != step.assessed {
				t.Errorf("%s: VendorAssessed = %v, want %v", step.name, got, step.assessed)
			}
			// A question naming no vendor is not gated.
			if a := decide(t, svc, noVendor); !a.Allowed || a.Reason != consent.ReasonConsentGranted {
				t.Errorf("%s: without vendor: %+v, want consent_granted", step.name, a)
			}
		}
		// An undeclared vendor stays vendor_not_declared, assessed or not.
		undeclared := consent.Question{Device: "dev-g", Purpose: "marketing", Vendor: "metrics-co", Jurisdiction: "DE"}
		if a := decide(t, svc, undeclared); a.Reason != consent.ReasonVendorNotDeclared {
			t.Errorf("undeclared: %+v, want vendor_not_declared", a)
		}
	})
}

// TestInEEA: the EEA is the EU, Iceland, Liechtenstein and Norway; the
// United Kingdom and Switzerland are third countries (with adequacy
// decisions, which a vendor records as its safeguard).
func TestInEEA(t *testing.T) {
	for country, want := range map[string]bool{"DE": true, "ie": true, "NO": true, "IS": true, "LI": true, "GR": true, "EL": true, " at ": true, "GB": false, "CH": false, "US": false, "": false, "EU": false} {
		if got := consent.InEEA(country); got != want {
			t.Errorf("InEEA(%q) = %v, want %v", country, got, want)
		}
	}
}

// TestPropertyRegion derives the region from the jurisdiction settings.
func TestPropertyRegion(t *testing.T) {
	cases := []struct {
		name string
		p    consent.Property
		want consent.Region
	}{
		{"EU country", consent.Property{DefaultJurisdiction: "FR"}, consent.RegionEEA},
		{"EEA country", consent.Property{DefaultJurisdiction: "NO"}, consent.RegionEEA},
		{"subdivision of an EU country", consent.Property{DefaultJurisdiction: "ES-CT"}, consent.RegionEEA},
		{"EU group", consent.Property{DefaultJurisdiction: "EU"}, consent.RegionEEA},
		{"US state", consent.Property{DefaultJurisdiction: "US-CA"}, consent.RegionOther},
		{"United Kingdom", consent.Property{DefaultJurisdiction: "GB"}, consent.RegionOther},
		{"no default, default rules", consent.Property{}, consent.RegionEEA},
		{"no default, rules opt in for the EU", consent.Property{JurisdictionRules: consent.JurisdictionRules{OptIn: []string{"EU"}, Default: consent.OptOut}}, consent.RegionEEA},
		{"no default, rules for the US only", consent.Property{JurisdictionRules: consent.JurisdictionRules{OptIn: []string{"US-CA"}, Default: consent.OptOut}}, consent.RegionOther},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := consent.PropertyRegion(c.p); got != c.want {
				t.Errorf("PropertyRegion = %q, want %q", got, c.want)
			}
		})
	}
	for _, c := range []struct {
		region  consent.Region
		country string
		want    bool
	}{{consent.RegionEEA, "US", true}, {consent.RegionEEA, "", true}, {consent.RegionEEA, "IE", false}, {consent.RegionOther, "US", false}} {
		if got := consent.NeedsTransferSafeguard(c.region, c.country); got != c.want {
			t.Errorf("NeedsTransferSafeguard(%q, %q) = %v, want %v", c.region, c.country, got, c.want)
		}
	}
}
