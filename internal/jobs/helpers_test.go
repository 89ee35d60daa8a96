package jobs_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/jobs"
)

// testRetry retries fast enough for tests and still shows the back-off.
var testRetry = jobs.RetryPolicy{Base: 100 * time.Millisecond, Max: time.Second, MaxAttempts: 5}

// testLogger discards River's logs unless STEWARD_TEST_JOBS_LOG is set.
func testLogger() *slog.Logger {
	if os.Getenv("STEWARD_TEST_JOBS_LOG") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// openRunner opens a Runner on store that polls often, stopped when the
// test ends.
func openRunner(tb testing.TB, store *db.DB, workers *jobs.Workers, edit ...func(*jobs.Config)) *jobs.Runner {
	tb.Helper()
	cfg := jobs.Config{DB: store, Workers: workers, Retry: testRetry, PollInterval: 50 * time.Millisecond, Logger: testLogger()}
	for _, e := range edit {
		e(&cfg)
	}
	r, err := jobs.Open(context.Background(), cfg)
	if err != nil {
		tb.Fatalf("open runner: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = r.Stop(ctx)
	})
	return r
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(tb testing.TB, timeout time.Duration, what string, cond func() (bool, error)) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, err := cond()
		if err != nil {
			tb.Fatalf("waiting for %s: %v", what, err)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitState waits until job id is in state and returns it.
func waitState(tb testing.TB, r *jobs.Runner, id int64, state jobs.State) jobs.Record {
	tb.Helper()
	var rec jobs.Record
	waitFor(tb, 15*time.Second, fmt.Sprintf("job %d %s", id, state), func() (bool, error) {
		var err error
		rec, err = r.Get(context.Background(), id)
		return rec.State == state, err
	})
	return rec
}

// pingArgs is the job of most tests: it carries a request id, as real jobs
// will, and a label that is not part of its unique key.
type pingArgs struct {
	RequestID string `json:"request_id" river:"unique"`
	Label     string `json:"label,omitempty"`
}

func (pingArgs) Kind() string { return "test.ping" }

// recorder is a worker of pingArgs that records its attempts and answers
// with what its behaviour says.
type recorder struct {
	jobs.WorkerDefaults[pingArgs]
	mu       sync.Mutex
	attempts map[string][]time.Time
	// behave decides the outcome of an attempt; nil means success.
	behave func(ctx context.Context, job *jobs.Job[pingArgs]) error
}

func newRecorder(behave func(ctx context.Context, job *jobs.Job[pingArgs]) error) *recorder {
	return &recorder{attempts: make(map[string][]time.Time), behave: behave}
}

func (w *recorder) Work(ctx context.Context, job *jobs.Job[pingArgs]) error {
	w.mu.Lock()
	w.attempts[job.Args.RequestID] = append(w.attempts[job.Args.RequestID], time.Now())
	w.mu.Unlock()
	if w.behave == nil {
		return nil
	}
	return w.behave(ctx, job)
}

func (w *recorder) attemptsOf(requestID string) []time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]time.Time(nil), w.attempts[requestID]...)
}

func workersWith(tb testing.TB, w jobs.Worker[pingArgs]) *jobs.Workers {
	tb.Helper()
	workers := jobs.NewWorkers()
	if err := jobs.Register(workers, w); err != nil {
		tb.Fatal(err)
	}
	return workers
}

// createRequests makes the app table that tests write next to their jobs.
func createRequests(tb testing.TB, store *db.DB) {
	tb.Helper()
	if _, err := store.ExecContext(context.Background(),
		`CREATE TABLE test_requests (id TEXT PRIMARY KEY, status TEXT NOT NULL)`); err != nil {
		tb.Fatal(err)
	}
}

func insertRequest(ctx context.Context, tx *sql.Tx, id string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO test_requests (id, status) VALUES ($1, 'filed')`, id)
	return err
}

func requestStatus(ctx context.Context, store *db.DB, id string) (string, error) {
	var status string
	err := store.QueryRowContext(ctx, `SELECT status FROM test_requests WHERE id = $1`, id).Scan(&status)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return status, err
}
