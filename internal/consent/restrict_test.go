package consent_test

import (
	"context"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/ethics/ethicstest"
)

// waitUntil polls cond until it holds, failing after five seconds.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("replica did not follow: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func answer(svc *consent.Service, q consent.Question) consent.Answer {
	a, err := svc.Decider().Decide(&q, false)
	if err != nil {
		return consent.Answer{Reason: consent.Reason("error: " + err.Error())}
	}
	return a
}

// TestRestrictionStopsDecisionsHereAndOnReplica replays the finding: a
// restricted customer's granted purposes (and their linked device's) were
// still allowed. The restriction changes the next decision at once, a
// second Service on the same database after it follows, and lifting it
// restores the grant on both; a restart rebuilds the same answers.
func TestRestrictionStopsDecisionsHereAndOnReplica(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		signer := newSigner(t)
		a := openService(t, store, signer)
		seed(t, a)
		b, err := consent.Open(ctx, consent.Config{DB: store, Signer: signer, Now: func() time.Time { return now }, FollowInterval: 10 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		ethicstest.OpenPurposes(t, b)
		appendOK(t, a, consent.Event{ID: "g1", Property: "shop", Subject: "cust-r", Purpose: "analytics", Action: consent.ActionGrant,
			Source: consent.SourceAPI, NoticeVersion: "v1"},
			consent.Event{ID: "g2", Property: "shop", Subject: "cust-r", Purpose: "marketing", Action: consent.ActionGrant,
				Source: consent.SourceAPI, NoticeVersion: "v1"})
		if _, err := a.LinkDevice(ctx, "cust-r", "dev-r"); err != nil {
			t.Fatal(err)
		}
		subj := consent.Question{Subject: "cust-r", Purpose: "analytics"}
		dev := consent.Question{Device: "dev-r", Purpose: "analytics"}
		mkt := consent.Question{Subject: "cust-r", Purpose: "marketing"}
		waitUntil(t, "grant", func() bool { return answer(b, subj).Allowed })

		// One purpose first.
		r, err := a.Restrict(ctx, "cust-r", "marketing", "dsr_1")
		if err != nil {
			t.Fatal(err)
		}
		if got := answer(a, mkt); got.Allowed || got.Reason != consent.ReasonRestricted || got.Event != r.Seq {
			t.Fatalf("marketing after restriction = %+v, want restricted at %d", got, r.Seq)
		}
		if got := answer(a, subj); !got.Allowed {
			t.Fatalf("analytics is not restricted, got %+v", got)
		}
		// Then everything.
		if _, err := a.Restrict(ctx, "cust-r", "", ""); err != nil {
			t.Fatal(err)
		}
		for _, q := range []consent.Question{subj, dev, mkt, {Subject: "cust-r", Purpose: "necessary"}} {
			if got := answer(a, q); got.Allowed || got.Reason != consent.ReasonRestricted {
				t.Fatalf("%+v at once = %+v, want restricted", q, got)
			}
		}
		waitUntil(t, "restriction", func() bool {
			return answer(b, subj).Reason == consent.ReasonRestricted && answer(b, dev).Reason == consent.ReasonRestricted
		})
		// Placing it again changes nothing; the list shows both.
		again, err := a.Restrict(ctx, "cust-r", "marketing", "")
		if err != nil || again.Seq != r.Seq || again.RequestID != "dsr_1" {
			t.Fatalf("Restrict again = %+v, %v; want the first", again, err)
		}
		list, err := a.Restrictions(ctx, "cust-r")
		if err != nil || len(list) != 2 || list[0].Purpose != "marketing" || list[1].Purpose != "" {
			t.Fatalf("Restrictions = %+v, %v", list, err)
		}
		// A restart rebuilds it from the table.
		if got := answer(openService(t, store, signer), dev); got.Reason != consent.ReasonRestricted {
			t.Fatalf("after a restart = %+v, want restricted", got)
		}

		if err := a.Lift(ctx, "cust-r", ""); err != nil {
			t.Fatal(err)
		}
		for _, q := range []consent.Question{subj, dev, mkt} {
			if got := answer(a, q); !got.Allowed || got.Reason != consent.ReasonConsentGranted {
				t.Fatalf("%+v after lifting = %+v, want the grant", q, got)
			}
		}
		waitUntil(t, "lifting", func() bool { return answer(b, subj).Allowed && answer(b, mkt).Allowed })
		if list, _ := a.Restrictions(ctx, "cust-r"); len(list) != 0 {
			t.Fatalf("Restrictions after lifting = %+v", list)
		}
		if err := a.Lift(ctx, "cust-r", ""); errs.CodeOf(err) != errs.CodeNotFound {
			t.Fatalf("lifting none = %v, want not found", err)
		}
		if got := answer(openService(t, store, signer), mkt); !got.Allowed {
			t.Fatalf("after lifting and a restart = %+v", got)
		}
	})
}

// TestRestrictionRefusesBadInput: a pseudonym, an unknown purpose.
func TestRestrictionRefusesBadInput(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		svc := openService(t, store, newSigner(t))
		seed(t, svc)
		ctx := context.Background()
		for _, c := range []struct{ subject, purpose, field string }{
			{"prs_abc", "", "subject"}, {"", "", "subject"}, {"cust", "nope", "purpose"},
		} {
			_, err := svc.Restrict(ctx, c.subject, c.purpose, "")
			if e, ok := errs.As(err); !ok || e.Fields[c.field] == "" {
				t.Errorf("Restrict(%q, %q) = %v, want a problem with %s", c.subject, c.purpose, err, c.field)
			}
		}
	})
}

// TestErasureForgetsRestrictions: the subject's erasure deletes their
// restriction rows, and a replica reading them late does not restrict the
// erased id again.
func TestErasureForgetsRestrictions(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		svc := openService(t, store, newSigner(t))
		seed(t, svc)
		if _, err := svc.Restrict(ctx, "cust-x", "", ""); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Pseudonymise(ctx, "cust-x"); err != nil {
			t.Fatal(err)
		}
		// A replica that starts between the two steps of the erasure.
		if got := answer(openService(t, store, newSigner(t)), consent.Question{Subject: "cust-x", Purpose: "analytics"}); got.Reason == consent.ReasonRestricted {
			t.Fatalf("an erased subject is restricted again: %+v", got)
		}
		if n, err := svc.ForgetRestrictions(ctx, "cust-x"); err != nil || n != 1 {
			t.Fatalf("ForgetRestrictions = %d, %v", n, err)
		}
		if list, err := svc.Restrictions(ctx, "cust-x"); err != nil || len(list) != 0 {
			t.Fatalf("Restrictions = %+v, %v", list, err)
		}
	})
}

// TestObjection replays the findings: an objection to a
// legitimate-interest purpose (allowed by default) and to marketing must
// stop the purpose, and a later grant by anyone but the subject (the
// company's back end, an import, the banner on their linked device) must
// not bring it back; the subject's own grant in the portal does. A
// replica agrees after following.
func TestObjection(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		signer := newSigner(t)
		a := openService(t, store, signer)
		seed(t, a)
		if _, err := a.PutPurpose(ctx, consent.Purpose{Key: "fraud", Names: map[string]string{"en": "Fraud"}, LegalBasis: consent.BasisLegitimateInterest}, true); err != nil {
			t.Fatal(err)
		}
		b, err := consent.Open(ctx, consent.Config{DB: store, Signer: signer, Now: func() time.Time { return now }, FollowInterval: 10 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		ethicstest.OpenPurposes(t, b)
		if _, err := a.LinkDevice(ctx, "cust-o", "dev-o"); err != nil {
			t.Fatal(err)
		}
		ev := func(id, purpose string, action consent.Action, source consent.Source) consent.Event {
			return consent.Event{ID: id, Property: "shop", Subject: "cust-o", Purpose: purpose, Action: action, Source: source, NoticeVersion: "v1"}
		}
		fraud := consent.Question{Subject: "cust-o", Purpose: "fraud"}
		mkt := consent.Question{Subject: "cust-o", Purpose: "marketing"}
		if got := answer(a, fraud); !got.Allowed || got.Reason != consent.ReasonLegitimateInterest {
			t.Fatalf("fraud before = %+v", got)
		}
		appendOK(t, a, ev("m1", "marketing", consent.ActionGrant, consent.SourceAPI))

		appendOK(t, a, ev("o1", "fraud", consent.ActionObject, consent.SourcePortal), ev("o2", "marketing", consent.ActionObject, consent.SourcePortal))
		for _, q := range []consent.Question{fraud, mkt} {
			if got := answer(a, q); got.Allowed || got.Reason != consent.ReasonObjected {
				t.Fatalf("%s after objection = %+v, want objected", q.Purpose, got)
			}
		}
		// Later grants by others do not end it.
		appendOK(t, a, ev("m2", "marketing", consent.ActionGrant, consent.SourceAPI), ev("f2", "fraud", consent.ActionGrant, consent.SourceAPI),
			event("m3", "dev-o", "marketing", consent.ActionGrant))
		imp := ev("m4", "marketing", consent.ActionGrant, consent.SourceImport)
		imp.At = now.Add(-time.Hour)
		appendOK(t, a, imp)
		for _, q := range []consent.Question{fraud, mkt, {Device: "dev-o", Purpose: "marketing"}} {
			if got := answer(a, q); got.Allowed || got.Reason != consent.ReasonObjected {
				t.Fatalf("%+v after others' grants = %+v, want objected", q, got)
			}
		}
		waitUntil(t, "objection", func() bool {
			return answer(b, fraud).Reason == consent.ReasonObjected && answer(b, mkt).Reason == consent.ReasonObjected
		})
		if got := answer(openService(t, store, signer), mkt); got.Reason != consent.ReasonObjected {
			t.Fatalf("after a restart = %+v, want objected", got)
		}
		// The subject's own grant ends it, for that purpose only.
		appendOK(t, a, ev("m5", "marketing", consent.ActionGrant, consent.SourcePortal))
		if got := answer(a, mkt); !got.Allowed {
			t.Fatalf("marketing after the subject's own grant = %+v", got)
		}
		if got := answer(a, fraud); got.Reason != consent.ReasonObjected {
			t.Fatalf("fraud = %+v, want still objected", got)
		}
		waitUntil(t, "own grant", func() bool { return answer(b, mkt).Allowed })
		if got := answer(openService(t, store, signer), mkt); !got.Allowed {
			t.Fatalf("after the own grant and a restart = %+v", got)
		}
	})
}

// TestObjectionValidation: only a subject objects, to a purpose of
// legitimate interest or consent, and never through a public key.
func TestObjectionValidation(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		svc := openService(t, store, newSigner(t))
		seed(t, svc)
		cases := []struct {
			name  string
			e     consent.Event
			by    consent.Author
			field string
		}{
			{"device", consent.Event{ID: "x1", Property: "shop", Device: "d", Purpose: "marketing", Action: consent.ActionObject, Source: consent.SourceBanner},
				consent.Author{Kind: consent.AuthorIngestKey, Property: "shop"}, "events[0].action"},
			{"necessary", consent.Event{ID: "x2", Property: "shop", Subject: "s", Purpose: "necessary", Action: consent.ActionObject, Source: consent.SourcePortal},
				consent.Author{Kind: consent.AuthorPortal}, "events[0].purpose"},
			{"vendor", consent.Event{ID: "x3", Property: "shop", Subject: "s", Purpose: "marketing", Vendor: "ads-co", Action: consent.ActionObject, Source: consent.SourceAPI},
				consent.Author{Kind: consent.AuthorRecordKey}, "events[0].vendor"},
			{"subject by ingest key", consent.Event{ID: "x4", Property: "shop", Subject: "s", Purpose: "marketing", Action: consent.ActionObject, Source: consent.SourceBanner},
				consent.Author{Kind: consent.AuthorIngestKey, Property: "shop"}, "events[0].subject"},
		}
		for _, c := range cases {
			err := svc.ValidateEvents([]consent.Event{c.e}, c.by)
			if e, ok := errs.As(err); !ok || e.Fields[c.field] == "" {
				t.Errorf("%s: %v, want a problem with %s", c.name, err, c.field)
			}
		}
	})
}

// TestConcurrentRestrictPlacesOne: placings of the same restriction at
// once make one row; the start signal is a closed channel.
func TestConcurrentRestrictPlacesOne(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		svc := openService(t, store, newSigner(t))
		seed(t, svc)
		start := make(chan struct{})
		errc := make(chan error, 8)
		for range 8 {
			go func() {
				<-start
				_, err := svc.Restrict(ctx, "cust-c", "marketing", "")
				errc <- err
			}()
		}
		close(start)
		for range 8 {
			if err := <-errc; err != nil {
				t.Fatal(err)
			}
		}
		if list, err := svc.Restrictions(ctx, "cust-c"); err != nil || len(list) != 1 {
			t.Fatalf("Restrictions = %+v, %v; want one", list, err)
		}
	})
}
