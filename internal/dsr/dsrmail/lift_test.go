package dsrmail_test

import (
	"context"
	"database/sql"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/dsr"
	"github.com/steward-dev/steward/internal/dsr/dsrmail"
	"github.com/steward-dev/steward/internal/ethics/ethicstest"
	"github.com/steward-dev/steward/internal/notify"
	"github.com/steward-dev/steward/internal/receipt"
)

// TestLiftIsToldFirst replays GDPR Art. 18(3) ("shall be informed by the
// controller before the restriction of processing is lifted"): staff's
// lift ended a restriction at once and the customer heard nothing. Now the
// lift waits: decisions answer "restricted" until the notice went out
// through the mail server, in the language of the request that asked for
// the restriction, at its address, naming no personal data; then the
// decision is allowed again. Without an address (none given, or erased)
// nothing is sent and the restriction stays, the reason recorded. The
// customer's own lift is immediate and sends nothing.
func TestLiftIsToldFirst(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		staff := audit.WithActor(context.Background(), audit.Staff("stf_officer"))
		now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
		key, err := receipt.LoadOrCreateKey(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		signer, err := receipt.NewSigner(key)
		if err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		var queued []dsrmail.LiftArgs
		cs, err := consent.Open(context.Background(), consent.Config{DB: store, Signer: signer, Now: func() time.Time { return now }, FollowInterval: -1,
			OnLiftRequested: func(ctx context.Context, tx *sql.Tx, l consent.PendingLift) error {
				return dsrmail.EnqueueLift(ctx, tx, l, func(_ context.Context, _ *sql.Tx, a dsrmail.LiftArgs) error {
					mu.Lock()
					defer mu.Unlock()
					queued = append(queued, a)
					return nil
				})
			}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cs.Close() })
		ethicstest.OpenPurposes(t, cs)
		if _, err := cs.PutProperty(staff, consent.Property{Key: "shop", Name: "Shop", Domains: []string{"shop.example"}, DefaultJurisdiction: "DE"}, true); err != nil {
			t.Fatal(err)
		}
		if _, err := cs.PutPurpose(staff, consent.Purpose{Key: "newsletter", Names: map[string]string{"en": "Newsletter", "de": "Rundbrief"},
			LegalBasis: consent.BasisConsent}, true); err != nil {
			t.Fatal(err)
		}
		if _, err := cs.PutNotice(staff, consent.Notice{Version: "v1", Texts: map[string]string{"en": "We use data to..."}, Material: true}, true, true); err != nil {
			t.Fatal(err)
		}
		for _, subject := range []string{"cust-de", "cust-none", "cust-self"} {
			events := []consent.Event{{ID: "g-" + subject, Property: "shop", Subject: subject, Purpose: "newsletter", Action: consent.ActionGrant,
				Source: consent.SourceAPI, NoticeVersion: "v1"}}
			if err := cs.ValidateEvents(events, consent.Author{Kind: consent.AuthorRecordKey}); err != nil {
				t.Fatal(err)
			}
			if _, err := cs.Append(context.Background(), events); err != nil {
				t.Fatal(err)
			}
		}
		f := newMailFixture(t, store, now, nil)
		v, requests, server, sender, tmpl := f.vault, f.requests, f.server, f.sender, f.tmpl
		notices := &dsrmail.LiftNotices{Consent: cs, Requests: requests, Sender: sender, Mail: tmpl, Brand: notify.Brand{CompanyName: "Shop"},
			PortalURL: "https://shop.example", SubjectContact: func(context.Context, string) (string, string, error) { return "", "", nil }}
		decide := func(subject string) consent.Answer {
			a, err := cs.Decider().Decide(&consent.Question{Subject: subject, Purpose: "newsletter"}, false)
			if err != nil {
				t.Fatal(err)
			}
			return a
		}
		takeQueued := func() []dsrmail.LiftArgs {
			mu.Lock()
			defer mu.Unlock()
			out := queued
			queued = nil
			return out
		}

		// The restriction a German customer asked for by request.
		const email = "kundin@shop.example"
		hash, err := v.BlindIndex(staff, "email", email)
		if err != nil {
			t.Fatal(err)
		}
		req, err := requests.File(staff, dsr.NewRequest{Kind: dsr.KindRestriction, Regime: dsr.GDPR, SubjectID: "cust-de", Email: email, EmailHash: hash, Language: "de"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cs.Restrict(staff, "cust-de", "newsletter", req.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := cs.RequestLift(staff, "cust-de", "newsletter"); err != nil {
			t.Fatal(err)
		}
		jobs := takeQueued()
		if len(jobs) != 1 {
			t.Fatalf("%d notices queued", len(jobs))
		}
		if a := decide("cust-de"); a.Allowed || a.Reason != consent.ReasonRestricted {
			t.Fatalf("before the notice: %+v", a)
		}
		before := len(server.Messages())
		if err := notices.Send(staff, jobs[0]); err != nil {
			t.Fatal(err)
		}
		sent := server.Messages()[before:]
		if len(sent) != 1 || len(sent[0].To) != 1 || sent[0].To[0] != email {
			t.Fatalf("sent %+v", sent)
		}
		m := sent[0]
		if !strings.Contains(m.Subject, "Wir heben die Einschränkung") || !strings.Contains(m.Text, "für Rundbrief") ||
			!strings.Contains(m.Text, "https://shop.example/privacy/home?lang=de") || strings.Contains(m.Text, "@") || strings.Contains(m.Text, "cust-de") {
			t.Fatalf("notice %q:\n%s", m.Subject, m.Text)
		}
		if a := decide("cust-de"); !a.Allowed {
			t.Fatalf("after the notice: %+v", a)
		}
		// The job again (River retries) sends nothing more.
		if err := notices.Send(staff, jobs[0]); err != nil || len(server.Messages()) != before+1 {
			t.Fatalf("the job again: %v, %d sent", err, len(server.Messages())-before)
		}

		// No address anywhere: nothing sent, the restriction stays.
		if _, err := cs.Restrict(staff, "cust-none", "", ""); err != nil {
			t.Fatal(err)
		}
		lift, err := cs.RequestLift(staff, "cust-none", "")
		if err != nil {
			t.Fatal(err)
		}
		before = len(server.Messages())
		for _, job := range takeQueued() {
			if err := notices.Send(staff, job); err != nil {
				t.Fatal(err)
			}
		}
		if got, _ := cs.PendingLift(staff, lift.ID); got.NoticeProblem != consent.NoticeNoAddress || len(server.Messages()) != before {
			t.Fatalf("without an address: %+v, %d sent", got, len(server.Messages())-before)
		}
		if a := decide("cust-none"); a.Reason != consent.ReasonRestricted {
			t.Fatalf("without an address the restriction ended: %+v", a)
		}

		// The customer's own lift: at once, no notice.
		if _, err := cs.Restrict(staff, "cust-self", "", ""); err != nil {
			t.Fatal(err)
		}
		self := audit.WithActor(context.Background(), audit.Actor{Kind: audit.KindSubject, ID: "cust-self"})
		if err := cs.Lift(self, "cust-self", ""); err != nil {
			t.Fatal(err)
		}
		if a := decide("cust-self"); !a.Allowed || len(takeQueued()) != 0 || len(server.Messages()) != before {
			t.Fatalf("the customer's lift: %+v", a)
		}
	})
}
