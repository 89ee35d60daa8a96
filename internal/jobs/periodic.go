package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"sync/atomic"
	"time"

	"github.com/riverqueue/river"
)

// Periodic is a piece of periodic work (a purge, a reminder, an expiry)
// that a package declares and River runs every Interval: on one replica at
// a time (River's leader inserts the jobs), as a job of kind
// "steward.periodic" with the Name as its only argument, so that staff see
// each run under Jobs. A package exposes its own:
//
//	func (s *Store) PeriodicJobs() []jobs.Periodic {
//		return []jobs.Periodic{{Name: "export.purge_expired", Interval: time.Hour, Run: s.purge}}
//	}
//
// and app hands them all to Config.Periodic; no function knows every
// package's housekeeping.
type Periodic struct {
	// Name says what the work is, "<package>.<what>" ("export.purge_expired");
	// unique within a Runner.
	Name string
	// Interval is the time between runs; the first run is at start.
	Interval time.Duration
	// Run does the work once. An error is logged and the run retried (at
	// most PeriodicAttempts times, with the Runner's back-off); the other
	// periodic jobs are not held up.
	Run func(ctx context.Context) error
}

// PeriodicAttempts bounds the attempts of one run of a periodic job: a run
// that still fails is given up, and the next interval brings a fresh one.
const PeriodicAttempts = 3

// periodicArgs is the job of one run of a Periodic.
type periodicArgs struct {
	Name string `json:"name" river:"unique"`
}

// Kind names the job.
func (periodicArgs) Kind() string { return "steward.periodic" }

var periodicName = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$`)

// addPeriodic registers the worker of the periodic jobs in workers and
// returns River's schedule of them.
func addPeriodic(workers *Workers, list []Periodic, log *slog.Logger) ([]*river.PeriodicJob, error) {
	if len(list) == 0 {
		return nil, nil
	}
	byName := make(map[string]Periodic, len(list))
	for _, p := range list {
		switch {
		case !periodicName.MatchString(p.Name):
			return nil, fmt.Errorf("jobs: periodic job %q: name must be like package.what", p.Name)
		case p.Interval <= 0:
			return nil, fmt.Errorf("jobs: periodic job %s: interval must be positive, got %v", p.Name, p.Interval)
		case p.Run == nil:
			return nil, fmt.Errorf("jobs: periodic job %s: no Run", p.Name)
		}
		if _, dup := byName[p.Name]; dup {
			return nil, fmt.Errorf("jobs: periodic job %s is declared twice", p.Name)
		}
		byName[p.Name] = p
	}
	err := Register(workers, WorkFunc(func(ctx context.Context, job *Job[periodicArgs]) error {
		p, ok := byName[job.Args.Name]
		if !ok {
			// A run queued by a release that had this job, or by a replica
			// that has it and this one not: nothing to do here.
			return Permanent(fmt.Errorf("no periodic job %q in this release", job.Args.Name))
		}
		if err := p.Run(ctx); err != nil {
			log.Warn("periodic job failed", "name", p.Name, "attempt", job.Attempt, "err", err)
			return err
		}
		return nil
	}))
	if err != nil {
		return nil, err
	}
	out := make([]*river.PeriodicJob, 0, len(list))
	for _, p := range list {
		args := periodicArgs{Name: p.Name}
		out = append(out, river.NewPeriodicJob(river.PeriodicInterval(p.Interval),
			func() (river.JobArgs, *river.InsertOpts) {
				// Unique while a run is under way: a slow or retrying run is
				// not joined by the next.
				return args, &river.InsertOpts{MaxAttempts: PeriodicAttempts,
					UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: uniqueStates()}}
			},
			&river.PeriodicJobOpts{ID: p.Name, RunOnStart: true}))
	}
	return out, nil
}

// Deferred is a Runner to come. The services whose workers a Runner runs
// are built before it, and some of them insert jobs (a request's mail, a
// lift's notice): they get a Deferred, which app sets once the Runner is
// open. An insert before that fails with ErrNotOpen.
type Deferred struct {
	r atomic.Pointer[Runner]
}

// ErrNotOpen is the error of an insert through a Deferred whose Runner is
// not set yet.
var ErrNotOpen = errors.New("jobs: the job runner is not open yet")

// Set gives d its Runner.
func (d *Deferred) Set(r *Runner) { d.r.Store(r) }

// Runner returns the Runner set, or nil.
func (d *Deferred) Runner() *Runner { return d.r.Load() }

// Insert is Runner.Insert.
func (d *Deferred) Insert(ctx context.Context, args Args, opts *InsertOpts) (Inserted, error) {
	r := d.r.Load()
	if r == nil {
		return Inserted{}, ErrNotOpen
	}
	return r.Insert(ctx, args, opts)
}

// InsertTx is Runner.InsertTx.
func (d *Deferred) InsertTx(ctx context.Context, tx *sql.Tx, args Args, opts *InsertOpts) (Inserted, error) {
	r := d.r.Load()
	if r == nil {
		return Inserted{}, ErrNotOpen
	}
	return r.InsertTx(ctx, tx, args, opts)
}
