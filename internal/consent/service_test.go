package consent_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/ethics/ethicstest"
	"github.com/steward-dev/steward/internal/receipt"
)

var now = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

func newSigner(tb testing.TB) *receipt.Signer {
	tb.Helper()
	key, err := receipt.LoadOrCreateKey(tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	s, err := receipt.NewSigner(key)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func openService(tb testing.TB, store *db.DB, signer *receipt.Signer) *consent.Service {
	tb.Helper()
	svc, err := consent.Open(context.Background(), consent.Config{
		DB: store, Signer: signer, Now: func() time.Time { return now }, FollowInterval: -1,
		Controller: receipt.Controller{PIIController: "Example Shop"},
	})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { svc.Close() })
	// Every purpose approved, as package ethics would push them (the
	// tests of the purpose gate are ethics's).
	ethicstest.OpenPurposes(tb, svc)
	return svc
}

// seed creates a property, four purposes, two vendors and a published notice.
func seed(tb testing.TB, svc *consent.Service) {
	tb.Helper()
	ctx := context.Background()
	must := func(_ any, err error) {
		tb.Helper()
		if err != nil {
			tb.Fatal(err)
		}
	}
	must(svc.PutProperty(ctx, consent.Property{Key: "shop", Name: "Shop", Domains: []string{"shop.example"}, DefaultJurisdiction: "DE"}, true))
	for _, p := range []consent.Purpose{
		{Key: "necessary", Names: map[string]string{"en": "Necessary"}, LegalBasis: consent.BasisContract, Necessary: true},
		{Key: "analytics", Names: map[string]string{"en": "Analytics"}, LegalBasis: consent.BasisConsent, Position: 1},
		{Key: "marketing", Names: map[string]string{"en": "Marketing"}, LegalBasis: consent.BasisConsent, Position: 2},
		{Key: "sale", Names: map[string]string{"en": "Sale of data"}, LegalBasis: consent.BasisConsent, SaleOrSharing: true, Position: 3},
	} {
		must(svc.PutPurpose(ctx, p, true))
	}
	must(svc.PutVendor(ctx, consent.Vendor{Key: "metrics-co", Name: "Metrics Co", Purposes: []string{"analytics"}, Country: "IE"}, true))
	must(svc.PutVendor(ctx, consent.Vendor{Key: "ads-co", Name: "Ads Co", Purposes: []string{"marketing", "sale"}, Country: "US"}, true))
	must(svc.PutNotice(ctx, consent.Notice{Version: "v1", Texts: map[string]string{"en": "We use data to..."}, Material: true}, true, true))
	assess(tb, svc, "metrics-co", "ads-co")
}

// assess marks vendors as holding a current passing security assessment
// that covers what the catalog gives them, valid a year from now, as
// package assurance pushes after a sign-off.
func assess(tb testing.TB, svc *consent.Service, keys ...string) {
	tb.Helper()
	assessed := map[string]consent.VendorAssessment{}
	for _, key := range keys {
		v, err := svc.Vendor(key)
		if err != nil {
			tb.Fatal(err)
		}
		assessed[key] = consent.VendorAssessment{Until: now.AddDate(1, 0, 0), Purposes: v.Purposes, Categories: v.DataCategories}
	}
	svc.SetAssessedVendors(assessed)
}

func event(id, device, purpose string, action consent.Action) consent.Event {
	return consent.Event{ID: id, Property: "shop", Device: device, Purpose: purpose, Action: action,
		Source: consent.SourceBanner, NoticeVersion: "v1", At: now.Add(-time.Minute)}
}

func appendOK(tb testing.TB, svc *consent.Service, events ...consent.Event) []consent.AppendResult {
	tb.Helper()
	for i := range events {
		if err := svc.ValidateEvents(events[i:i+1], authorOf(&events[i])); err != nil {
			tb.Fatalf("ValidateEvents: %v", err)
		}
	}
	res, err := svc.Append(context.Background(), events)
	if err != nil {
		tb.Fatalf("Append: %v", err)
	}
	return res
}

// authorOf returns the author that may record e: the ingest key of its
// property for the banner's sources, else the one author of its source.
func authorOf(e *consent.Event) consent.Author {
	switch e.Source {
	case consent.SourceBanner, consent.SourceGPC:
		return consent.Author{Kind: consent.AuthorIngestKey, Property: e.Property}
	case consent.SourcePortal:
		return consent.Author{Kind: consent.AuthorPortal}
	case consent.SourceImport:
		return consent.Author{Kind: consent.AuthorAdminKey}
	case consent.SourcePreferences:
		return consent.Author{Kind: consent.AuthorPreferenceLink}
	}
	return consent.Author{Kind: consent.AuthorRecordKey}
}

func decide(tb testing.TB, svc *consent.Service, q consent.Question) consent.Answer {
	tb.Helper()
	a, err := svc.Decider().Decide(&q, false)
	if err != nil {
		tb.Fatalf("Decide(%+v): %v", q, err)
	}
	return a
}

func TestAppendDecideAndReceipt(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		signer := newSigner(t)
		svc := openService(t, store, signer)
		seed(t, svc)
		q := consent.Question{Device: "dev-1", Purpose: "analytics", Vendor: "metrics-co"}
		if a := decide(t, svc, q); a.Allowed || a.Reason != consent.ReasonNoConsentRecorded {
			t.Fatalf("before consent: %+v", a)
		}
		res := appendOK(t, svc, event("e1", "dev-1", "analytics", consent.ActionGrant))
		if res[0].Duplicate || res[0].Event.Seq == 0 {
			t.Fatalf("append result %+v", res[0])
		}
		if a := decide(t, svc, q); !a.Allowed || a.Reason != consent.ReasonConsentGranted || a.Event != res[0].Event.Seq {
			t.Fatalf("after grant: %+v", a)
		}
		// Idempotent on the client's id: a retried beacon makes one event.
		again := appendOK(t, svc, event("e1", "dev-1", "analytics", consent.ActionGrant))
		if !again[0].Duplicate || again[0].Event.Seq != res[0].Event.Seq {
			t.Fatalf("retry: %+v, want duplicate of seq %d", again[0], res[0].Event.Seq)
		}
		r1, r2 := res[0].Event.Receipt, again[0].Event.Receipt
		if r1 == "" || r1 != r2 {
			t.Fatal("a retried event got a different receipt")
		}
		got, err := receipt.Verify(r1, signer.JWKS())
		if err != nil {
			t.Fatal(err)
		}
		if got.Steward.EventID != "e1" || got.Steward.Action != "grant" || got.PIIPrincipalID != "device:dev-1" || got.Services[0].Service != "Shop" {
			t.Fatalf("receipt content %+v", got)
		}
		// Freshness: a withdrawal changes the next decision at once.
		w := event("e2", "dev-1", "analytics", consent.ActionWithdraw)
		w.At = now
		appendOK(t, svc, w)
		if a := decide(t, svc, q); a.Allowed || a.Reason != consent.ReasonConsentWithdrawn {
			t.Fatalf("after withdraw: %+v", a)
		}
		events, err := svc.Events(context.Background(), consent.EventFilter{Device: "dev-1"})
		if err != nil || len(events) != 2 {
			t.Fatalf("Events = %d, %v; want 2", len(events), err)
		}
	})
}

func TestDecisionRulesEndToEnd(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		svc := openService(t, store, newSigner(t))
		seed(t, svc)
		appendOK(t, svc,
			event("g1", "dev-1", "sale", consent.ActionGrant),
			event("g2", "dev-1", "marketing", consent.ActionGrant),
		)
		cases := []struct {
			name string
			q    consent.Question
			gpc  bool
			want consent.Answer
		}{
			{"necessary", consent.Question{Device: "x", Purpose: "necessary"}, false, consent.Answer{Allowed: true, Reason: consent.ReasonNecessary}},
			{"vendor not declared", consent.Question{Device: "dev-1", Purpose: "analytics", Vendor: "ads-co"}, false, consent.Answer{Reason: consent.ReasonVendorNotDeclared}},
			{"gpc header beats grant", consent.Question{Device: "dev-1", Purpose: "sale"}, true, consent.Answer{Reason: consent.ReasonGPCOptOut}},
			{"gpc in question beats grant", consent.Question{Device: "dev-1", Purpose: "sale", GPC: true}, false, consent.Answer{Reason: consent.ReasonGPCOptOut}},
			{"us opt-out without record", consent.Question{Device: "nobody", Purpose: "marketing", Jurisdiction: "US-CA"}, false, consent.Answer{Allowed: true, Reason: consent.ReasonNoConsentRecorded}},
			{"property default jurisdiction DE is opt-in", consent.Question{Device: "nobody", Purpose: "marketing", Property: "shop"}, false, consent.Answer{Reason: consent.ReasonNoConsentRecorded}},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				a, err := svc.Decider().Decide(&c.q, c.gpc)
				if err != nil {
					t.Fatal(err)
				}
				a.Event = 0
				if a != c.want {
					t.Fatalf("got %+v, want %+v", a, c.want)
				}
			})
		}
		// A material new notice makes opt-in grants outdated.
		if _, err := svc.PutNotice(ctx, consent.Notice{Version: "v2", Texts: map[string]string{"en": "New terms"}, Material: true}, true, true); err != nil {
			t.Fatal(err)
		}
		if a := decide(t, svc, consent.Question{Device: "dev-1", Purpose: "marketing", Jurisdiction: "FR"}); a.Allowed || a.Reason != consent.ReasonNoticeOutdated {
			t.Fatalf("after material notice: %+v", a)
		}
		// Unknown purposes and vendors are errors naming the field.
		for _, q := range []consent.Question{{Device: "d", Purpose: "nope"}, {Device: "d", Purpose: "analytics", Vendor: "nope"}, {Purpose: "analytics"}} {
			if _, err := svc.Decider().Decide(&q, false); !errs.Is(err, errs.CodeInvalid) {
				t.Fatalf("Decide(%+v) error = %v, want invalid", q, err)
			}
		}
	})
}

func TestLinkDeviceMergesConsent(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		svc := openService(t, store, newSigner(t))
		seed(t, svc)
		appendOK(t, svc, event("a", "phone", "analytics", consent.ActionGrant))
		q := consent.Question{Subject: "cust-42", Purpose: "analytics"}
		if a := decide(t, svc, q); a.Allowed {
			t.Fatalf("before link: %+v", a)
		}
		if _, err := svc.LinkDevice(ctx, "cust-42", "phone"); err != nil {
			t.Fatal(err)
		}
		if a := decide(t, svc, q); !a.Allowed {
			t.Fatalf("after link: %+v", a)
		}
		// A later subject-level denial wins over the device grant, for the device too.
		d := consent.Event{ID: "b", Property: "shop", Subject: "cust-42", Purpose: "analytics", Action: consent.ActionDeny,
			Source: consent.SourcePortal, NoticeVersion: "v1", At: now}
		appendOK(t, svc, d)
		if a := decide(t, svc, consent.Question{Device: "phone", Purpose: "analytics"}); a.Allowed || a.Reason != consent.ReasonConsentDenied {
			t.Fatalf("device after subject deny: %+v", a)
		}
		// Relinking moves the device to another subject.
		if _, err := svc.LinkDevice(ctx, "cust-43", "phone"); err != nil {
			t.Fatal(err)
		}
		if a := decide(t, svc, consent.Question{Subject: "cust-43", Purpose: "analytics"}); !a.Allowed {
			t.Fatalf("new owner: %+v", a)
		}
	})
}

func TestValidateEventsNamesFields(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		svc := openService(t, store, newSigner(t))
		seed(t, svc)
		cases := []struct {
			name  string
			mod   func(*consent.Event)
			field string
		}{
			{"unknown purpose", func(e *consent.Event) { e.Purpose = "nope" }, "events[0].purpose"},
			{"unknown property", func(e *consent.Event) { e.Property = "nope" }, "events[0].property"},
			{"vendor not for purpose", func(e *consent.Event) { e.Vendor = "ads-co" }, "events[0].vendor"},
			{"bad action", func(e *consent.Event) { e.Action = "maybe" }, "events[0].action"},
			{"bad source", func(e *consent.Event) { e.Source = "mail" }, "events[0].source"},
			{"future", func(e *consent.Event) { e.At = now.Add(time.Hour) }, "events[0].at"},
			{"no identity", func(e *consent.Event) { e.Device = "" }, "events[0].subject"},
			{"unpublished notice", func(e *consent.Event) { e.NoticeVersion = "v9" }, "events[0].notice_version"},
			{"bad id", func(e *consent.Event) { e.ID = "" }, "events[0].id"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				e := event("x", "dev", "analytics", consent.ActionGrant)
				c.mod(&e)
				err := svc.ValidateEvents([]consent.Event{e}, authorOf(&e))
				ee, ok := errs.As(err)
				if !ok || ee.Fields[c.field] == "" {
					t.Fatalf("error %v does not name %s", err, c.field)
				}
			})
		}
		if err := svc.ValidateEvents([]consent.Event{event("x", "d", "analytics", consent.ActionGrant)}, consent.Author{Kind: consent.AuthorIngestKey, Property: "other"}); err == nil {
			t.Fatal("ingest key of another property accepted")
		}
	})
}

func TestConcurrentAppendsGroupCommitAndReplicaFollows(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		signer := newSigner(t)
		svc := openService(t, store, signer)
		seed(t, svc)
		var wg sync.WaitGroup
		errCh := make(chan error, 64)
		for w := range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 20 {
					e := event(idOf(w, i), idOf(w, 0), "analytics", consent.ActionGrant)
					if _, err := svc.Append(context.Background(), []consent.Event{e}); err != nil {
						errCh <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errCh)
		for err := range errCh {
			t.Fatal(err)
		}
		events, err := svc.Events(context.Background(), consent.EventFilter{Limit: 10000})
		if err != nil || len(events) != 320 {
			t.Fatalf("ledger holds %d events (%v), want 320", len(events), err)
		}
		for i := 1; i < len(events); i++ {
			if events[i].Seq <= events[i-1].Seq {
				t.Fatal("sequence numbers not increasing")
			}
		}
		// A second process on the same store (a replica) rebuilds the same answers.
		replica := openService(t, store, signer)
		if a := decide(t, replica, consent.Question{Device: idOf(3, 0), Purpose: "analytics"}); !a.Allowed {
			t.Fatalf("replica answer %+v", a)
		}
		if replica.Index().Len() != svc.Index().Len() {
			t.Fatalf("replica index has %d states, primary %d", replica.Index().Len(), svc.Index().Len())
		}
	})
}

func idOf(w, i int) string { return "w" + string(rune('a'+w)) + "-" + string(rune('a'+i)) }

func TestNoticeImmutableOncePublished(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		svc := openService(t, store, newSigner(t))
		seed(t, svc)
		_, err := svc.PutNotice(ctx, consent.Notice{Version: "v1", Texts: map[string]string{"en": "changed"}}, false, false)
		if !errs.Is(err, errs.CodeConflict) {
			t.Fatalf("changing a published notice: %v, want conflict", err)
		}
		if _, err := svc.PublishNotice(ctx, "v1"); !errs.Is(err, errs.CodeConflict) {
			t.Fatalf("publishing twice: %v, want conflict", err)
		}
		n, err := svc.Notice(ctx, "v1")
		if err != nil || n.Texts["en"] != "We use data to..." || n.Ordinal != 1 || n.ContentHash == "" {
			t.Fatalf("notice %+v, %v", n, err)
		}
		if _, err := svc.PutPurpose(ctx, consent.Purpose{Key: "analytics", Names: map[string]string{"en": "x"}, LegalBasis: consent.BasisConsent}, true); !errs.Is(err, errs.CodeConflict) {
			t.Fatalf("duplicate purpose: %v, want conflict", err)
		}
	})
}

// TestReplicaFollowsLedger: two services on one store, as two replicas on
// one PostgreSQL; what one acknowledges, the other answers after it polls.
func TestReplicaFollowsLedger(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		signer := newSigner(t)
		a := openService(t, store, signer)
		seed(t, a)
		b, err := consent.Open(ctx, consent.Config{DB: store, Signer: signer, Now: func() time.Time { return now }, FollowInterval: 20 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		ethicstest.OpenPurposes(t, b)
		// The replica reads the assessments from its source, which knows of
		// late-co before the catalog does: it opens once the catalog has it.
		if err := b.SetAssessmentSource(ctx, func(context.Context) (map[string]consent.VendorAssessment, error) {
			return map[string]consent.VendorAssessment{"late-co": {Until: now.AddDate(1, 0, 0), Purposes: []string{"analytics"}}}, nil
		}); err != nil {
			t.Fatal(err)
		}
		appendOK(t, a, event("r1", "dev-r", "analytics", consent.ActionGrant))
		if _, err := a.LinkDevice(ctx, "cust-r", "dev-r"); err != nil {
			t.Fatal(err)
		}
		// A catalog change on one replica reaches the other too.
		if _, err := a.PutVendor(ctx, consent.Vendor{Key: "late-co", Name: "Late Co", Purposes: []string{"analytics"}}, true); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(5 * time.Second)
		for {
			q := consent.Question{Subject: "cust-r", Purpose: "analytics", Vendor: "late-co"}
			ans, err := b.Decider().Decide(&q, false)
			if err == nil && ans.Allowed {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("replica did not follow within 5s: %+v %v", ans, err)
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

// TestPseudonymise: an erased subject's events stay, under a pseudonym, and
// decide nothing for them any more, here and on a replica that follows;
// their devices are unlinked.
func TestPseudonymise(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		signer := newSigner(t)
		a := openService(t, store, signer)
		seed(t, a)
		b, err := consent.Open(ctx, consent.Config{DB: store, Signer: signer, Now: func() time.Time { return now }, FollowInterval: 20 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		ethicstest.OpenPurposes(t, b)
		appendOK(t, a, consent.Event{ID: "s1", Property: "shop", Subject: "cust-e", Purpose: "analytics", Action: consent.ActionGrant,
			Source: consent.SourcePortal, NoticeVersion: "v1", At: now})
		appendOK(t, a, event("d1", "phone-e", "marketing", consent.ActionGrant))
		if _, err := a.LinkDevice(ctx, "cust-e", "phone-e"); err != nil {
			t.Fatal(err)
		}
		allowed := func(svc *consent.Service, purpose string) bool {
			ans, err := svc.Decider().Decide(&consent.Question{Subject: "cust-e", Purpose: purpose}, false)
			return err == nil && ans.Allowed
		}
		waitFor := func(ok func() bool) {
			t.Helper()
			deadline := time.Now().Add(5 * time.Second)
			for !ok() {
				if time.Now().After(deadline) {
					t.Fatal("replica did not follow")
				}
				time.Sleep(10 * time.Millisecond)
			}
		}
		waitFor(func() bool { return allowed(b, "analytics") && allowed(b, "marketing") })

		res, err := a.Pseudonymise(ctx, "cust-e")
		if err != nil || res.Events != 1 || res.Devices != 1 {
			t.Fatalf("Pseudonymise = %+v, %v", res, err)
		}
		if allowed(a, "analytics") || allowed(a, "marketing") {
			t.Fatal("the erased subject still has consent here")
		}
		waitFor(func() bool { return !allowed(b, "analytics") && !allowed(b, "marketing") })
		events, _ := a.Events(ctx, consent.EventFilter{})
		for _, e := range events {
			if e.Subject == "cust-e" {
				t.Fatalf("an event still names the subject: %+v", e)
			}
			if e.ID == "s1" && !strings.HasPrefix(e.Subject, "prs_") {
				t.Fatalf("the event lost its holder: %+v", e)
			}
		}
		// A fresh start rebuilds the same answer.
		c := openService(t, store, signer)
		if allowed(c, "analytics") || allowed(c, "marketing") {
			t.Fatal("the erased subject has consent after a restart")
		}
		if again, err := a.Pseudonymise(ctx, "cust-e"); err != nil || again.Events != 0 {
			t.Fatalf("second erasure = %+v, %v", again, err)
		}
	})
}

// TestPublishReviewedNotice: a draft publishes under the content hash its
// reviewer saw, and only under it: a hash of an earlier text (the draft
// changed after the review) or a made-up one publishes nothing; a
// published or unknown notice answers as PublishNotice does.
func TestPublishReviewedNotice(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		svc := openService(t, store, newSigner(t))
		seed(t, svc)
		reviewed, err := svc.PutNotice(ctx, consent.Notice{Version: "v2", Texts: map[string]string{"en": "First draft"}}, true, false)
		if err != nil {
			t.Fatal(err)
		}
		changed, err := svc.PutNotice(ctx, consent.Notice{Version: "v2", Texts: map[string]string{"en": "Changed after review"}}, false, false)
		if err != nil || changed.ContentHash == reviewed.ContentHash {
			t.Fatalf("change the draft: %+v %v", changed, err)
		}
		for name, hash := range map[string]string{"the reviewed text's": reviewed.ContentHash, "made up": "sha256:00", "empty": ""} {
			if _, err := svc.PublishReviewedNotice(ctx, "v2", hash); !errors.Is(err, consent.ErrNoticeChanged) {
				t.Errorf("%s hash: %v, want ErrNoticeChanged", name, err)
			}
		}
		if cur, _ := svc.CurrentNotice(); cur.Version != "v1" {
			t.Fatalf("published with a stale hash: %s in force", cur.Version)
		}
		n, err := svc.PublishReviewedNotice(ctx, "v2", changed.ContentHash)
		if err != nil || n.PublishedAt == nil || n.Ordinal != 2 || n.Texts["en"] != "Changed after review" {
			t.Fatalf("publish: %+v %v", n, err)
		}
		if _, err := svc.PublishReviewedNotice(ctx, "v2", changed.ContentHash); !errs.Is(err, errs.CodeConflict) || errors.Is(err, consent.ErrNoticeChanged) {
			t.Errorf("publishing twice: %v, want the published conflict", err)
		}
		if _, err := svc.PublishReviewedNotice(ctx, "v9", changed.ContentHash); !errs.Is(err, errs.CodeNotFound) {
			t.Errorf("unknown notice: %v, want not found", err)
		}
	})
}
