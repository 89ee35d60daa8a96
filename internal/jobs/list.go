package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/errs"
)

// State is where a job is in its life.
type State string

// The states of a job.
const (
	// StateAvailable: waiting for a worker.
	StateAvailable State = "available"
	// StateRunning: being worked.
	StateRunning State = "running"
	// StateRetryable: failed, waiting for its next attempt.
	StateRetryable State = "retryable"
	// StateScheduled: waiting for its time.
	StateScheduled State = "scheduled"
	// StatePending: inserted on hold (not used by Steward yet).
	StatePending State = "pending"
	// StateCompleted: done.
	StateCompleted State = "completed"
	// StateDiscarded: failed its last attempt.
	StateDiscarded State = "discarded"
	// StateCancelled: cancelled by staff or by its worker (Permanent).
	StateCancelled State = "cancelled"
)

// AllStates lists every State, for filters in the console.
func AllStates() []State {
	return []State{StateAvailable, StateRunning, StateRetryable, StateScheduled, StatePending,
		StateCompleted, StateDiscarded, StateCancelled}
}

// Finished reports whether a job in state s will not run again unless
// retried by staff.
func (s State) Finished() bool {
	return s == StateCompleted || s == StateDiscarded || s == StateCancelled
}

func (s State) valid() bool {
	for _, known := range AllStates() {
		if s == known {
			return true
		}
	}
	return false
}

// Record is a job as staff see it.
type Record struct {
	ID          int64
	Kind        string
	Queue       string
	State       State
	Attempt     int
	MaxAttempts int
	// Errors counts the failed attempts; LastError is the latest one's
	// message (without the stack trace of a panic).
	Errors    int
	LastError string
	CreatedAt time.Time
	// ScheduledAt is when the job is (or was) due.
	ScheduledAt time.Time
	// AttemptedAt is when the latest attempt started; zero if none did.
	AttemptedAt time.Time
	// FinalizedAt is when the job finished; zero while it has not.
	FinalizedAt time.Time
	// Args are the job's args as JSON.
	Args json.RawMessage
}

func recordOf(row *rivertype.JobRow) Record {
	rec := Record{
		ID: row.ID, Kind: row.Kind, Queue: row.Queue, State: State(row.State),
		Attempt: row.Attempt, MaxAttempts: row.MaxAttempts, Errors: len(row.Errors),
		CreatedAt: row.CreatedAt, ScheduledAt: row.ScheduledAt,
		Args: json.RawMessage(row.EncodedArgs),
	}
	if n := len(row.Errors); n > 0 {
		// River prefixes the error of a job cancelled by its worker
		// (Permanent) with the Go type of its wrapper; staff need the
		// worker's words only.
		rec.LastError = strings.TrimPrefix(row.Errors[n-1].Error, "JobCancelError: ")
	}
	if row.AttemptedAt != nil {
		rec.AttemptedAt = *row.AttemptedAt
	}
	if row.FinalizedAt != nil {
		rec.FinalizedAt = *row.FinalizedAt
	}
	return rec
}

// Filter selects jobs for List. Empty fields select everything.
type Filter struct {
	Kinds  []string
	States []State
	Queues []string
	// Limit is the page size: 0 means 50, at most 500.
	Limit int
	// After is the Next of the previous page.
	After string
}

// Page is one page of jobs, newest first.
type Page struct {
	Jobs []Record
	// Next fetches the following page (Filter.After); empty on the last.
	Next string
}

// List returns the jobs that f selects, newest first.
func (r *Runner) List(ctx context.Context, f Filter) (Page, error) {
	limit := f.Limit
	switch {
	case limit == 0:
		limit = 50
	case limit < 0 || limit > 500:
		return Page{}, errs.Invalid("limit", "must be between 1 and 500")
	}
	params := river.NewJobListParams().OrderBy(river.JobListOrderByID, river.SortOrderDesc).First(limit)
	if len(f.Kinds) > 0 {
		params = params.Kinds(f.Kinds...)
	}
	if len(f.Queues) > 0 {
		params = params.Queues(f.Queues...)
	}
	if len(f.States) > 0 {
		states := make([]rivertype.JobState, len(f.States))
		for i, s := range f.States {
			if !s.valid() {
				return Page{}, errs.Invalid("state", "unknown state %q", s)
			}
			states[i] = rivertype.JobState(s)
		}
		params = params.States(states...)
	}
	if f.After != "" {
		var cursor river.JobListCursor
		if err := cursor.UnmarshalText([]byte(f.After)); err != nil {
			return Page{}, errs.Invalid("after", "not a page cursor")
		}
		params = params.After(&cursor)
	}
	res, err := r.client.JobList(ctx, params)
	if err != nil {
		return Page{}, db.Classify(fmt.Errorf("list jobs: %w", err))
	}
	page := Page{Jobs: make([]Record, len(res.Jobs))}
	for i, row := range res.Jobs {
		page.Jobs[i] = recordOf(row)
	}
	if len(res.Jobs) == limit && res.LastCursor != nil {
		next, err := res.LastCursor.MarshalText()
		if err != nil {
			return Page{}, fmt.Errorf("list jobs: encode cursor: %w", err)
		}
		page.Next = string(next)
	}
	return page, nil
}

// Get returns the job with id.
func (r *Runner) Get(ctx context.Context, id int64) (Record, error) {
	row, err := r.client.JobGet(ctx, id)
	if err != nil {
		return Record{}, jobError("get job", id, err)
	}
	return recordOf(row), nil
}

// Cancel cancels the job with id: a waiting job never runs; a running
// job's context is cancelled and whatever it returns, it is not retried.
// Cancelling a cancelled job does nothing; a completed or discarded one
// cannot be cancelled (errs.CodeConflict). The caller records the staff
// member's act in the audit log.
func (r *Runner) Cancel(ctx context.Context, id int64) (Record, error) {
	row, err := r.client.JobGet(ctx, id)
	if err != nil {
		return Record{}, jobError("cancel job", id, err)
	}
	if s := State(row.State); s == StateCompleted || s == StateDiscarded {
		return Record{}, errs.New(errs.CodeConflict, "job %d is %s and cannot be cancelled", id, s)
	}
	if row, err = r.client.JobCancel(ctx, id); err != nil {
		return Record{}, jobError("cancel job", id, err)
	}
	return recordOf(row), nil
}

// Retry makes the job with id available to run now, whatever state it is
// in but running (errs.CodeConflict): a discarded job gets one more
// attempt, a completed one runs again, a scheduled one runs early. The
// caller records the staff member's act in the audit log.
func (r *Runner) Retry(ctx context.Context, id int64) (Record, error) {
	row, err := r.client.JobGet(ctx, id)
	if err != nil {
		return Record{}, jobError("retry job", id, err)
	}
	if State(row.State) == StateRunning {
		return Record{}, errs.New(errs.CodeConflict, "job %d is running and cannot be retried", id)
	}
	if row, err = r.client.JobRetry(ctx, id); err != nil {
		return Record{}, jobError("retry job", id, err)
	}
	return recordOf(row), nil
}

func jobError(op string, id int64, err error) error {
	if errors.Is(err, rivertype.ErrNotFound) {
		return errs.NotFound("job", strconv.FormatInt(id, 10))
	}
	return db.Classify(fmt.Errorf("%s %d: %w", op, id, err))
}
