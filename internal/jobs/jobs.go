// Package jobs runs Steward's background work — data subject requests,
// notifications, anything that must be retried with back-off, survive a
// restart and be visible to staff — on River (riverqueue.com), in the same
// database as the rest of Steward: SQLite or PostgreSQL.
//
// A domain package declares the arguments of its job (ids only, see Args)
// and a worker; app registers the workers and opens one Runner per process:
//
//	type EraseArgs struct {
//		RequestID string `json:"request_id" river:"unique"`
//	}
//
//	func (EraseArgs) Kind() string { return "dsr.erase" }
//
//	workers := jobs.NewWorkers()
//	if err := jobs.Register(workers, jobs.WorkFunc(eraser.Work)); err != nil { ... }
//	runner, err := jobs.Open(ctx, jobs.Config{DB: store, Workers: workers, Logger: log})
//	if err != nil { ... }
//	defer runner.Stop(shutdownCtx)
//
//	// The request row and its job commit together, or neither does.
//	err = store.Tx(ctx, func(tx *sql.Tx) error {
//		if err := insertRequest(ctx, tx, req); err != nil {
//			return err
//		}
//		_, err := runner.InsertTx(ctx, tx, EraseArgs{RequestID: req.ID}, &jobs.InsertOpts{Unique: true})
//		return err
//	})
//
// A failed job is retried with exponential back-off (RetryPolicy); a job
// interrupted by Stop runs again at the next start, and a job made of
// Steps resumes after its last completed step. Staff see and steer jobs
// through List, Get, Cancel and Retry.
//
// River's tables (river_job, river_queue, river_leader, ...) are created by
// Open through River's own migrations, next to Steward's: in the SQLite
// file, or in the schema that the PostgreSQL connection's search_path
// selects. How River shares SQLite with the app is explained in sqlite.go.
package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/steward-dev/steward/internal/db"
)

// QueueDefault is the queue a job goes to unless its InsertOpts or its
// args name another.
const QueueDefault = river.QueueDefault

// Defaults of Config.
const (
	// DefaultWorkers is how many jobs of the default queue run at once when
	// Config.Queues is empty.
	DefaultWorkers = 4
	// DefaultStopGrace is how long Close lets running jobs finish.
	DefaultStopGrace = 30 * time.Second
	// cancelWait bounds how long Stop waits for jobs to return once their
	// context is cancelled; a worker that ignores its context must not hang
	// the shutdown of the whole process.
	cancelWait = 10 * time.Second
)

// Config holds what a Runner needs.
type Config struct {
	DB *db.DB
	// Workers are the job kinds this process works. With workers, Insert
	// refuses kinds that have none (a forgotten Register). Nil or empty
	// makes a Runner that works nothing and inserts any kind, for commands
	// that leave the work to the server.
	Workers *Workers
	// Queues maps a queue name to how many of its jobs run at once; empty
	// means QueueDefault with DefaultWorkers.
	Queues map[string]int
	// Retry is the back-off of failed jobs and the default number of
	// attempts; its zero value is DefaultRetryPolicy.
	Retry RetryPolicy
	// JobTimeout bounds one attempt of a job, after which its context is
	// cancelled; 0 means one minute, a negative value no limit. A worker may
	// set its own with a Timeout method.
	JobTimeout time.Duration
	// PollInterval is how often queues are polled for jobs that no
	// notification announced (scheduled jobs whose time came, jobs inserted
	// by another replica when LISTEN is off); 0 means one second.
	PollInterval time.Duration
	// PollOnly turns notifications off: jobs inserted elsewhere are found
	// at the next poll, and a running job learns of its cancellation
	// within two seconds. It is for a PostgreSQL behind a pooler in
	// transaction mode (PgBouncer), where LISTEN does not work; there is no
	// reason to set it on SQLite.
	PollOnly bool
	// Periodic are the periodic jobs the packages declare (see Periodic);
	// River's leader schedules them, so that each runs on one replica.
	Periodic []Periodic
	Logger   *slog.Logger
}

// Runner works jobs of one Steward process and gives the rest of Steward a
// way to insert and inspect them. It is safe for concurrent use.
type Runner struct {
	client *river.Client[*sql.Tx]
	log    *slog.Logger
	// working is true when the client was started (it has workers).
	working bool
	// release frees what Open opened besides the client: River's own
	// SQLite handle, the PostgreSQL listener pool.
	release []func()

	stopOnce sync.Once
	stopErr  error
}

// Working reports whether the runner works jobs (it was opened with
// workers, and River's client was started). A command's runner, opened
// without workers, only inserts: its jobs wait for a server.
func (r *Runner) Working() bool { return r.working }

// Open migrates River's tables, then starts working the registered job
// kinds. Stop (or Close) ends it; the store must stay open until then.
func Open(ctx context.Context, cfg Config) (*Runner, error) {
	if cfg.DB == nil {
		return nil, errors.New("jobs: Open needs a DB")
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := Migrate(ctx, cfg.DB, log); err != nil {
		return nil, err
	}
	r := &Runner{log: log}
	driver, err := r.openDriver(ctx, cfg)
	if err != nil {
		r.releaseAll()
		return nil, err
	}
	retry := cfg.Retry.withDefaults()
	pollInterval := cfg.PollInterval
	if pollInterval <= 0 {
		pollInterval = time.Second
	}
	riverCfg := &river.Config{
		Logger:            riverLogger(log),
		RetryPolicy:       retry,
		MaxAttempts:       retry.MaxAttempts,
		JobTimeout:        cfg.JobTimeout,
		FetchPollInterval: pollInterval,
		// River's default cooldown (100ms) would be longer than the poll
		// interval that tests ask for.
		FetchCooldown: min(100*time.Millisecond, pollInterval),
		PollOnly:      cfg.PollOnly,
		// A finished job stays visible to staff for a week (River's default
		// is a day for completed and cancelled jobs): long enough to answer
		// "what happened to my request" over a weekend.
		CompletedJobRetentionPeriod: 7 * 24 * time.Hour,
		CancelledJobRetentionPeriod: 7 * 24 * time.Hour,
		DiscardedJobRetentionPeriod: 30 * 24 * time.Hour,
	}
	if len(cfg.Periodic) > 0 {
		if cfg.Workers == nil {
			cfg.Workers = NewWorkers()
		}
		if riverCfg.PeriodicJobs, err = addPeriodic(cfg.Workers, cfg.Periodic, log); err != nil {
			r.releaseAll()
			return nil, err
		}
	}
	r.working = cfg.Workers != nil && cfg.Workers.len() > 0
	if r.working {
		riverCfg.Workers = cfg.Workers.river
		riverCfg.Queues = make(map[string]river.QueueConfig)
		for name, n := range cfg.Queues {
			if n < 1 {
				r.releaseAll()
				return nil, fmt.Errorf("jobs: queue %q: want at least one worker, got %d", name, n)
			}
			riverCfg.Queues[name] = river.QueueConfig{MaxWorkers: n}
		}
		if len(riverCfg.Queues) == 0 {
			riverCfg.Queues[QueueDefault] = river.QueueConfig{MaxWorkers: DefaultWorkers}
		}
	}
	r.client, err = river.NewClient(driver, riverCfg)
	if err != nil {
		r.releaseAll()
		return nil, fmt.Errorf("jobs: new river client: %w", err)
	}
	if r.working {
		// Not ctx: the client outlives the call to Open, and cancelling the
		// context of Start would stop it without the grace that Stop gives.
		if err := r.client.Start(context.WithoutCancel(ctx)); err != nil {
			r.releaseAll()
			return nil, db.Classify(fmt.Errorf("jobs: start: %w", err))
		}
	}
	return r, nil
}

// openDriver returns the River driver for the store's engine. Both are
// database/sql drivers, so that the client's transaction type is *sql.Tx on
// both engines and InsertTx joins a transaction of db.DB.Tx.
func (r *Runner) openDriver(ctx context.Context, cfg Config) (riverdriver.Driver[*sql.Tx], error) {
	switch cfg.DB.Dialect {
	case db.SQLite:
		handle, err := openSQLiteHandle(ctx, cfg.DB)
		if err != nil {
			return nil, err
		}
		r.release = append(r.release, func() { _ = handle.Close() })
		return riversqlite.New(handle), nil
	case db.Postgres:
		// riverdatabasesql over Steward's own pool rather than riverpgxv5
		// over a pgxpool: riverpgxv5's transactions are pgx.Tx, which a
		// *sql.Tx of db.DB.Tx cannot become, so transactional enqueue would
		// be lost. The pgx pool serves LISTEN only (River hijacks one
		// connection from it), so that replicas pick up each other's jobs
		// at once instead of at the next poll.
		if cfg.PollOnly {
			return riverdatabasesql.New(cfg.DB.RiverHandle()), nil
		}
		listeners, err := openListenerPool(ctx, cfg.DB)
		if err != nil {
			return nil, err
		}
		r.release = append(r.release, listeners.Close)
		return riverdatabasesql.NewWithPgxListener(cfg.DB.RiverHandle(), listeners), nil
	default:
		return nil, fmt.Errorf("jobs: unsupported dialect %q", cfg.DB.Dialect)
	}
}

// Migrate applies River's pending migrations to store. Open calls it; the
// `steward migrate` command may call it alone. Concurrent callers on
// PostgreSQL (replicas starting together) are serialised by an advisory
// lock on the schema. On SQLite, which one process uses, calls must not
// overlap: open Runners one after the other.
func Migrate(ctx context.Context, store *db.DB, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var driver riverdriver.Driver[*sql.Tx]
	switch store.Dialect {
	case db.SQLite:
		// River's migrations are sequential; Steward's own handle is
		// enough, no need for River's single-connection one.
		driver = riversqlite.New(store.RiverHandle())
	case db.Postgres:
		driver = riverdatabasesql.New(store.RiverHandle())
		conn, err := store.RiverHandle().Conn(ctx)
		if err != nil {
			return db.Classify(fmt.Errorf("migrate jobs: %w", err))
		}
		defer conn.Close()
		// River's migrator takes no lock of its own: two replicas would both
		// try to create river_job and one would fail.
		if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(hashtext('steward.jobs.migrate.' || current_schema()))`); err != nil {
			return db.Classify(fmt.Errorf("migrate jobs: take lock: %w", err))
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(hashtext('steward.jobs.migrate.' || current_schema()))`)
	default:
		return fmt.Errorf("migrate jobs: unsupported dialect %q", store.Dialect)
	}
	migrator, err := rivermigrate.New(driver, &rivermigrate.Config{Logger: log})
	if err != nil {
		return fmt.Errorf("migrate jobs: %w", err)
	}
	if _, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return db.Classify(fmt.Errorf("migrate jobs: %w", err))
	}
	return nil
}

// Stop stops fetching jobs and lets the running ones finish until ctx
// ends; then it cancels their contexts and waits a little longer for them
// to return. A job stopped that way is not counted as a failed attempt:
// River makes it available again, and the next Runner on the store (this
// process restarted, or another replica) runs it. Stop returns ctx's error
// when it had to cancel jobs; calling it again does nothing. The Runner
// must not be used after Stop: it has released its connections.
func (r *Runner) Stop(ctx context.Context) error {
	r.stopOnce.Do(func() {
		r.stopErr = r.stop(ctx)
		r.releaseAll()
	})
	return r.stopErr
}

// Close is Stop with DefaultStopGrace, for app's Close.
func (r *Runner) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), DefaultStopGrace)
	defer cancel()
	return r.Stop(ctx)
}

func (r *Runner) stop(ctx context.Context) error {
	if !r.working {
		return nil
	}
	err := r.client.Stop(ctx)
	if err == nil {
		return nil
	}
	if ctx.Err() == nil {
		return fmt.Errorf("jobs: stop: %w", err)
	}
	r.log.Warn("jobs: stop grace ended; cancelling running jobs")
	waitCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cancelWait)
	defer cancel()
	if err := r.client.StopAndCancel(waitCtx); err != nil {
		return fmt.Errorf("jobs: stop: jobs did not return after cancel: %w", err)
	}
	return fmt.Errorf("jobs: stop: running jobs cancelled: %w", ctx.Err())
}

func (r *Runner) releaseAll() {
	for i := len(r.release) - 1; i >= 0; i-- {
		r.release[i]()
	}
	r.release = nil
}
