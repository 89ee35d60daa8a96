package fulfil

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/steward-dev/steward/internal/dsr"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/jobs"
	"github.com/steward-dev/steward/internal/notify"
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

// MaintenanceArgs is the hourly job: deadline reminders to privacy
// officers, and purges of expired archives and sign-in codes. Slot (the
// hour, "2006-01-02T15") keys it, so that the running job can schedule the
// next one, and replicas starting in the same hour add no second one.
type MaintenanceArgs struct {
	Slot string `json:"slot" river:"unique"`
}

// SlotOf returns the maintenance slot of t.
func SlotOf(t time.Time) string { return t.UTC().Format("2006-01-02T15") }

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

// Maintenance is the hourly housekeeping.
type Maintenance struct {
	Requests *dsr.Service
	// Mailer and Mail send reminders; a nil Mailer skips them.
	Mailer notify.Sender
	Mail   *notify.Templates
	Brand  notify.Brand
	// ConsoleURL is the console's base URL, for links in reminders.
	ConsoleURL string
	// Officers returns the email addresses of the privacy officers.
	Officers func(ctx context.Context) ([]string, error)
	// Purges delete what has expired (archives, codes, sessions).
	Purges []func(ctx context.Context) error
	// Next schedules the next run.
	Next func(ctx context.Context, at time.Time) error
	Now  func() time.Time
}

// Every is how often maintenance runs.
const Every = time.Hour

// Run sends the reminders that are due and runs the purges, then
// schedules the next run.
func (m *Maintenance) Run(ctx context.Context) error {
	var failed []error
	if err := m.remind(ctx); err != nil {
		failed = append(failed, err)
	}
	for _, purge := range m.Purges {
		if err := purge(ctx); err != nil {
			failed = append(failed, err)
		}
	}
	if m.Next != nil {
		if err := m.Next(ctx, m.Now().Add(Every)); err != nil {
			failed = append(failed, err)
		}
	}
	return errors.Join(failed...)
}

// mailType is how notify names a kind of request.
var mailType = map[dsr.Kind]string{dsr.KindAccess: "access", dsr.KindExport: "export", dsr.KindRectification: "rectify",
	dsr.KindErasure: "erase", dsr.KindRestriction: "restrict", dsr.KindObjection: "object"}

func (m *Maintenance) remind(ctx context.Context) error {
	if m.Mailer == nil || m.Officers == nil {
		return nil
	}
	due, err := m.Requests.DueReminders(ctx, m.Now())
	if err != nil || len(due) == 0 {
		return err
	}
	officers, err := m.Officers(ctx)
	if err != nil || len(officers) == 0 {
		return err
	}
	for _, q := range due {
		r := q.Request
		deadline := r.Deadline()
		days := int(deadline.Sub(m.Now()).Hours() / 24)
		msg, err := m.Mail.Render(notify.DefaultLanguage, notify.TemplateRequestDeadline, notify.RequestDeadline{Brand: m.Brand,
			RequestID: r.ID, Type: mailType[r.Kind], Deadline: deadline, DaysLeft: days, ConsoleURL: m.ConsoleURL + "/admin/requests/" + r.ID})
		if err != nil {
			return fmt.Errorf("reminder: %w", err)
		}
		for _, to := range officers {
			msg.To = to
			if err := m.Mailer.Send(ctx, msg); err != nil {
				return fmt.Errorf("reminder for %s: %w", r.ID, err)
			}
		}
		if err := m.Requests.MarkReminded(ctx, r.ID); err != nil {
			return err
		}
	}
	return nil
}

// Register adds the workers of the request jobs and of maintenance.
func (f *Fulfiller) Register(workers *jobs.Workers, m *Maintenance) error {
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
		jobs.Register(workers, jobs.WorkFunc(func(ctx context.Context, _ *jobs.Job[MaintenanceArgs]) error {
			return m.Run(ctx)
		})),
	)
}
