package dsrmail

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/dsr"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/jobs"
	"github.com/steward-dev/steward/internal/notify"
)

// LiftArgs is the job that tells a customer their restriction of
// processing is being lifted and then lifts it (GDPR Art. 18(3): informed
// before the restriction is lifted). Ids only; RequestedAt (micros) tells
// a second request of the same lift, after its notice failed, from the
// first.
type LiftArgs struct {
	LiftID      string `json:"lift_id" river:"unique"`
	RequestedAt int64  `json:"requested_at" river:"unique"`
}

// Kind names the job.
func (LiftArgs) Kind() string { return "consent.lift_notice" }

// EnqueueLift writes the notice job of a lift staff asked for, with insert,
// in the lift's transaction (consent.Config.OnLiftRequested).
func EnqueueLift(ctx context.Context, tx *sql.Tx, lift consent.PendingLift, insert func(ctx context.Context, tx *sql.Tx, a LiftArgs) error) error {
	return insert(ctx, tx, LiftArgs{LiftID: lift.ID, RequestedAt: lift.RequestedAt.UnixMicro()})
}

// LiftNotices sends the notices of lifts and applies each lift once its
// notice went out. The customer is written to at the address of the
// request that asked for the restriction, in that request's language;
// without one, at the subject's own address (SubjectContact). When no
// address can be opened (none was given, or it was erased) or the mail
// server refuses it for good, the lift is not applied: the restriction
// stays, and staff see why on the request's page (consent.PendingLift
// .NoticeProblem). An erasure deletes the restrictions and their pending
// lifts: its queued notice finds nothing and sends nothing.
type LiftNotices struct {
	Consent  *consent.Service
	Requests *dsr.Service
	Sender   notify.Sender
	Mail     *notify.Templates
	Brand    notify.Brand
	// PortalURL is where customers reach Steward ("https://shop.example").
	PortalURL string
	// SubjectContact opens the subject's own address and language (the
	// opening recorded in the audit log), "" when there is none; nil: only
	// requests' addresses are used.
	SubjectContact func(ctx context.Context, subject string) (address, lang string, err error)
}

// Send sends the notice of a pending lift and then applies it.
func (n *LiftNotices) Send(ctx context.Context, a LiftArgs) error {
	ctx = audit.WithActor(ctx, audit.System())
	lift, err := n.Consent.PendingLift(ctx, a.LiftID)
	if errs.Is(err, errs.CodeNotFound) {
		return nil // cancelled, applied, or forgotten by an erasure
	}
	if err != nil {
		return err
	}
	if lift.NoticeProblem != "" || lift.RequestedAt.UnixMicro() != a.RequestedAt {
		return nil // a failed notice waits for staff; a newer job carries the new request
	}
	to, lang, err := n.contact(ctx, lift)
	if err != nil {
		return fmt.Errorf("lift %s notice: %w", lift.ID, err)
	}
	if to == "" {
		return n.Consent.LiftNoticeFailed(ctx, lift.ID, consent.NoticeNoAddress)
	}
	if n.Sender == nil {
		// Email was turned off after the lift was asked for: the
		// restriction stays until it can be sent (the job retries).
		return fmt.Errorf("lift %s notice: email is not configured", lift.ID)
	}
	purpose := ""
	if lift.Purpose != "" {
		purpose = lift.Purpose
		if p, err := n.Consent.Purpose(lift.Purpose); err == nil {
			purpose = localName(p.Names, lang, lift.Purpose)
		}
	}
	msg, err := n.Mail.Render(lang, notify.TemplateRestrictionLift, notify.RestrictionLift{Brand: n.Brand, Purpose: purpose,
		PortalURL: n.PortalURL + "/privacy/home?lang=" + lang})
	if err != nil {
		return jobs.Permanent(fmt.Errorf("lift %s notice: %w", lift.ID, err))
	}
	msg.To = to
	if err := n.Sender.Send(ctx, msg); err != nil {
		if notify.IsTemporary(err) {
			return fmt.Errorf("lift %s notice: %w", lift.ID, err)
		}
		if ferr := n.Consent.LiftNoticeFailed(ctx, lift.ID, consent.NoticeUndeliverable); ferr != nil {
			return ferr
		}
		return jobs.Permanent(fmt.Errorf("lift %s notice: %w", lift.ID, err))
	}
	// Told: now the restriction ends. Should this fail, the job runs
	// again and the customer may get the notice twice, never none.
	if err := n.Consent.CompleteLift(ctx, lift.ID); err != nil && !errs.Is(err, errs.CodeNotFound) {
		return fmt.Errorf("lift %s: %w", lift.ID, err)
	}
	return nil
}

// contact finds where and in which language to write: the address of the
// newest request behind a restriction the lift ends, else the subject's
// own.
func (n *LiftNotices) contact(ctx context.Context, lift consent.PendingLift) (to, lang string, err error) {
	current, err := n.Consent.Restrictions(ctx, lift.Subject)
	if err != nil {
		return "", "", err
	}
	for i := len(current) - 1; i >= 0; i-- {
		r := current[i]
		if r.RequestID == "" || (lift.Purpose != "" && r.Purpose != lift.Purpose) || n.Requests == nil {
			continue
		}
		req, err := n.Requests.Get(ctx, r.RequestID)
		if errs.Is(err, errs.CodeNotFound) {
			continue
		}
		if err != nil {
			return "", "", err
		}
		to, err := n.Requests.Contact(ctx, req.ID)
		if err != nil {
			return "", "", err
		}
		if to != "" {
			return to, notify.MatchLanguage(req.Language), nil
		}
	}
	if n.SubjectContact == nil {
		return "", "", nil
	}
	to, lang, err = n.SubjectContact(ctx, lift.Subject)
	return to, notify.MatchLanguage(lang), err
}

func localName(names map[string]string, lang, fallback string) string {
	if v := names[lang]; v != "" {
		return v
	}
	if v := names["en"]; v != "" {
		return v
	}
	return fallback
}

// Worker is the job's worker.
func (n *LiftNotices) Worker() jobs.Worker[LiftArgs] {
	return jobs.WorkFunc(func(ctx context.Context, job *jobs.Job[LiftArgs]) error { return n.Send(ctx, job.Args) })
}
