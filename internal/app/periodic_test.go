package app_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/app/apptest"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/jobs"
	"github.com/steward-dev/steward/internal/scanner"
)

// TestPeriodicJobsRunAtStart: every package's periodic work is registered
// with the one scheduler, runs once at start and completes on a fresh
// installation.
func TestPeriodicJobsRunAtStart(t *testing.T) {
	want := []string{"assurance.announce_expired", "customer.purge", "disclosure.expire_due", "dsr.deadline_reminders",
		"dsr.expire_agent_requests", "export.purge_expired", "httpsystem.purge_data", "incident.deadline_reminders", "incident.review_action_reminders", "outbox.purge",
		"outbox.sweep_orphans", "retention.run", "review.reminders", "training.reminders", "transparency.refresh"}
	// The weekly tracker scan exists only where Chromium does.
	if _, err := scanner.FindChrome(""); err == nil {
		want = append(want, "scanner.weekly")
		slices.Sort(want)
	}
	srv := apptest.Start(t, db.SQLite)
	var done []string
	// A long deadline costs a passing run nothing; a loaded 2-core machine
	// has needed more than 20 s for every job to complete.
	deadline := time.Now().Add(90 * time.Second)
	for {
		page, err := srv.App.Jobs.List(context.Background(), jobs.Filter{Kinds: []string{"steward.periodic"}, Limit: 500})
		if err != nil {
			t.Fatal(err)
		}
		done = done[:0]
		for _, job := range page.Jobs {
			var args struct {
				Name string `json:"name"`
			}
			if err := json.Unmarshal(job.Args, &args); err != nil {
				t.Fatal(err)
			}
			if job.State == jobs.StateCompleted {
				done = append(done, args.Name)
			}
		}
		slices.Sort(done)
		if slices.Equal(done, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("periodic jobs completed at start: %v, want %v", done, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
