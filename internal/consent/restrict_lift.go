package consent

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/errs"
)

// PendingLift is a lift of a restriction that staff asked for and that
// waits until the customer has been told (GDPR Art. 18(3): the data
// subject "shall be informed by the controller before the restriction of
// processing is lifted"). Until the notice is sent and the lift applied
// (CompleteLift), decisions still answer "restricted".
type PendingLift struct {
	ID      string `json:"id"`
	Subject string `json:"subject"`
	// Purpose is the one purpose whose restriction is lifted; empty for
	// every restriction of the subject.
	Purpose     string    `json:"purpose,omitempty"`
	RequestedAt time.Time `json:"requested_at"`
	// RequestedBy names the actor who asked ("staff:stf_…", "key:…").
	RequestedBy string `json:"requested_by,omitempty"`
	// NoticeProblem says why the customer could not be told
	// (NoticeNoAddress, NoticeUndeliverable); empty while the notice is on
	// its way. A lift with a problem is not applied: the restriction stays
	// until staff ask again (once the customer can be reached) or cancel.
	NoticeProblem string `json:"notice_problem,omitempty"`
}

// The reasons a lift notice could not be sent.
const (
	// NoticeNoAddress: no address of the customer can be opened (none
	// was given, or it was erased).
	NoticeNoAddress = "no_address"
	// NoticeUndeliverable: the mail server refused the address for good.
	NoticeUndeliverable = "undeliverable"
)

// ErrLiftNotice is the error of RequestLift when no notice can be sent at
// all (email is not configured): the restriction cannot be lifted without
// telling the customer first.
var ErrLiftNotice = errs.New(errs.CodeUnavailable,
	"the customer must be told before their restriction is lifted (GDPR Art. 18(3)), and email is not configured")

// RequestLift asks for the subject's restriction for purpose ("" for every
// one of theirs) to be lifted once the customer has been told: it records a
// pending lift and, in the same transaction, Config.OnLiftRequested queues
// the notice, whose sending applies the lift (CompleteLift). Asking again
// while one is pending returns it; asking again after its notice failed
// tries again. It is not found when no restriction it would lift is in
// force, and unavailable (ErrLiftNotice) without OnLiftRequested. Audited,
// naming the actor of the context. The customer's own lift in the portal
// needs no notice: that is Lift.
func (s *Service) RequestLift(ctx context.Context, subject, purpose string) (PendingLift, error) {
	if err := s.checkRestriction(subject, purpose, ""); err != nil {
		return PendingLift{}, err
	}
	if s.onLiftRequested == nil {
		return PendingLift{}, ErrLiftNotice
	}
	actor := audit.ActorFrom(ctx)
	var out PendingLift
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		if err := lockRestricted(ctx, tx, subject, purpose); err != nil {
			return err
		}
		pending, err := pendingLiftsOf(ctx, tx, `subject_id = $1 AND purpose = $2`, subject, purpose)
		if err != nil {
			return err
		}
		now := micros(s.now())
		if len(pending) > 0 {
			out = pending[0]
			if out.NoticeProblem == "" {
				return nil
			}
			out.NoticeProblem, out.RequestedAt, out.RequestedBy = "", fromMicros(now), actor.String()
			if _, err := tx.ExecContext(ctx, `UPDATE consent_restriction_lifts SET notice_problem = '', requested_at = $1, requested_by = $2
				WHERE id = $3`, now, out.RequestedBy, out.ID); err != nil {
				return fmt.Errorf("record lift: %w", err)
			}
		} else {
			out = PendingLift{ID: newLiftID(), Subject: subject, Purpose: purpose, RequestedAt: fromMicros(now), RequestedBy: actor.String()}
			if _, err := tx.ExecContext(ctx, `INSERT INTO consent_restriction_lifts (id, subject_id, purpose, requested_at, requested_by)
				VALUES ($1, $2, $3, $4, $5)`, out.ID, subject, purpose, now, out.RequestedBy); err != nil {
				return fmt.Errorf("record lift: %w", err)
			}
		}
		if err := s.auditLift(ctx, tx, "consent.lift_requested", out, nil); err != nil {
			return err
		}
		return s.onLiftRequested(ctx, tx, out)
	})
	if err != nil {
		return PendingLift{}, db.Classify(err)
	}
	return out, nil
}

// CompleteLift applies a pending lift once its notice was sent: the
// restriction ends here at once and on the other replicas when they
// follow. A lift no longer pending (cancelled, or forgotten by an erasure)
// is not found; one whose restrictions ended meanwhile (the customer
// lifted them) is just closed. Audited as "consent.lift".
func (s *Service) CompleteLift(ctx context.Context, id string) error {
	var lifted *restrictionRow
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		if err := lockHead(ctx, tx); err != nil {
			return err
		}
		p, err := pendingLift(ctx, tx, id)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM consent_restriction_lifts WHERE id = $1`, id); err != nil {
			return fmt.Errorf("close lift: %w", err)
		}
		current, err := restrictionsOf(ctx, tx, p.Subject)
		if err != nil {
			return err
		}
		if !covers(current, p.Purpose) {
			return nil
		}
		seq, err := s.writeRestriction(ctx, tx, p.Subject, p.Purpose, restrictLift, "")
		if err != nil {
			return err
		}
		lifted = &restrictionRow{seq: seq, subject: p.Subject, purpose: p.Purpose, lift: true}
		return s.auditLift(ctx, tx, "consent.lift", p, map[string]any{"notice": "sent", "requested_by": p.RequestedBy})
	})
	if err != nil {
		return db.Classify(err)
	}
	if lifted != nil {
		s.index.applyRestrictions([]restrictionRow{*lifted})
	}
	return nil
}

// LiftNoticeFailed records that the customer could not be told of a
// pending lift (NoticeNoAddress, NoticeUndeliverable): the lift is not
// applied and the restriction stays; staff see why. Audited.
func (s *Service) LiftNoticeFailed(ctx context.Context, id, problem string) error {
	if problem != NoticeNoAddress && problem != NoticeUndeliverable {
		return errs.Invalid("problem", "must be no_address or undeliverable")
	}
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		p, err := pendingLift(ctx, tx, id)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE consent_restriction_lifts SET notice_problem = $1 WHERE id = $2`, problem, id); err != nil {
			return fmt.Errorf("record lift notice: %w", err)
		}
		return s.auditLift(ctx, tx, "consent.lift_notice_failed", p, map[string]any{"problem": problem})
	})
	return db.Classify(err)
}

// CancelLift withdraws a pending lift: the restriction stays, and a notice
// still queued finds nothing to apply. Audited.
func (s *Service) CancelLift(ctx context.Context, id string) error {
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		p, err := pendingLift(ctx, tx, id)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM consent_restriction_lifts WHERE id = $1`, id); err != nil {
			return fmt.Errorf("cancel lift: %w", err)
		}
		return s.auditLift(ctx, tx, "consent.lift_cancelled", p, nil)
	})
	return db.Classify(err)
}

// PendingLift returns one pending lift.
func (s *Service) PendingLift(ctx context.Context, id string) (PendingLift, error) {
	p, err := pendingLift(ctx, s.db, id)
	return p, db.Classify(err)
}

// PendingLifts returns the subject's pending lifts, oldest first.
func (s *Service) PendingLifts(ctx context.Context, subject string) ([]PendingLift, error) {
	list, err := pendingLiftsOf(ctx, s.db, `subject_id = $1`, subject)
	return list, db.Classify(err)
}

func pendingLift(ctx context.Context, q db.Querier, id string) (PendingLift, error) {
	list, err := pendingLiftsOf(ctx, q, `id = $1`, id)
	if err != nil {
		return PendingLift{}, err
	}
	if len(list) == 0 {
		return PendingLift{}, errs.NotFound("pending lift", id)
	}
	return list[0], nil
}

func pendingLiftsOf(ctx context.Context, q db.Querier, where string, args ...any) ([]PendingLift, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, subject_id, purpose, requested_at, requested_by, notice_problem
		FROM consent_restriction_lifts WHERE `+where+` ORDER BY requested_at, id`, args...)
	if err != nil {
		return nil, fmt.Errorf("read pending lifts: %w", err)
	}
	defer rows.Close()
	var list []PendingLift
	for rows.Next() {
		var p PendingLift
		var at int64
		if err := rows.Scan(&p.ID, &p.Subject, &p.Purpose, &at, &p.RequestedBy, &p.NoticeProblem); err != nil {
			return nil, fmt.Errorf("read pending lifts: %w", err)
		}
		p.RequestedAt = fromMicros(at)
		list = append(list, p)
	}
	return list, rows.Err()
}

// dropPendingLifts closes the pending lifts a lift of purpose makes moot:
// all of the subject's for "", else those of the purpose.
func dropPendingLifts(ctx context.Context, tx *sql.Tx, subject, purpose string) error {
	var err error
	if purpose == "" {
		_, err = tx.ExecContext(ctx, `DELETE FROM consent_restriction_lifts WHERE subject_id = $1`, subject)
	} else {
		_, err = tx.ExecContext(ctx, `DELETE FROM consent_restriction_lifts WHERE subject_id = $1 AND purpose = $2`, subject, purpose)
	}
	if err != nil {
		return fmt.Errorf("close pending lifts: %w", err)
	}
	return nil
}

// covers says whether lifting purpose ("" for all) ends a restriction in
// force.
func covers(current []Restriction, purpose string) bool {
	for _, r := range current {
		if purpose == "" || r.Purpose == purpose {
			return true
		}
	}
	return false
}

func (s *Service) auditLift(ctx context.Context, tx *sql.Tx, action string, p PendingLift, more map[string]any) error {
	if s.audit == nil {
		return nil
	}
	details := map[string]any{"purpose": p.Purpose, "lift": p.ID}
	for k, v := range more {
		details[k] = v
	}
	_, err := s.audit.AppendTx(ctx, tx, audit.Entry{Actor: audit.ActorFrom(ctx), Action: action, Target: audit.Subject(p.Subject),
		Details: audit.MustDetails(details)})
	return err
}

// newLiftID returns "lift_" and 96 random bits.
func newLiftID() string {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(errors.Join(errors.New("consent: no randomness"), err))
	}
	return "lift_" + base64.RawURLEncoding.EncodeToString(b[:])
}
