package fulfil

import (
	"context"
	"errors"

	"github.com/steward-dev/steward/internal/dsr"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/jobs"
)

// ExportArgs is the job that builds a request's archive.
type ExportArgs struct {
	RequestID string `json:"request_id" river:"unique"`
}

// Kind names the job.
func (ExportArgs) Kind() string { return "dsr.export" }

// EraseArgs is the job that erases a request's subject everywhere.
type EraseArgs struct {
	RequestID string `json:"request_id" river:"unique"`
}

// Kind names the job.
func (EraseArgs) Kind() string { return "dsr.erase" }

// RectifyArgs is the job that applies a rectification's approved proposal.
type RectifyArgs struct {
	RequestID string `json:"request_id" river:"unique"`
}

// Kind names the job.
func (RectifyArgs) Kind() string { return "dsr.rectify" }

// MaintenanceArgs is the hourly job of releases before periodic jobs
// (jobs.Periodic), which scheduled its own next run. A run still scheduled
// from such a release completes at once: the work it did is now declared
// by the packages that own it, each a periodic job of its own.
type MaintenanceArgs struct {
	Slot string `json:"slot" river:"unique"`
}

// Kind names the job.
func (MaintenanceArgs) Kind() string { return "steward.maintenance" }

// Work returns the job that does what a started request asks for, or nil
// for what staff carry out by hand (restriction, objection, and a
// rectification without proposed values). A rectification's proposal is
// applied only once approved (dsr.Service.ApproveProposal, or at filing
// when every field corrects itself).
func Work(req dsr.Request) jobs.Args {
	switch req.Kind {
	case dsr.KindAccess, dsr.KindExport:
		return ExportArgs{RequestID: req.ID}
	case dsr.KindErasure:
		return EraseArgs{RequestID: req.ID}
	case dsr.KindRectification:
		if len(req.Proposed) > 0 && req.ProposalApprovedAt != nil {
			return RectifyArgs{RequestID: req.ID}
		}
	}
	return nil
}

// outcome turns a fulfilment error into what the job runner should do:
// look again later while a system works or the customer proves who they
// are (not a failure), retry what may
// pass (a system down), stop on what cannot (the request was rejected or
// cancelled meanwhile).
func (f *Fulfiller) outcome(err error) error {
	// The customer has yet to give the second proof (or confirm an
	// agent's request): look again later, as while a system works.
	if errors.Is(err, ErrWaiting) || errors.Is(err, dsr.ErrIdentityNotReached) {
		return jobs.Snooze(f.Poll)
	}
	switch errs.CodeOf(err) {
	case errs.CodeConflict, errs.CodeNotFound, errs.CodeInvalid:
		return jobs.Permanent(err)
	}
	return err
}

// Register adds the workers of the request jobs (and of the retired
// maintenance job).
func (f *Fulfiller) Register(workers *jobs.Workers) error {
	return errors.Join(
		jobs.Register(workers, jobs.WorkFunc(func(ctx context.Context, job *jobs.Job[ExportArgs]) error {
			_, err := f.Export(ctx, job.Args.RequestID)
			return f.outcome(err)
		})),
		jobs.Register(workers, jobs.WorkFunc(func(ctx context.Context, job *jobs.Job[EraseArgs]) error {
			_, err := f.Erase(ctx, job.Args.RequestID)
			return f.outcome(err)
		})),
		jobs.Register(workers, jobs.WorkFunc(func(ctx context.Context, job *jobs.Job[RectifyArgs]) error {
			_, err := f.Rectify(ctx, job.Args.RequestID)
			return f.outcome(err)
		})),
		jobs.Register(workers, jobs.WorkFunc(func(context.Context, *jobs.Job[MaintenanceArgs]) error { return nil })),
	)
}
