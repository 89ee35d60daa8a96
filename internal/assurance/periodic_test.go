package assurance_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/outbox"
)

// announcer records the webhooks it is given.
type announcer struct {
	mu     sync.Mutex
	events []outbox.Event
}

func (a *announcer) Emit(_ context.Context, e outbox.Event) (outbox.Emitted, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.events = append(a.events, e)
	return outbox.Emitted{}, nil
}

// TestAnnounceExpired: the hourly job announces an approval that ended in
// the hour before its run, once: not before it ends, not again an hour on.
func TestAnnounceExpired(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		f := newFixture(t, store)
		approved := f.MustApprove(t, mailer.Key)
		events := &announcer{}
		jobs := f.s.PeriodicJobs(events)
		if len(jobs) != 1 || jobs[0].Name != "assurance.announce_expired" || jobs[0].Interval != time.Hour {
			t.Fatalf("periodic jobs: %+v", jobs)
		}
		run := func(at time.Time) int {
			t.Helper()
			f.clock.add(at.Sub(f.clock.now()))
			if err := jobs[0].Run(context.Background()); err != nil {
				t.Fatal(err)
			}
			return len(events.events)
		}
		end := *approved.ValidUntil
		for _, step := range []struct {
			at   time.Time
			want int
		}{
			{end.Add(-time.Minute), 0},     // still valid
			{end.Add(30 * time.Minute), 1}, // ended in the hour before
			{end.Add(90 * time.Minute), 1}, // announced already
		} {
			if got := run(step.at); got != step.want {
				t.Fatalf("at end%+v: %d announcements, want %d", step.at.Sub(end), got, step.want)
			}
		}
		e := events.events[0]
		if e.Type != outbox.VendorAssessmentExpired || e.Data["vendor"] != mailer.Key || e.Data["assessment_id"] != approved.ID {
			t.Fatalf("announcement: %+v", e)
		}
		if f.s.PeriodicJobs(nil) != nil {
			t.Fatal("without an announcer, the job must not be declared")
		}
	})
}
