package jobs

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/errs"
)

// maxArgsBytes bounds the encoded Args of a job. Ids fit many times over;
// a larger payload is a sign that data, perhaps personal, is being put
// where it must not be (see Args).
const maxArgsBytes = 2048

// InsertOpts are the options of one insert; nil means all defaults.
type InsertOpts struct {
	// Queue defaults to the args' own choice (JobArgsWithInsertOpts) or
	// QueueDefault.
	Queue string
	// ScheduledAt runs the job no earlier than this time; zero means now.
	ScheduledAt time.Time
	// MaxAttempts overrides the Runner's RetryPolicy.MaxAttempts.
	MaxAttempts int
	// Unique inserts the job only if no job of the same kind and key is
	// waiting, scheduled, running or retrying; the key is the args' fields
	// tagged `river:"unique"` (all of the args when none is tagged). A job
	// that has finished does not count: "one erase of request R at a time",
	// not "one ever".
	Unique bool
}

// Inserted tells what an insert did.
type Inserted struct {
	// ID is the job's id: the new job's, or for a unique job that was
	// skipped, the one already there.
	ID int64
	// Duplicate is true when a unique job was not inserted because another
	// with its key is active.
	Duplicate bool
}

// uniqueStates are the states in which a unique job blocks another with
// its key. River requires available, pending, running and scheduled;
// retryable belongs there too (the job is still under way), completed,
// cancelled and discarded do not.
func uniqueStates() []rivertype.JobState {
	return []rivertype.JobState{
		rivertype.JobStateAvailable,
		rivertype.JobStatePending,
		rivertype.JobStateRunning,
		rivertype.JobStateRetryable,
		rivertype.JobStateScheduled,
	}
}

// Insert inserts a job in a transaction of its own. A job that goes with a
// change of Steward's data must be inserted with InsertTx instead, in the
// change's transaction; on SQLite, Insert must not be called while the
// caller holds a transaction (see the note in sqlite.go).
func (r *Runner) Insert(ctx context.Context, args Args, opts *InsertOpts) (Inserted, error) {
	riverOpts, err := toRiverOpts(args, opts)
	if err != nil {
		return Inserted{}, err
	}
	res, err := r.client.Insert(ctx, args, riverOpts)
	if err != nil {
		return Inserted{}, db.Classify(fmt.Errorf("insert job %s: %w", args.Kind(), err))
	}
	return Inserted{ID: res.Job.ID, Duplicate: res.UniqueSkippedAsDuplicate}, nil
}

// InsertTx inserts a job in tx, a transaction of the store's (db.DB.Tx):
// the job exists if and only if tx commits, and is not worked before that.
func (r *Runner) InsertTx(ctx context.Context, tx *sql.Tx, args Args, opts *InsertOpts) (Inserted, error) {
	riverOpts, err := toRiverOpts(args, opts)
	if err != nil {
		return Inserted{}, err
	}
	res, err := r.client.InsertTx(ctx, tx, args, riverOpts)
	if err != nil {
		return Inserted{}, db.Classify(fmt.Errorf("insert job %s: %w", args.Kind(), err))
	}
	return Inserted{ID: res.Job.ID, Duplicate: res.UniqueSkippedAsDuplicate}, nil
}

func toRiverOpts(args Args, opts *InsertOpts) (*river.InsertOpts, error) {
	encoded, err := json.Marshal(args)
	if err != nil {
		return nil, fmt.Errorf("insert job %s: encode args: %w", args.Kind(), err)
	}
	if len(encoded) > maxArgsBytes {
		return nil, errs.Invalid("args", "job %s: args are %d bytes, more than %d: args carry ids only", args.Kind(), len(encoded), maxArgsBytes)
	}
	if opts == nil {
		return nil, nil
	}
	if opts.MaxAttempts < 0 {
		return nil, errs.Invalid("max_attempts", "must not be negative")
	}
	out := &river.InsertOpts{Queue: opts.Queue, ScheduledAt: opts.ScheduledAt, MaxAttempts: opts.MaxAttempts}
	if opts.Unique {
		out.UniqueOpts = river.UniqueOpts{ByArgs: true, ByState: uniqueStates()}
	}
	return out, nil
}
