package dsrmail

import (
	"context"
	"database/sql"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/dsr"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/jobs"
	"github.com/steward-dev/steward/internal/notify"
	"github.com/steward-dev/steward/internal/vault"
)

// TxInserter inserts jobs in a transaction of the store's (*jobs.Runner,
// *jobs.Deferred).
type TxInserter interface {
	InsertTx(ctx context.Context, tx *sql.Tx, args jobs.Args, opts *jobs.InsertOpts) (jobs.Inserted, error)
}

// OnChange returns dsr.Config.OnChange: the job of the customer's email
// about a request's change, written in the change's transaction; nil (no
// email) without a sender.
func OnChange(q TxInserter, sender notify.Sender) func(ctx context.Context, tx *sql.Tx, r dsr.Request, e dsr.Event) error {
	if q == nil || sender == nil {
		return nil
	}
	return func(ctx context.Context, tx *sql.Tx, r dsr.Request, e dsr.Event) error {
		return Enqueue(ctx, tx, r, e, func(ctx context.Context, tx *sql.Tx, args Args) error {
			_, err := q.InsertTx(ctx, tx, args, &jobs.InsertOpts{Unique: true})
			return err
		})
	}
}

// LiftRequested returns consent.Config.OnLiftRequested: it queues the
// notice of a lift staff asked for, in its transaction. Without email the
// customer cannot be told, so the lift is refused (consent.ErrLiftNotice).
func LiftRequested(q TxInserter, sender notify.Sender) func(ctx context.Context, tx *sql.Tx, lift consent.PendingLift) error {
	return func(ctx context.Context, tx *sql.Tx, lift consent.PendingLift) error {
		if q == nil || sender == nil {
			return consent.ErrLiftNotice
		}
		return EnqueueLift(ctx, tx, lift, func(ctx context.Context, tx *sql.Tx, args LiftArgs) error {
			_, err := q.InsertTx(ctx, tx, args, &jobs.InsertOpts{Unique: true})
			return err
		})
	}
}

// VaultContact returns LiftNotices.SubjectContact: it opens the subject's
// own address (vault field "email") and language (field "language"),
// recording the opening first, for a notice that no request's address can
// carry; "" when they have none (or were erased).
func VaultContact(v *vault.Vault, log audit.Recorder) func(ctx context.Context, subject string) (address, lang string, err error) {
	return func(ctx context.Context, subject string) (address, lang string, err error) {
		rec, err := v.Get(ctx, subject, "email")
		if errs.CodeOf(err) == errs.CodeNotFound {
			return "", "", nil
		}
		if err != nil {
			return "", "", err
		}
		if _, err := log.Append(ctx, audit.Entry{Actor: audit.System(), Action: "customer.notify", Target: audit.Subject(subject),
			Details: audit.MustDetails(map[string]any{"fields": []string{"email"}, "notice": notify.TemplateRestrictionLift})}); err != nil {
			return "", "", err
		}
		if l, err := v.Get(ctx, subject, "language"); err == nil {
			lang = string(l.Value)
		}
		return string(rec.Value), lang, nil
	}
}
