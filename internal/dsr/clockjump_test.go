package dsr_test

import (
	"testing"
	"time"

	stwclock "github.com/steward-dev/steward/internal/clock"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/dsr"
)

// TestClockJumpKeepsDeadlines rehearses the wall clock jumping back and
// forward by an hour (issue 19) under the steady clock Steward runs on
// (package clock). A request filed just after midnight keeps its deadline
// when the clock then goes back an hour over midnight; one filed after the
// jump is not older than it and is due the same day; a question's pause
// across a jump back counts the time that really passed.
func TestClockJumpKeepsDeadlines(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		f := newFixture(t, store)
		wall := time.Date(2026, 3, 3, 0, 30, 0, 0, time.UTC) // Tuesday, 00:30
		var mono time.Duration
		steady := stwclock.NewSteadyWith(func() time.Time { return wall }, func() time.Duration { return mono })
		box, err := f.vault.SecretBox("dsr")
		if err != nil {
			t.Fatal(err)
		}
		if f.s, err = dsr.NewService(dsr.Config{DB: store, Secrets: box, Audit: f.log, Now: steady.Now}); err != nil {
			t.Fatal(err)
		}
		first := f.MustFile(t, dsr.KindErasure, dsr.GDPR, adaEmail, "")

		wall = wall.Add(-time.Hour) // back to Monday, 23:30
		mono += time.Minute
		wall = wall.Add(time.Minute)
		second := f.MustFile(t, dsr.KindErasure, dsr.GDPR, adaEmail, "")
		if second.ReceivedAt.Before(first.ReceivedAt) || !second.DueAt.Equal(first.DueAt) {
			t.Fatalf("filed after the jump back: received %v, due %v; the one before: received %v, due %v",
				second.ReceivedAt, second.DueAt, first.ReceivedAt, first.DueAt)
		}
		if again, err := f.s.Get(as(officer), first.ID); err != nil || !again.DueAt.Equal(first.DueAt) {
			t.Fatalf("deadline after the jump back: %v (was %v), %v", again.DueAt, first.DueAt, err)
		}

		// Asked on Tuesday; the clock jumps back an hour; answered two days
		// later: the deadline moves by the two days that passed.
		if _, err := f.s.AskCustomer(as(officer), first.ID, "Which account?"); err != nil {
			t.Fatal(err)
		}
		wall = wall.Add(-time.Hour)
		mono += 48 * time.Hour
		wall = wall.Add(48 * time.Hour)
		answered, err := f.s.Answer(as(customer), f.ada, first.ID, "The one at Nightingale Lane.")
		if err != nil {
			t.Fatal(err)
		}
		if want := first.DueAt.AddDate(0, 0, 2); !answered.DueAt.Equal(want) {
			t.Fatalf("deadline after a two-day pause across a jump back: %v, want %v", answered.DueAt, want)
		}

		// A jump forward is taken as it is: the deadline does not move.
		wall = wall.Add(time.Hour)
		if again, err := f.s.Get(as(officer), second.ID); err != nil || !again.DueAt.Equal(first.DueAt) {
			t.Fatalf("deadline after a jump forward: %v, %v", again.DueAt, err)
		}
	})
}
