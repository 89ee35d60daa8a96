package jobs_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/jobs"
)

// runs counts the runs of periodic jobs by name.
type runs struct {
	mu sync.Mutex
	n  map[string]int
}

func (r *runs) fn(name string, err error) func(context.Context) error {
	return func(context.Context) error {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.n[name]++
		return err
	}
}

func (r *runs) of(name string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n[name]
}

// TestPeriodic: each declared job runs at start and then again on its
// interval, and a job that always fails is retried and logged while the
// others keep their schedule.
func TestPeriodic(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		r := &runs{n: map[string]int{}}
		var logged syncBuffer
		openRunner(t, store, nil, func(c *jobs.Config) {
			c.Logger = newTextLogger(&logged)
			c.Periodic = []jobs.Periodic{
				{Name: "test.fast", Interval: 300 * time.Millisecond, Run: r.fn("test.fast", nil)},
				{Name: "test.slow", Interval: time.Hour, Run: r.fn("test.slow", nil)},
				{Name: "test.broken", Interval: 300 * time.Millisecond, Run: r.fn("test.broken", errors.New("disk on fire"))},
			}
		})
		waitFor(t, 20*time.Second, "three runs of test.fast and retries of test.broken", func() (bool, error) {
			return r.of("test.fast") >= 3 && r.of("test.broken") >= 2, nil
		})
		// The hourly job ran at start, once.
		if n := r.of("test.slow"); n != 1 {
			t.Errorf("test.slow ran %d times, want 1 (at start)", n)
		}
		if out := logged.String(); !strings.Contains(out, "periodic job failed") || !strings.Contains(out, "test.broken") ||
			!strings.Contains(out, "disk on fire") {
			t.Errorf("the failure was not logged with its name and error:\n%s", out)
		}
	})
}

func TestPeriodicRefusesBadDeclarations(t *testing.T) {
	noop := func(context.Context) error { return nil }
	for _, tc := range []struct {
		name string
		list []jobs.Periodic
		want string
	}{
		{"no dot", []jobs.Periodic{{Name: "purge", Interval: time.Hour, Run: noop}}, "name"},
		{"zero interval", []jobs.Periodic{{Name: "x.purge", Run: noop}}, "interval"},
		{"no run", []jobs.Periodic{{Name: "x.purge", Interval: time.Hour}}, "no Run"},
		{"twice", []jobs.Periodic{{Name: "x.purge", Interval: time.Hour, Run: noop}, {Name: "x.purge", Interval: time.Minute, Run: noop}}, "twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := dbtest.Open(t, db.SQLite)
			_, err := jobs.Open(context.Background(), jobs.Config{DB: store, Periodic: tc.list, Logger: testLogger()})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Open: %v, want an error about %q", err, tc.want)
			}
		})
	}
}

func TestDeferred(t *testing.T) {
	var d jobs.Deferred
	if _, err := d.Insert(context.Background(), pingArgs{RequestID: "r1"}, nil); !errors.Is(err, jobs.ErrNotOpen) {
		t.Fatalf("insert before Set: %v, want ErrNotOpen", err)
	}
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		var d jobs.Deferred
		rec := newRecorder(nil)
		d.Set(openRunner(t, store, workersWith(t, rec)))
		if _, err := d.Insert(context.Background(), pingArgs{RequestID: "r1"}, nil); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 15*time.Second, "the job inserted through Deferred", func() (bool, error) { return len(rec.attemptsOf("r1")) == 1, nil })
	})
}

// syncBuffer is a log destination safe for River's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newTextLogger(w *syncBuffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelWarn}))
}
