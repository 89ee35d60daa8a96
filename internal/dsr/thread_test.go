package dsr_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/dsr"
	"github.com/steward-dev/steward/internal/errs"
)

// TestAskAnswerPausesTheClock replays issue 12: staff ask, the customer
// answers in the portal, staff read the answer; under the GDPR the
// deadline's clock stops while the answer is awaited and starts again on
// the day it arrives; under the CCPA it runs on. Before, the answer was
// not recorded at all and the clock never stopped.
func TestAskAnswerPausesTheClock(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		f := newFixture(t, store)
		staffCtx := as(officer)
		gdpr := f.MustFile(t, dsr.KindErasure, dsr.GDPR, adaEmail, "")
		ccpa := f.MustFile(t, dsr.KindErasure, dsr.CCPA, adaEmail, "")
		due, ccpaDue := gdpr.DueAt, ccpa.DueAt
		for _, id := range []string{gdpr.ID, ccpa.ID} {
			if _, err := f.s.AskCustomer(staffCtx, id, "Which account number do you mean?"); err != nil {
				t.Fatal(err)
			}
		}
		asked, _ := f.s.Get(staffCtx, gdpr.ID)
		if asked.PausedAt == nil || !asked.PausedAt.Equal(start) {
			t.Fatalf("GDPR request asked: paused at %v, want %v", asked.PausedAt, start)
		}
		if c, _ := f.s.Get(staffCtx, ccpa.ID); c.PausedAt != nil {
			t.Fatalf("CCPA request asked: paused at %v; the CCPA's clock runs on", c.PausedAt)
		}
		// 40 days later the GDPR request would be overdue, but its clock
		// stopped: it is not. The CCPA one is at risk as always.
		f.clock.add(40 * 24 * time.Hour)
		now := f.clock.now()
		waiting, _ := f.s.Get(staffCtx, gdpr.ID)
		if waiting.Overdue(now) {
			t.Fatalf("a request whose clock stopped counts as overdue at %v (due %v)", now, waiting.Deadline())
		}
		page, err := f.s.Search(staffCtx, dsr.Filter{Overdue: true})
		if err != nil || len(page.Requests) != 0 {
			t.Fatalf("overdue while waiting = %+v, %v", page, err)
		}

		// Another person cannot answer; an empty answer is refused.
		if _, err := f.s.Answer(context.Background(), f.MustHash(t, bobEmail), gdpr.ID, "me"); !errs.Is(err, errs.CodeNotFound) {
			t.Fatalf("answer by another person: %v", err)
		}
		if _, err := f.s.Answer(as(customer), f.ada, gdpr.ID, "  "); !hasField(err, "answer") {
			t.Fatalf("empty answer: %v", err)
		}
		answered, err := f.s.Answer(as(customer), f.ada, gdpr.ID, "Account 4711, the one at Nightingale Lane.")
		if err != nil {
			t.Fatal(err)
		}
		wantDue := utcDay(2026, 4, 2+40) // 2 April plus the 40 days it waited
		if answered.State != dsr.StateReceived || answered.PausedAt != nil || !answered.DueAt.Equal(wantDue) || answered.Question != "" {
			t.Fatalf("answered: state %s, paused %v, due %v (was %v, want %v)", answered.State, answered.PausedAt, answered.DueAt, due, wantDue)
		}
		if _, err := f.s.CustomerReplied(staffCtx, ccpa.ID); err != nil {
			t.Fatal(err)
		}
		if c, _ := f.s.Get(staffCtx, ccpa.ID); !c.DueAt.Equal(ccpaDue) {
			t.Fatalf("CCPA deadline moved from %v to %v", ccpaDue, c.DueAt)
		}
		history := f.MustHistory(t, gdpr.ID)
		last := history[len(history)-1]
		if last.Action != "customer_replied" || !last.Answered || last.Deadline == nil || !last.Deadline.Equal(wantDue) ||
			strings.Contains(last.Note, "4711") {
			t.Fatalf("history of the answer: %+v", last)
		}
		// Staff read it; the reading is audited; the audit log holds no answer.
		answers, err := f.s.Answers(staffCtx, gdpr.ID)
		if err != nil || len(answers) != 1 || answers[0].Text != "Account 4711, the one at Nightingale Lane." {
			t.Fatalf("Answers = %+v, %v", answers, err)
		}
		entries := f.MustAudit(t, gdpr.ID)
		var revealed bool
		for _, e := range entries {
			if strings.Contains(e.Details.String(), "4711") {
				t.Fatalf("audit entry %s holds the answer: %s", e.Action, e.Details.String())
			}
			revealed = revealed || (e.Action == "dsr.reveal" && e.Details.Map()["field"] == "answer")
		}
		if !revealed {
			t.Fatal("reading the answer was not audited")
		}
		// Closing the request forgets the answer.
		if _, err := f.s.Reject(staffCtx, gdpr.ID, "duplicate"); err != nil {
			t.Fatal(err)
		}
		var sealed int
		if err := store.QueryRow(`SELECT count(*) FROM dsr_events WHERE answer_sealed IS NOT NULL`).Scan(&sealed); err != nil || sealed != 0 {
			t.Fatalf("sealed answers after close: %d, %v", sealed, err)
		}
		if a, err := f.s.Answers(staffCtx, gdpr.ID); err != nil || len(a) != 0 {
			t.Fatalf("answers after close = %v, %v", a, err)
		}
	})
}

// TestPausedExtension: days the clock stood still count after an
// extension too.
func TestPausedExtension(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		f := newFixture(t, store)
		ctx := as(officer)
		r := f.MustFile(t, dsr.KindAccess, dsr.GDPR, adaEmail, "")
		if _, err := f.s.AskCustomer(ctx, r.ID, "Which address?"); err != nil {
			t.Fatal(err)
		}
		f.clock.add(3 * 24 * time.Hour)
		if _, err := f.s.CustomerReplied(ctx, r.ID); err != nil {
			t.Fatal(err)
		}
		got, err := f.s.Extend(ctx, r.ID, "many systems")
		if err != nil {
			t.Fatal(err)
		}
		if want := utcDay(2026, 6, 2+3); !got.ExtendedUntil.Equal(want) || !got.DueAt.Equal(utcDay(2026, 4, 5)) {
			t.Fatalf("extended until %v (due %v), want %v", got.ExtendedUntil, got.DueAt, want)
		}

		// A clock stopped before the deadline has not reached it, however
		// long the customer takes: the request can still be extended.
		waiting := f.MustFile(t, dsr.KindAccess, dsr.GDPR, adaEmail, "")
		if _, err := f.s.AskCustomer(ctx, waiting.ID, "Which address?"); err != nil {
			t.Fatal(err)
		}
		f.clock.add(100 * 24 * time.Hour)
		if _, err := f.s.Extend(ctx, waiting.ID, "many systems"); err != nil {
			t.Fatalf("extend while the clock stands: %v", err)
		}
	})
}

// TestActions: what staff are offered is what the state allows, in the
// order of the work.
func TestActions(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		f := newFixture(t, store)
		ctx := as(officer)
		r := f.MustFile(t, dsr.KindErasure, dsr.GDPR, adaEmail, "")
		steps := []struct {
			name string
			do   func() error
			want []string
		}{
			{"received", func() error { return nil }, []string{"verify", "acknowledge", "ask", "extend", "reject", "attach"}},
			{"acknowledged", func() error { _, err := f.s.Acknowledge(ctx, r.ID); return err }, []string{"verify", "ask", "extend", "reject", "attach"}},
			{"verified", func() error { _, err := f.s.Verify(ctx, r.ID); return err }, []string{"start", "ask", "extend", "reject", "attach"}},
			{"waiting", func() error { _, err := f.s.AskCustomer(ctx, r.ID, "?"); return err }, []string{"replied", "extend", "reject", "attach"}},
			{"resumed", func() error { _, err := f.s.CustomerReplied(ctx, r.ID); return err }, []string{"start", "ask", "extend", "reject", "attach"}},
			{"extended", func() error { _, err := f.s.Extend(ctx, r.ID, "busy"); return err }, []string{"start", "ask", "reject", "attach"}},
			{"in progress", func() error { _, err := f.s.Start(ctx, r.ID); return err }, []string{"complete", "ask", "reject", "attach"}},
			{"completed", func() error { _, err := f.s.Complete(ctx, r.ID, ""); return err }, []string{}},
		}
		for _, step := range steps {
			if err := step.do(); err != nil {
				t.Fatalf("%s: %v", step.name, err)
			}
			got, _ := f.s.Get(ctx, r.ID)
			if actions := f.s.Actions(got, f.clock.now()); !slices.Equal(actions, step.want) {
				t.Errorf("%s (%s): actions %v, want %v", step.name, got.State, actions, step.want)
			}
		}
	})
}

// TestSearch: the queue's filters, a search by id that finds a completed
// request, and cursor pages.
func TestSearch(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		f := newFixture(t, store)
		ctx := as(officer)
		var ids []string
		for i := range 5 {
			kind := dsr.KindAccess
			if i%2 == 1 {
				kind = dsr.KindErasure
			}
			regime := dsr.GDPR
			if i == 4 {
				regime = dsr.CCPA
			}
			ids = append(ids, f.MustFile(t, kind, regime, adaEmail, "").ID)
			f.clock.add(24 * time.Hour)
		}
		for _, step := range []func() error{
			func() error { _, err := f.s.Verify(ctx, ids[0]); return err },
			func() error { _, err := f.s.Start(ctx, ids[0]); return err },
			func() error { _, err := f.s.Complete(ctx, ids[0], ""); return err },
		} {
			if err := step(); err != nil {
				t.Fatal(err)
			}
		}
		search := func(flt dsr.Filter) []string {
			t.Helper()
			page, err := f.s.Search(ctx, flt)
			if err != nil {
				t.Fatalf("Search(%+v): %v", flt, err)
			}
			var out []string
			for _, q := range page.Requests {
				out = append(out, q.Request.ID)
			}
			return out
		}
		cases := []struct {
			name string
			flt  dsr.Filter
			want []string
		}{
			{"open", dsr.Filter{}, ids[1:]},
			{"erasure", dsr.Filter{Kinds: []dsr.Kind{dsr.KindErasure}}, []string{ids[1], ids[3]}},
			{"ccpa", dsr.Filter{Regimes: []dsr.Regime{dsr.CCPA}}, []string{ids[4]}},
			{"closed", dsr.Filter{Closed: true}, []string{ids[0]}},
			{"completed", dsr.Filter{States: []dsr.State{dsr.StateCompleted}}, []string{ids[0]}},
			{"by id, completed", dsr.Filter{ID: " " + ids[0] + " "}, []string{ids[0]}},
			{"by id, other kind", dsr.Filter{ID: ids[0], Kinds: []dsr.Kind{dsr.KindErasure}}, nil},
			{"overdue, none", dsr.Filter{Overdue: true}, nil},
		}
		for _, c := range cases {
			if got := search(c.flt); !slices.Equal(got, c.want) {
				t.Errorf("%s: %v, want %v", c.name, got, c.want)
			}
		}
		f.clock.add(60 * 24 * time.Hour)
		if got := search(dsr.Filter{Overdue: true}); len(got) != 4 {
			t.Errorf("overdue after 60 days: %v", got)
		}
		// Pages of two follow on from each other.
		var all []string
		flt := dsr.Filter{Limit: 2}
		for {
			page, err := f.s.Search(ctx, flt)
			if err != nil {
				t.Fatal(err)
			}
			for _, q := range page.Requests {
				all = append(all, q.Request.ID)
			}
			if page.Next == "" {
				break
			}
			flt.After = page.Next
		}
		if !slices.Equal(all, ids[1:]) {
			t.Errorf("paged: %v, want %v", all, ids[1:])
		}
		for _, bad := range []dsr.Filter{{States: []dsr.State{"lost"}}, {Limit: 5000}, {After: "!!"}, {Regimes: []dsr.Regime{"lgpd"}}} {
			if _, err := f.s.Search(ctx, bad); !errs.Is(err, errs.CodeInvalid) {
				t.Errorf("Search(%+v) = %v, want invalid", bad, err)
			}
		}
	})
}

func hasField(err error, field string) bool {
	e, ok := errs.As(err)
	if !ok {
		return false
	}
	_, named := e.Fields[field]
	return e.Code == errs.CodeInvalid && named
}
