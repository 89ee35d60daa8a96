package jobs_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/jobs"
)

func TestJobRuns(t *testing.T) {
	cases := []struct {
		name     string
		pollOnly bool
	}{
		{"notified", false},
		{"poll only", true},
	}
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				ctx := context.Background()
				w := newRecorder(nil)
				r := openRunner(t, store, workersWith(t, w), func(cfg *jobs.Config) { cfg.PollOnly = c.pollOnly })
				requestID := "req-" + strings.ReplaceAll(c.name, " ", "-")
				ins, err := r.Insert(ctx, pingArgs{RequestID: requestID}, nil)
				if err != nil {
					t.Fatal(err)
				}
				rec := waitState(t, r, ins.ID, jobs.StateCompleted)
				if rec.Kind != "test.ping" || rec.Queue != jobs.QueueDefault || rec.Attempt != 1 || rec.Errors != 0 {
					t.Errorf("record = %+v; want kind test.ping, default queue, attempt 1, no errors", rec)
				}
				if rec.MaxAttempts != testRetry.MaxAttempts {
					t.Errorf("MaxAttempts = %d, want the policy's %d", rec.MaxAttempts, testRetry.MaxAttempts)
				}
				if rec.AttemptedAt.IsZero() || rec.FinalizedAt.IsZero() || rec.FinalizedAt.Before(rec.AttemptedAt) {
					t.Errorf("times: attempted %v, finalized %v", rec.AttemptedAt, rec.FinalizedAt)
				}
				var args pingArgs
				if err := json.Unmarshal(rec.Args, &args); err != nil || args != (pingArgs{RequestID: requestID}) {
					t.Errorf("args = %s, %v", rec.Args, err)
				}
				if n := len(w.attemptsOf(requestID)); n != 1 {
					t.Errorf("worked %d times, want 1", n)
				}
			})
		}
	})
}

func TestFailingJobIsRetriedWithBackoff(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		w := newRecorder(func(ctx context.Context, job *jobs.Job[pingArgs]) error {
			if job.Attempt < 3 {
				return fmt.Errorf("connector unavailable (attempt %d)", job.Attempt)
			}
			return nil
		})
		r := openRunner(t, store, workersWith(t, w))
		ins, err := r.Insert(ctx, pingArgs{RequestID: "req-retry"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		rec := waitState(t, r, ins.ID, jobs.StateCompleted)
		if rec.Attempt != 3 || rec.Errors != 2 || rec.LastError != "connector unavailable (attempt 2)" {
			t.Errorf("record = %+v; want attempt 3 after 2 errors", rec)
		}
		attempts := w.attemptsOf("req-retry")
		if len(attempts) != 3 {
			t.Fatalf("worked %d times, want 3", len(attempts))
		}
		// The policy waits Base, then 2·Base.
		for i, want := range []time.Duration{testRetry.Base, 2 * testRetry.Base} {
			if gap := attempts[i+1].Sub(attempts[i]); gap < want {
				t.Errorf("retry %d came %v after the failure, want at least %v", i+1, gap, want)
			}
		}
	})
}

func TestFailingJobIsDiscardedAfterMaxAttempts(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		w := newRecorder(func(context.Context, *jobs.Job[pingArgs]) error { return errors.New("always down") })
		r := openRunner(t, store, workersWith(t, w))
		ins, err := r.Insert(ctx, pingArgs{RequestID: "req-doomed"}, &jobs.InsertOpts{MaxAttempts: 2})
		if err != nil {
			t.Fatal(err)
		}
		rec := waitState(t, r, ins.ID, jobs.StateDiscarded)
		if rec.Attempt != 2 || rec.MaxAttempts != 2 || rec.Errors != 2 || rec.LastError != "always down" {
			t.Errorf("record = %+v; want discarded after 2 attempts", rec)
		}
	})
}

func TestPermanentCancelsAndSnoozeWaits(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		var w *recorder
		w = newRecorder(func(_ context.Context, job *jobs.Job[pingArgs]) error {
			switch job.Args.Label {
			case "withdrawn":
				return jobs.Permanent(errors.New("request withdrawn"))
			case "wait":
				if len(w.attemptsOf(job.Args.RequestID)) == 1 {
					return jobs.Snooze(200 * time.Millisecond)
				}
			}
			return nil
		})
		r := openRunner(t, store, workersWith(t, w))
		withdrawn, err := r.Insert(ctx, pingArgs{RequestID: "req-w", Label: "withdrawn"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		rec := waitState(t, r, withdrawn.ID, jobs.StateCancelled)
		if rec.Attempt != 1 || rec.LastError != "request withdrawn" {
			t.Errorf("permanent failure: %+v", rec)
		}
		snoozed, err := r.Insert(ctx, pingArgs{RequestID: "req-s", Label: "wait"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		rec = waitState(t, r, snoozed.ID, jobs.StateCompleted)
		attempts := w.attemptsOf("req-s")
		if len(attempts) != 2 || attempts[1].Sub(attempts[0]) < 200*time.Millisecond {
			t.Fatalf("snoozed job ran at %v; want twice, 200ms apart", attempts)
		}
		if rec.Errors != 0 || rec.Attempt != 1 {
			t.Errorf("a snooze is neither an error nor an attempt: %+v", rec)
		}
	})
}

func TestInsertTx(t *testing.T) {
	cases := []struct {
		name   string
		commit bool
	}{
		{"commit runs", true},
		{"rollback never runs", false},
	}
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		createRequests(t, store)
		// The worker marks the request done: it must see the row that was
		// committed with its job.
		w := newRecorder(func(ctx context.Context, job *jobs.Job[pingArgs]) error {
			return store.Tx(ctx, func(tx *sql.Tx) error {
				res, err := tx.ExecContext(ctx, `UPDATE test_requests SET status = 'done' WHERE id = $1`, job.Args.RequestID)
				if err != nil {
					return err
				}
				if n, _ := res.RowsAffected(); n != 1 {
					return fmt.Errorf("request %s not found", job.Args.RequestID)
				}
				return nil
			})
		})
		r := openRunner(t, store, workersWith(t, w))
		rolledBack := errors.New("validation failed")
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				requestID := "req-" + strings.ReplaceAll(c.name, " ", "-")
				var ins jobs.Inserted
				err := store.Tx(ctx, func(tx *sql.Tx) error {
					if err := insertRequest(ctx, tx, requestID); err != nil {
						return err
					}
					var err error
					if ins, err = r.InsertTx(ctx, tx, pingArgs{RequestID: requestID}, nil); err != nil {
						return err
					}
					if !c.commit {
						return rolledBack
					}
					return nil
				})
				if c.commit {
					if err != nil {
						t.Fatal(err)
					}
					rec := waitState(t, r, ins.ID, jobs.StateCompleted)
					if rec.Errors != 0 {
						t.Errorf("job failed first: %s", rec.LastError)
					}
					if status, err := requestStatus(ctx, store, requestID); err != nil || status != "done" {
						t.Errorf("request status = %q, %v; want done", status, err)
					}
					return
				}
				if !errors.Is(err, rolledBack) {
					t.Fatalf("Tx = %v, want the rollback", err)
				}
				if _, err := r.Get(ctx, ins.ID); !errs.Is(err, errs.CodeNotFound) {
					t.Errorf("Get(rolled back job) = %v, want not found", err)
				}
				// A job committed after the rolled-back one, and done: the
				// runner has fetched past where the rolled-back job would
				// be (fetches go in order of insertion), so had it been
				// queued it would have run by now. No fixed wait.
				sentinel := requestID + "-after"
				var after jobs.Inserted
				if err := store.Tx(ctx, func(tx *sql.Tx) error {
					if err := insertRequest(ctx, tx, sentinel); err != nil {
						return err
					}
					var err error
					after, err = r.InsertTx(ctx, tx, pingArgs{RequestID: sentinel}, nil)
					return err
				}); err != nil {
					t.Fatal(err)
				}
				waitState(t, r, after.ID, jobs.StateCompleted) // on SQLite it may reuse ins.ID
				if n := len(w.attemptsOf(requestID)); n != 0 {
					t.Errorf("rolled back job ran %d times", n)
				}
			})
		}
	})
}

func TestJobSurvivesRestart(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		started := make(chan struct{}, 1)
		var blocked atomic.Bool
		// The first run of "slow" blocks until its context is cancelled, as
		// a long export would when the process is asked to stop. (Its
		// attempt number cannot tell the first run: an interrupted run is
		// not counted.)
		w := newRecorder(func(ctx context.Context, job *jobs.Job[pingArgs]) error {
			if job.Args.Label == "slow" && blocked.CompareAndSwap(false, true) {
				started <- struct{}{}
				<-ctx.Done()
				return ctx.Err()
			}
			return nil
		})
		first := openRunner(t, store, workersWith(t, w))
		slow, err := first.Insert(ctx, pingArgs{RequestID: "req-slow", Label: "slow"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		later, err := first.Insert(ctx, pingArgs{RequestID: "req-later"}, &jobs.InsertOpts{ScheduledAt: time.Now().Add(time.Second)})
		if err != nil {
			t.Fatal(err)
		}
		select {
		case <-started:
		case <-time.After(10 * time.Second):
			t.Fatal("slow job did not start")
		}
		stopCtx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		defer cancel()
		if err := first.Stop(stopCtx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Stop with a running job = %v, want the deadline", err)
		}
		if at := w.attemptsOf("req-later"); len(at) != 0 {
			t.Fatalf("scheduled job ran before its time, at %v", at)
		}
		second := openRunner(t, store, workersWith(t, w))
		rec := waitState(t, second, slow.ID, jobs.StateCompleted)
		// Stopped, not failed: no error and the attempt given back.
		if rec.Errors != 0 || rec.Attempt != 1 {
			t.Errorf("interrupted job: %+v; want completed on its first counted attempt, no errors", rec)
		}
		waitState(t, second, later.ID, jobs.StateCompleted)
		if n := len(w.attemptsOf("req-slow")); n != 2 {
			t.Errorf("slow job worked %d times, want 2", n)
		}
		if at := w.attemptsOf("req-later"); len(at) != 1 {
			t.Errorf("scheduled job worked %d times, want 1", len(at))
		}
	})
}

func TestUniqueJobs(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		w := newRecorder(nil)
		r := openRunner(t, store, workersWith(t, w))
		future := &jobs.InsertOpts{Unique: true, ScheduledAt: time.Now().Add(time.Hour)}
		first, err := r.Insert(ctx, pingArgs{RequestID: "req-u"}, future)
		if err != nil || first.Duplicate {
			t.Fatalf("first insert = %+v, %v", first, err)
		}
		steps := []struct {
			name      string
			args      pingArgs
			opts      *jobs.InsertOpts
			duplicate bool
		}{
			{"same key", pingArgs{RequestID: "req-u"}, future, true},
			{"same key, other label", pingArgs{RequestID: "req-u", Label: "again"}, future, true},
			{"same key, now", pingArgs{RequestID: "req-u"}, &jobs.InsertOpts{Unique: true}, true},
			{"other key", pingArgs{RequestID: "req-v"}, future, false},
			{"not unique", pingArgs{RequestID: "req-u"}, &jobs.InsertOpts{ScheduledAt: future.ScheduledAt}, false},
		}
		for _, s := range steps {
			t.Run(s.name, func(t *testing.T) {
				ins, err := r.Insert(ctx, s.args, s.opts)
				if err != nil {
					t.Fatal(err)
				}
				if ins.Duplicate != s.duplicate || (s.duplicate && ins.ID != first.ID) {
					t.Errorf("insert = %+v; want duplicate %v of job %d", ins, s.duplicate, first.ID)
				}
			})
		}
		// In a transaction too, and a finished job does not block its key.
		var done jobs.Inserted
		err = store.Tx(ctx, func(tx *sql.Tx) error {
			done, err = r.InsertTx(ctx, tx, pingArgs{RequestID: "req-w"}, &jobs.InsertOpts{Unique: true})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		waitState(t, r, done.ID, jobs.StateCompleted)
		err = store.Tx(ctx, func(tx *sql.Tx) error {
			again, err := r.InsertTx(ctx, tx, pingArgs{RequestID: "req-w"}, &jobs.InsertOpts{Unique: true})
			if err == nil && again.Duplicate {
				err = fmt.Errorf("insert after completion was a duplicate of %d", again.ID)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

func TestListCancelRetry(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		var (
			mu      sync.Mutex
			healthy bool
		)
		running := make(chan struct{}, 1)
		w := newRecorder(func(ctx context.Context, job *jobs.Job[pingArgs]) error {
			switch job.Args.Label {
			case "flaky":
				mu.Lock()
				defer mu.Unlock()
				if !healthy {
					return errors.New("connector down")
				}
			case "blocking":
				running <- struct{}{}
				<-ctx.Done()
				return ctx.Err()
			}
			return nil
		})
		r := openRunner(t, store, workersWith(t, w))
		later := &jobs.InsertOpts{ScheduledAt: time.Now().Add(time.Hour)}
		var ids []int64
		for i := range 5 {
			ins, err := r.Insert(ctx, pingArgs{RequestID: fmt.Sprintf("req-%d", i)}, later)
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, ins.ID)
		}

		t.Run("list pages newest first", func(t *testing.T) {
			var seen []int64
			f := jobs.Filter{Kinds: []string{"test.ping"}, States: []jobs.State{jobs.StateScheduled}, Limit: 2}
			for range 4 {
				page, err := r.List(ctx, f)
				if err != nil {
					t.Fatal(err)
				}
				for _, rec := range page.Jobs {
					if rec.State != jobs.StateScheduled || rec.ScheduledAt.Before(time.Now().Add(50*time.Minute)) {
						t.Errorf("listed %+v", rec)
					}
					seen = append(seen, rec.ID)
				}
				if page.Next == "" {
					break
				}
				f.After = page.Next
			}
			want := fmt.Sprint([]int64{ids[4], ids[3], ids[2], ids[1], ids[0]})
			if fmt.Sprint(seen) != want {
				t.Errorf("pages listed %v, want %s", seen, want)
			}
		})

		t.Run("list filters", func(t *testing.T) {
			cases := []struct {
				name string
				f    jobs.Filter
				want int
				code errs.Code
			}{
				{"everything", jobs.Filter{}, 5, ""},
				{"other kind", jobs.Filter{Kinds: []string{"test.other"}}, 0, ""},
				{"completed", jobs.Filter{States: []jobs.State{jobs.StateCompleted}}, 0, ""},
				{"other queue", jobs.Filter{Queues: []string{"mail"}}, 0, ""},
				{"unknown state", jobs.Filter{States: []jobs.State{"lost"}}, 0, errs.CodeInvalid},
				{"bad cursor", jobs.Filter{After: "%%%"}, 0, errs.CodeInvalid},
				{"limit too big", jobs.Filter{Limit: 501}, 0, errs.CodeInvalid},
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					page, err := r.List(ctx, c.f)
					if c.code != "" {
						if !errs.Is(err, c.code) {
							t.Fatalf("List = %v, want code %s", err, c.code)
						}
						return
					}
					if err != nil || len(page.Jobs) != c.want {
						t.Fatalf("List = %d jobs, %v; want %d", len(page.Jobs), err, c.want)
					}
				})
			}
		})

		t.Run("cancel a waiting job, then retry it", func(t *testing.T) {
			rec, err := r.Cancel(ctx, ids[0])
			if err != nil || rec.State != jobs.StateCancelled || rec.FinalizedAt.IsZero() {
				t.Fatalf("Cancel = %+v, %v; want cancelled", rec, err)
			}
			if rec, err = r.Cancel(ctx, ids[0]); err != nil || rec.State != jobs.StateCancelled {
				t.Fatalf("Cancel again = %+v, %v; want no change", rec, err)
			}
			if rec, err = r.Retry(ctx, ids[0]); err != nil || rec.State != jobs.StateAvailable {
				t.Fatalf("Retry = %+v, %v; want available", rec, err)
			}
			waitState(t, r, ids[0], jobs.StateCompleted)
			if _, err := r.Cancel(ctx, ids[0]); !errs.Is(err, errs.CodeConflict) {
				t.Errorf("Cancel(completed) = %v, want conflict", err)
			}
		})

		t.Run("retry a discarded job", func(t *testing.T) {
			ins, err := r.Insert(ctx, pingArgs{RequestID: "req-flaky", Label: "flaky"}, &jobs.InsertOpts{MaxAttempts: 1})
			if err != nil {
				t.Fatal(err)
			}
			rec := waitState(t, r, ins.ID, jobs.StateDiscarded)
			if rec.LastError != "connector down" {
				t.Errorf("LastError = %q", rec.LastError)
			}
			mu.Lock()
			healthy = true
			mu.Unlock()
			if _, err := r.Retry(ctx, ins.ID); err != nil {
				t.Fatal(err)
			}
			rec = waitState(t, r, ins.ID, jobs.StateCompleted)
			if rec.Attempt != 2 || rec.MaxAttempts != 2 || rec.Errors != 1 {
				t.Errorf("retried job: %+v; want a second attempt granted", rec)
			}
		})

		t.Run("cancel a running job", func(t *testing.T) {
			ins, err := r.Insert(ctx, pingArgs{RequestID: "req-block", Label: "blocking"}, nil)
			if err != nil {
				t.Fatal(err)
			}
			select {
			case <-running:
			case <-time.After(10 * time.Second):
				t.Fatal("blocking job did not start")
			}
			if _, err := r.Retry(ctx, ins.ID); !errs.Is(err, errs.CodeConflict) {
				t.Errorf("Retry(running) = %v, want conflict", err)
			}
			if _, err := r.Cancel(ctx, ins.ID); err != nil {
				t.Fatal(err)
			}
			waitState(t, r, ins.ID, jobs.StateCancelled)
		})

		t.Run("unknown job", func(t *testing.T) {
			for name, call := range map[string]func(context.Context, int64) (jobs.Record, error){
				"Get": r.Get, "Cancel": r.Cancel, "Retry": r.Retry,
			} {
				if _, err := call(ctx, 999999); !errs.Is(err, errs.CodeNotFound) {
					t.Errorf("%s(999999) = %v, want not found", name, err)
				}
			}
		})
	})
}

func TestInsertRefusesLargeArgs(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		r := openRunner(t, store, workersWith(t, newRecorder(nil)))
		_, err := r.Insert(context.Background(), pingArgs{RequestID: "req", Label: strings.Repeat("x", 4096)}, nil)
		if !errs.Is(err, errs.CodeInvalid) {
			t.Fatalf("Insert(4 KiB args) = %v, want invalid", err)
		}
	})
}

func TestRunnerWithoutWorkers(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		// A command that enqueues work for the server.
		r := openRunner(t, store, nil)
		ins, err := r.Insert(ctx, pingArgs{RequestID: "req"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		// It started no River client, so nothing can fetch the job: no
		// waiting is needed to see that it stays.
		if r.Working() {
			t.Fatal("a runner without workers works jobs")
		}
		if rec, err := r.Get(ctx, ins.ID); err != nil || rec.State != jobs.StateAvailable {
			t.Fatalf("job of a runner without workers: %+v, %v; want available", rec, err)
		}
		if err := r.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		server := openRunner(t, store, workersWith(t, newRecorder(nil)))
		if !server.Working() {
			t.Fatal("a runner with workers does not work jobs")
		}
		waitState(t, server, ins.ID, jobs.StateCompleted)
		// With workers, a kind without one is refused.
		if _, err := server.Insert(ctx, otherArgs{}, nil); err == nil {
			t.Fatal("Insert of a kind without a worker succeeded")
		}
	})
}

type otherArgs struct{}

func (otherArgs) Kind() string { return "test.other" }

func TestMigrateIsIdempotent(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		// On PostgreSQL, replicas may start together.
		callers := 1
		if store.Dialect == db.Postgres {
			callers = 4
		}
		for range 2 {
			var wg sync.WaitGroup
			errCh := make(chan error, callers)
			for range callers {
				wg.Go(func() { errCh <- jobs.Migrate(ctx, store, nil) })
			}
			wg.Wait()
			close(errCh)
			for err := range errCh {
				if err != nil {
					t.Fatal(err)
				}
			}
		}
		var n int
		if err := store.QueryRowContext(ctx, `SELECT count(*) FROM river_job`).Scan(&n); err != nil || n != 0 {
			t.Fatalf("river_job: %d rows, %v", n, err)
		}
		if store.Dialect == db.Postgres {
			// In the schema of the connection's search_path, as Steward's
			// own tables: dbtest's per-test schema, or the operator's choice.
			err := store.QueryRowContext(ctx, `SELECT count(*) FROM information_schema.tables
				WHERE table_schema = current_schema() AND table_name IN ('river_job', 'river_leader', 'river_queue')`).Scan(&n)
			if err != nil || n != 3 {
				t.Fatalf("River tables in current_schema(): %d, %v; want 3", n, err)
			}
		}
	})
}

// TestInsertIsNotifiedAcrossRunners checks that a job inserted by one
// Runner (another replica, or a command) is picked up at once by another
// through notifications — PostgreSQL LISTEN on the schema's channels,
// River's notification table on SQLite — not at its next poll.
func TestInsertIsNotifiedAcrossRunners(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		createRequests(t, store)
		w := newRecorder(nil)
		server := openRunner(t, store, workersWith(t, w), func(c *jobs.Config) { c.PollInterval = time.Minute })
		// Let the server's first fetch (at start) pass: a job it runs at
		// once says it has, and that it now waits on notifications (its
		// next poll is a minute away). No fixed wait.
		var first jobs.Inserted
		if err := store.Tx(ctx, func(tx *sql.Tx) error {
			if err := insertRequest(ctx, tx, "req-first"); err != nil {
				return err
			}
			var err error
			first, err = server.InsertTx(ctx, tx, pingArgs{RequestID: "req-first"}, nil)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		waitState(t, server, first.ID, jobs.StateCompleted)
		command := openRunner(t, store, nil)
		var ins jobs.Inserted
		err := store.Tx(ctx, func(tx *sql.Tx) error {
			if err := insertRequest(ctx, tx, "req-n"); err != nil {
				return err
			}
			var err error
			ins, err = command.InsertTx(ctx, tx, pingArgs{RequestID: "req-n"}, nil)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, 5*time.Second, "the server to run the job", func() (bool, error) {
			rec, err := server.Get(ctx, ins.ID)
			return rec.State == jobs.StateCompleted, err
		})
	})
}

func TestRegisterRefusesDuplicates(t *testing.T) {
	workers := jobs.NewWorkers()
	if err := jobs.Register(workers, jobs.WorkFunc(func(context.Context, *jobs.Job[pingArgs]) error { return nil })); err != nil {
		t.Fatal(err)
	}
	if err := jobs.Register(workers, jobs.Worker[pingArgs](newRecorder(nil))); err == nil {
		t.Fatal("second worker for test.ping registered")
	}
}
