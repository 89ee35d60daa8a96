package fulfil

import (
	"context"
	"log/slog"

	"github.com/steward-dev/steward/internal/dsr"
	"github.com/steward-dev/steward/internal/jobs"
)

// Inserter inserts jobs (*jobs.Runner, *jobs.Deferred).
type Inserter interface {
	Insert(ctx context.Context, args jobs.Args, opts *jobs.InsertOpts) (jobs.Inserted, error)
}

// AfterAction returns what the console calls after staff act on a request:
// it enqueues the job the request needs once staff start it, ask for the
// work to run again, or approve a rectification's proposal. A failure is
// logged (the action itself stands; staff can ask for the work again).
func (f *Fulfiller) AfterAction(q Inserter, log *slog.Logger) func(ctx context.Context, action, id string) {
	return func(ctx context.Context, action, id string) {
		if action != "start" && action != "work" && action != "approve_proposal" {
			return
		}
		req, err := f.Requests.Get(ctx, id)
		if err != nil {
			log.Error("start request work", "request", id, "err", err)
			return
		}
		if args := Work(req); args != nil {
			if _, err := q.Insert(ctx, args, &jobs.InsertOpts{Unique: true}); err != nil {
				log.Error("start request work", "request", id, "err", err)
			}
		}
	}
}

// RectifyAndStart returns the portal's filing of a customer's proposal of
// new values: it files it and, when it applies without approval, enqueues
// its work.
func (f *Fulfiller) RectifyAndStart(q Inserter, log *slog.Logger) func(ctx context.Context, in dsr.NewRequest) (dsr.Request, error) {
	return func(ctx context.Context, in dsr.NewRequest) (dsr.Request, error) {
		req, start, err := f.FileRectification(ctx, in)
		if err != nil || !start {
			return req, err
		}
		if args := Work(req); args != nil {
			if _, err := q.Insert(ctx, args, &jobs.InsertOpts{Unique: true}); err != nil {
				log.Error("start rectification", "request", req.ID, "err", err)
			}
		}
		return req, nil
	}
}
