package jobs_test

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/jobs"
)

// exportArgs is a job of two steps, as a request's export will be.
type exportArgs struct {
	RequestID string `json:"request_id"`
}

func (exportArgs) Kind() string { return "test.export" }

func TestStepsResume(t *testing.T) {
	cases := []struct {
		name string
		// interrupt stops the runner while the second step runs, instead
		// of failing it.
		interrupt bool
	}{
		{"after an error", false},
		{"after a restart", true},
	}
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		createRequests(t, store)
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				ctx := context.Background()
				var (
					mu    sync.Mutex
					steps []string
					once  sync.Once
				)
				inArchive := make(chan struct{})
				ran := func(step string) {
					mu.Lock()
					defer mu.Unlock()
					steps = append(steps, step)
				}
				work := func(ctx context.Context, job *jobs.Job[exportArgs]) error {
					jobs.Step(ctx, "gather", func(ctx context.Context) error {
						ran("gather")
						// The step's work and its completion commit together.
						return store.Tx(ctx, func(tx *sql.Tx) error {
							if err := insertRequest(ctx, tx, job.Args.RequestID); err != nil {
								return err
							}
							return jobs.StepDoneTx(ctx, tx, job)
						})
					})
					jobs.Step(ctx, "archive", func(ctx context.Context) error {
						ran("archive")
						var err error
						once.Do(func() {
							if !c.interrupt {
								err = errors.New("archive store unavailable")
								return
							}
							close(inArchive)
							<-ctx.Done()
							err = ctx.Err()
						})
						return err
					})
					return nil
				}
				workers := jobs.NewWorkers()
				if err := jobs.Register(workers, jobs.WorkFunc(work)); err != nil {
					t.Fatal(err)
				}
				r := openRunner(t, store, workers)
				ins, err := r.Insert(ctx, exportArgs{RequestID: "req-" + c.name}, nil)
				if err != nil {
					t.Fatal(err)
				}
				if c.interrupt {
					select {
					case <-inArchive:
					case <-time.After(10 * time.Second):
						t.Fatal("archive step did not start")
					}
					stopCtx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
					defer cancel()
					_ = r.Stop(stopCtx)
					r = openRunner(t, store, workers)
				}
				rec := waitState(t, r, ins.ID, jobs.StateCompleted)
				mu.Lock()
				defer mu.Unlock()
				if got := len(steps); got != 3 || steps[0] != "gather" || steps[1] != "archive" || steps[2] != "archive" {
					t.Errorf("steps ran %v, want gather once, then archive twice", steps)
				}
				wantErrors := 1
				if c.interrupt {
					wantErrors = 0
				}
				if rec.Errors != wantErrors {
					t.Errorf("errors = %d, want %d", rec.Errors, wantErrors)
				}
			})
		}
	})
}
