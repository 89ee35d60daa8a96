package jobs_test

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/jobs"
)

// TestJobsAndAppWritersShareTheStore runs jobs that write to the app's
// tables while the app writes too, through db.DB.Tx, inserting jobs in and
// outside its transactions. On SQLite that is River's one connection, the
// app's writers and the workers' writes all contending for one write lock:
// nothing may fail with SQLITE_BUSY or wait forever.
func TestJobsAndAppWritersShareTheStore(t *testing.T) {
	const (
		jobCount    = 200
		appWrites   = 200
		inTxEvery   = 2 // every other job is inserted in an app transaction
		testTimeout = 90 * time.Second
	)
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		createRequests(t, store)
		if _, err := store.ExecContext(ctx, `CREATE TABLE test_notes (n INTEGER PRIMARY KEY, body TEXT NOT NULL)`); err != nil {
			t.Fatal(err)
		}
		// Each job marks its request done, as a request's job will.
		w := newRecorder(func(ctx context.Context, job *jobs.Job[pingArgs]) error {
			return store.Tx(ctx, func(tx *sql.Tx) error {
				_, err := tx.ExecContext(ctx, `UPDATE test_requests SET status = 'done' WHERE id = $1`, job.Args.RequestID)
				return err
			})
		})
		r := openRunner(t, store, workersWith(t, w), func(c *jobs.Config) { c.Queues = map[string]int{jobs.QueueDefault: 8} })

		var wg sync.WaitGroup
		errCh := make(chan error, jobCount+appWrites)
		ids := make(chan int64, jobCount)
		// The app's other writers: a tight loop of short transactions, the
		// case in which SQLite's busy handler is least fair.
		wg.Go(func() {
			for i := range appWrites {
				err := store.Tx(ctx, func(tx *sql.Tx) error {
					_, err := tx.ExecContext(ctx, `INSERT INTO test_notes (n, body) VALUES ($1, $2)`, i, "note")
					return err
				})
				if err != nil {
					errCh <- fmt.Errorf("app write %d: %w", i, err)
				}
			}
		})
		// Two goroutines filing requests.
		for g := range 2 {
			wg.Go(func() {
				for i := g; i < jobCount; i += 2 {
					id := fmt.Sprintf("req-%03d", i)
					var ins jobs.Inserted
					err := store.Tx(ctx, func(tx *sql.Tx) error {
						if err := insertRequest(ctx, tx, id); err != nil {
							return err
						}
						if i%inTxEvery != 0 {
							return nil
						}
						var err error
						ins, err = r.InsertTx(ctx, tx, pingArgs{RequestID: id}, &jobs.InsertOpts{Unique: true})
						return err
					})
					if err == nil && i%inTxEvery != 0 {
						ins, err = r.Insert(ctx, pingArgs{RequestID: id}, &jobs.InsertOpts{Unique: true})
					}
					if err != nil {
						errCh <- fmt.Errorf("file request %s: %w", id, err)
						continue
					}
					ids <- ins.ID
				}
			})
		}
		wg.Wait()
		close(errCh)
		close(ids)
		for err := range errCh {
			t.Error(err)
		}
		if t.Failed() {
			return
		}
		waitFor(t, testTimeout, "every job completed", func() (bool, error) {
			page, err := r.List(ctx, jobs.Filter{States: []jobs.State{jobs.StateCompleted}, Limit: 500})
			return len(page.Jobs) == jobCount, err
		})
		for id := range ids {
			rec, err := r.Get(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			// An error here would be a busy database, retried by River.
			if rec.Errors != 0 || rec.Attempt != 1 {
				t.Errorf("job %d: %d errors (last %q), attempt %d", id, rec.Errors, rec.LastError, rec.Attempt)
			}
		}
		var done, notes int
		if err := store.QueryRowContext(ctx, `SELECT count(*) FROM test_requests WHERE status = 'done'`).Scan(&done); err != nil {
			t.Fatal(err)
		}
		if err := store.QueryRowContext(ctx, `SELECT count(*) FROM test_notes`).Scan(&notes); err != nil {
			t.Fatal(err)
		}
		if done != jobCount || notes != appWrites {
			t.Errorf("%d requests done, %d notes; want %d and %d", done, notes, jobCount, appWrites)
		}
	})
}
