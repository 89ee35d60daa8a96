package consent_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/ethics/ethicstest"
	"github.com/steward-dev/steward/internal/receipt"
)

// openLiftService opens a Service whose lift notices are queued into
// *queued (the notice job's part is dsrmail's).
func openLiftService(t *testing.T, store *db.DB, signer *receipt.Signer, queued *[]consent.PendingLift) *consent.Service {
	t.Helper()
	svc, err := consent.Open(context.Background(), consent.Config{DB: store, Signer: signer, Now: func() time.Time { return now },
		FollowInterval: -1, OnLiftRequested: func(_ context.Context, _ *sql.Tx, l consent.PendingLift) error {
			*queued = append(*queued, l)
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	ethicstest.OpenPurposes(t, svc)
	return svc
}

// TestStaffLiftWaitsForTheNotice replays GDPR Art. 18(3): staff lifted a
// customer's restriction at once, without telling them. A lift staff ask
// for is now pending, with its notice queued in the same transaction;
// decisions answer "restricted" until the notice went out and the lift is
// applied. The customer's own lift is immediate and closes the pending
// one; a cancelled lift, or one whose notice failed, leaves the
// restriction in force; an erasure forgets pending lifts.
func TestStaffLiftWaitsForTheNotice(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := audit.WithActor(context.Background(), audit.Staff("stf_officer"))
		var queued []consent.PendingLift
		svc := openLiftService(t, store, newSigner(t), &queued)
		seed(t, svc)
		appendOK(t, svc, consent.Event{ID: "g1", Property: "shop", Subject: "cust-l", Purpose: "analytics", Action: consent.ActionGrant,
			Source: consent.SourceAPI, NoticeVersion: "v1"})
		q := consent.Question{Subject: "cust-l", Purpose: "analytics"}
		restrictedNow := func() bool { return answer(svc, q).Reason == consent.ReasonRestricted }

		if _, err := svc.RequestLift(ctx, "cust-l", ""); errs.CodeOf(err) != errs.CodeNotFound {
			t.Fatalf("lifting nothing: %v", err)
		}
		if _, err := svc.Restrict(ctx, "cust-l", "", "req_1"); err != nil {
			t.Fatal(err)
		}
		lift, err := svc.RequestLift(ctx, "cust-l", "")
		if err != nil {
			t.Fatal(err)
		}
		if len(queued) != 1 || queued[0].ID != lift.ID || lift.RequestedBy != "staff:stf_officer" || lift.NoticeProblem != "" {
			t.Fatalf("queued %+v for %+v", queued, lift)
		}
		if !restrictedNow() {
			t.Fatalf("a pending lift changed the decision: %+v", answer(svc, q))
		}
		if list, _ := svc.Restrictions(ctx, "cust-l"); len(list) != 1 {
			t.Fatalf("restrictions while the lift is pending: %+v", list)
		}
		// Asking again while it is pending queues nothing more.
		if again, err := svc.RequestLift(ctx, "cust-l", ""); err != nil || again.ID != lift.ID || len(queued) != 1 {
			t.Fatalf("again: %+v %v, %d queued", again, err, len(queued))
		}
		if pending, err := svc.PendingLifts(ctx, "cust-l"); err != nil || len(pending) != 1 || pending[0].ID != lift.ID {
			t.Fatalf("pending: %+v %v", pending, err)
		}
		// The notice went out: the job applies the lift.
		if err := svc.CompleteLift(ctx, lift.ID); err != nil {
			t.Fatal(err)
		}
		if a := answer(svc, q); !a.Allowed {
			t.Fatalf("after the notice: %+v", a)
		}
		if pending, _ := svc.PendingLifts(ctx, "cust-l"); len(pending) != 0 {
			t.Fatalf("still pending: %+v", pending)
		}
		if err := svc.CompleteLift(ctx, lift.ID); errs.CodeOf(err) != errs.CodeNotFound {
			t.Fatalf("applied twice: %v", err)
		}

		// A notice that could not be sent leaves the restriction; asking
		// again tries again, with a new job.
		if _, err := svc.Restrict(ctx, "cust-l", "analytics", ""); err != nil {
			t.Fatal(err)
		}
		lift, err = svc.RequestLift(ctx, "cust-l", "analytics")
		if err != nil {
			t.Fatal(err)
		}
		if err := svc.LiftNoticeFailed(ctx, lift.ID, consent.NoticeNoAddress); err != nil {
			t.Fatal(err)
		}
		if got, _ := svc.PendingLift(ctx, lift.ID); got.NoticeProblem != consent.NoticeNoAddress || !restrictedNow() {
			t.Fatalf("failed notice: %+v, %+v", got, answer(svc, q))
		}
		if err := svc.LiftNoticeFailed(ctx, lift.ID, "whatever"); errs.CodeOf(err) != errs.CodeInvalid {
			t.Fatalf("an unknown problem: %v", err)
		}
		n := len(queued)
		if again, err := svc.RequestLift(ctx, "cust-l", "analytics"); err != nil || again.ID != lift.ID || again.NoticeProblem != "" || len(queued) != n+1 {
			t.Fatalf("asking again after a failed notice: %+v %v, %d queued", again, err, len(queued))
		}
		// Staff withdraw it: the restriction stays.
		if err := svc.CancelLift(ctx, lift.ID); err != nil {
			t.Fatal(err)
		}
		if err := svc.CompleteLift(ctx, lift.ID); errs.CodeOf(err) != errs.CodeNotFound || !restrictedNow() {
			t.Fatalf("a cancelled lift applied: %v, %+v", err, answer(svc, q))
		}

		// The customer lifts it themselves: at once, no notice, and a
		// pending lift it makes moot is closed.
		if _, err := svc.RequestLift(ctx, "cust-l", "analytics"); err != nil {
			t.Fatal(err)
		}
		n = len(queued)
		customer := audit.WithActor(context.Background(), audit.Actor{Kind: audit.KindSubject, ID: "cust-l"})
		if err := svc.Lift(customer, "cust-l", "analytics"); err != nil {
			t.Fatal(err)
		}
		if a := answer(svc, q); !a.Allowed || len(queued) != n {
			t.Fatalf("the customer's lift: %+v, %d queued", a, len(queued)-n)
		}
		if pending, _ := svc.PendingLifts(ctx, "cust-l"); len(pending) != 0 {
			t.Fatalf("pending after the customer's lift: %+v", pending)
		}

		// An erasure forgets pending lifts with the restrictions.
		if _, err := svc.Restrict(ctx, "cust-l", "", ""); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.RequestLift(ctx, "cust-l", ""); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.ForgetRestrictions(ctx, "cust-l"); err != nil {
			t.Fatal(err)
		}
		if pending, _ := svc.PendingLifts(ctx, "cust-l"); len(pending) != 0 {
			t.Fatalf("pending after an erasure: %+v", pending)
		}
	})
}

// TestStaffLiftNeedsANotice: without a way to tell the customer (email is
// off), staff cannot lift a restriction at all.
func TestStaffLiftNeedsANotice(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		svc := openService(t, store, newSigner(t))
		seed(t, svc)
		if _, err := svc.Restrict(ctx, "cust-n", "", ""); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.RequestLift(ctx, "cust-n", ""); errs.CodeOf(err) != errs.CodeUnavailable {
			t.Fatalf("RequestLift without notices: %v", err)
		}
		if list, _ := svc.Restrictions(ctx, "cust-n"); len(list) != 1 {
			t.Fatalf("restrictions: %+v", list)
		}
	})
}
