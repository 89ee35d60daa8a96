package jobs

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
)

// Args are the arguments of a job: a struct encoded as JSON, whose Kind
// names the job ("dsr.erase"). Args carry ids only — a request id, a
// subject id — never personal data: they are stored in clear in river_job,
// kept for days after the job ends, shown to staff in the console and
// copied into backups outside the vault's crypto-shredding. A worker loads
// what it needs by id. The same holds for the errors a worker returns,
// which are stored and shown likewise.
//
// Fields tagged `river:"unique"` form the key of a unique job (see
// InsertOpts.Unique).
type Args = river.JobArgs

// Job is a job being worked: its row and its decoded Args.
type Job[T Args] = river.Job[T]

// Worker works the jobs of one Args type. Embed WorkerDefaults and write
// Work; Work must return when its context is done (with the context's
// error), or Stop cannot hand the job over to the next start.
type Worker[T Args] = river.Worker[T]

// WorkerDefaults gives a Worker the client's retry policy and job timeout.
type WorkerDefaults[T Args] = river.WorkerDefaults[T]

// Workers is the set of job kinds a Runner works. Register every worker
// before Open; the set must not change afterwards.
type Workers struct {
	river *river.Workers
	kinds int
}

// NewWorkers returns an empty set of workers.
func NewWorkers() *Workers { return &Workers{river: river.NewWorkers()} }

func (w *Workers) len() int { return w.kinds }

// Register adds the worker of T's kind to workers. It fails when the kind
// is registered already or its name is not valid for River.
func Register[T Args](workers *Workers, worker Worker[T]) error {
	if err := river.AddWorkerSafely(workers.river, worker); err != nil {
		var args T
		return fmt.Errorf("jobs: register worker of %T: %w", args, err)
	}
	workers.kinds++
	return nil
}

// WorkFunc makes a Worker of a function, for workers without settings of
// their own.
func WorkFunc[T Args](work func(ctx context.Context, job *Job[T]) error) Worker[T] {
	return river.WorkFunc(work)
}

// Snooze, returned by Work, runs the job again after d without counting an
// attempt: for a job that waits for something (a connector's export to be
// ready, a deadline) rather than failing.
func Snooze(d time.Duration) error { return river.JobSnooze(d) }

// Permanent, returned by Work, cancels the job without further attempts:
// for failures that retrying cannot fix (the request was withdrawn, the
// connector was deleted). err is recorded as the job's last error.
func Permanent(err error) error { return river.JobCancel(err) }

// Step runs fn as the step called name of the job being worked. A later
// attempt of the same job — a retry after an error, or the run after Stop
// interrupted this one — skips the steps an earlier attempt completed, so
// that a job made of steps (gather the vault, then the ledger, then each
// connector) resumes where it stopped. After a step fails, the following
// steps do not run and the job fails with the step's error: Work returns
// nil after its steps, and code outside steps runs on every attempt.
//
// Progress is saved when an attempt ends. A step whose work commits in an
// app transaction can save it in that same transaction with StepDoneTx,
// so that even a crash cannot make it run twice.
func Step(ctx context.Context, name string, fn func(ctx context.Context) error) {
	river.ResumableStep(ctx, name, nil, fn)
}

// StepDoneTx records in tx, a transaction of the store's, that the step
// running now (inside Step) is complete. Commit tx before the step returns.
func StepDoneTx[T Args](ctx context.Context, tx *sql.Tx, job *Job[T]) error {
	if _, err := river.ResumableSetStepTx[riverdriver.Driver[*sql.Tx]](ctx, tx, job); err != nil {
		return fmt.Errorf("record step of job %d: %w", job.ID, err)
	}
	return nil
}
