// Package ethicstest gives tests purposes that may be used: approved
// through the ethics service as a privacy officer would, or marked assessed
// straight in a consent service's purpose gate, for tests of other
// packages that decide on purposes they create.
//
//	ethicstest.ApproveAll(t, ethicsService)   // every purpose, through the service (audited)
//	ethicstest.OpenPurposes(t, consentService) // every purpose, now and later, in the gate only
package ethicstest

import (
	"context"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/ethics"
)

// Officer is the privacy officer ApproveAll approves as.
var Officer = audit.Staff("ethicstest_privacy_officer")

// Complete returns answers that complete any purpose's assessment, with
// the balancing test and a DPIA whether or not it needs them.
func Complete() ethics.Answers {
	yes := true
	return ethics.Answers{
		CustomerKnows: "The privacy notice and the banner describe what is collected, why, and for how long.",
		OptOut:        &yes, StorageSafe: &yes, Storage: "Encrypted at rest in the EU, access logged.",
		Typical:   &yes,
		Balancing: ethics.Balancing{Purpose: "Fraud prevention.", Necessity: "No less intrusive means.", Balance: "Limited data, short retention."},
		DPIA:      ethics.DPIA{Description: "Described.", Risks: "Assessed.", Measures: "In place."},
	}
}

// ApproveAll saves complete answers for every purpose of the catalog that
// needs an assessment and approves them as Officer.
func ApproveAll(tb testing.TB, svc *ethics.Service, catalog ethics.Catalog) {
	tb.Helper()
	ctx := audit.WithActor(context.Background(), Officer)
	for _, p := range catalog.Purposes() {
		if !p.NeedsAssessment() {
			continue
		}
		if _, err := svc.Save(ctx, p.Key, Complete()); err != nil {
			tb.Fatalf("ethicstest: save the assessment of %s: %v", p.Key, err)
		}
		if _, err := svc.Approve(ctx, p.Key); err != nil {
			tb.Fatalf("ethicstest: approve the assessment of %s: %v", p.Key, err)
		}
	}
}

// OpenPurposes makes every purpose of c's catalog hold an approved
// assessment that covers its scope, now and after any change of the
// catalog, until the year 3000: c's purpose assessment source approves
// whatever the catalog holds when it is read (at every catalog change).
// It stands in for package ethics in tests of other packages.
func OpenPurposes(tb testing.TB, c *consent.Service) {
	tb.Helper()
	source := func(context.Context) (map[string]consent.PurposeAssessment, error) {
		assessed := map[string]consent.PurposeAssessment{}
		for _, p := range c.Purposes() {
			vendors, categories, err := c.PurposeScope(p.Key)
			if err != nil {
				return nil, err
			}
			assessed[p.Key] = consent.PurposeAssessment{Until: time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC), LegalBasis: p.LegalBasis,
				Vendors: vendors, Categories: categories}
		}
		return assessed, nil
	}
	if err := c.SetPurposeAssessmentSource(context.Background(), source); err != nil {
		tb.Fatalf("ethicstest: open the purposes: %v", err)
	}
}
