package dsr_test

import (
	"context"
	"crypto/ed25519"
	"testing"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/dsr"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/ethics/ethicstest"
	"github.com/steward-dev/steward/internal/receipt"
)

// TestCompletingRestrictionAndObjection replays the finding: staff
// completed a restriction or objection request and nothing changed, the
// customer's data still used. Now completion puts it into effect first:
// the next decision answers restricted or objected. A request without a
// known customer, or an objection without purposes, is refused and stays
// in progress.
func TestCompletingRestrictionAndObjection(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		_, key, _ := ed25519.GenerateKey(nil)
		signer, _ := receipt.NewSigner(key)
		log, err := audit.New(audit.Config{DB: store})
		if err != nil {
			t.Fatal(err)
		}
		cs, err := consent.Open(ctx, consent.Config{DB: store, Signer: signer, FollowInterval: -1, Audit: log})
		if err != nil {
			t.Fatal(err)
		}
		defer cs.Close()
		ethicstest.OpenPurposes(t, cs)
		if _, err := cs.PutProperty(ctx, consent.Property{Key: "shop", Name: "Shop", Domains: []string{"shop.example"}, DefaultJurisdiction: "DE"}, true); err != nil {
			t.Fatal(err)
		}
		for _, p := range []consent.Purpose{
			{Key: "marketing", Names: map[string]string{"en": "Marketing"}, LegalBasis: consent.BasisConsent},
			{Key: "fraud", Names: map[string]string{"en": "Fraud"}, LegalBasis: consent.BasisLegitimateInterest},
		} {
			if _, err := cs.PutPurpose(ctx, p, true); err != nil {
				t.Fatal(err)
			}
		}
		f := newFixture(t, store)
		s, err := dsr.NewService(dsr.Config{DB: store, Secrets: secretsOf(t, f), Audit: f.log, Now: f.clock.now,
			Restrict: cs.RestrictFor, Object: cs.ObjectFor})
		if err != nil {
			t.Fatal(err)
		}
		decide := func(purpose string) consent.Answer {
			a, err := cs.Decider().Decide(&consent.Question{Subject: "cust-42", Purpose: purpose}, false)
			if err != nil {
				t.Fatal(err)
			}
			return a
		}
		inProgress := func(kind dsr.Kind, subject string) dsr.Request {
			t.Helper()
			r, err := s.File(as(customer), dsr.NewRequest{Kind: kind, Regime: dsr.GDPR, Email: adaEmail, EmailHash: f.ada})
			if err != nil {
				t.Fatal(err)
			}
			if subject != "" {
				if _, err := s.AttachSubject(as(officer), r.ID, subject); err != nil {
					t.Fatal(err)
				}
			}
			for _, step := range []func(context.Context, string) (dsr.Request, error){s.Verify, s.Start} {
				if r, err = step(as(officer), r.ID); err != nil {
					t.Fatal(err)
				}
			}
			return r
		}

		anonymous := inProgress(dsr.KindRestriction, "")
		if _, err := s.Complete(as(officer), anonymous.ID, ""); errs.CodeOf(err) != errs.CodeConflict {
			t.Fatalf("completing a restriction of nobody = %v, want a conflict", err)
		}

		if got := decide("fraud"); !got.Allowed {
			t.Fatalf("fraud before = %+v", got)
		}
		restriction := inProgress(dsr.KindRestriction, "cust-42")
		done, err := s.Complete(as(officer), restriction.ID, "")
		if err != nil || done.State != dsr.StateCompleted {
			t.Fatalf("Complete = %+v, %v", done, err)
		}
		if got := decide("fraud"); got.Allowed || got.Reason != consent.ReasonRestricted {
			t.Fatalf("fraud after the restriction = %+v, want restricted", got)
		}
		list, err := cs.Restrictions(ctx, "cust-42")
		if err != nil || len(list) != 1 || list[0].RequestID != restriction.ID || list[0].Purpose != "" {
			t.Fatalf("Restrictions = %+v, %v", list, err)
		}
		if err := cs.Lift(audit.WithActor(ctx, officer), "cust-42", ""); err != nil {
			t.Fatal(err)
		}

		objection := inProgress(dsr.KindObjection, "cust-42")
		if _, err := s.Complete(as(officer), objection.ID, ""); errs.CodeOf(err) != errs.CodeInvalid {
			t.Fatalf("completing an objection to nothing = %v, want invalid purposes", err)
		}
		if _, err := s.CompleteWith(as(officer), objection.ID, []string{"nope"}); errs.CodeOf(err) != errs.CodeInvalid {
			t.Fatalf("objecting to an unknown purpose = %v, want invalid", err)
		}
		if r, _ := s.Get(ctx, objection.ID); r.State != dsr.StateInProgress {
			t.Fatalf("a refused completion moved the request to %s", r.State)
		}
		if _, err := s.CompleteWith(as(officer), objection.ID, []string{"fraud", "marketing"}); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{"fraud", "marketing"} {
			if got := decide(p); got.Allowed || got.Reason != consent.ReasonObjected {
				t.Fatalf("%s after the objection = %+v, want objected", p, got)
			}
		}
		if _, err := s.CompleteWith(as(officer), inProgress(dsr.KindAccess, "cust-42").ID, []string{"fraud"}); errs.CodeOf(err) != errs.CodeInvalid {
			t.Fatalf("purposes on an access request = %v, want invalid", err)
		}
	})
}

// secretsOf returns the fixture vault's box for requests.
func secretsOf(t *testing.T, f *fixture) dsr.SecretBox {
	t.Helper()
	box, err := f.vault.SecretBox("dsr")
	if err != nil {
		t.Fatal(err)
	}
	return box
}
