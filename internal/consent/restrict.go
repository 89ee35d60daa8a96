package consent

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/errs"
)

// Restriction is a restriction of a subject's processing (GDPR Art. 18)
// in force: until it is lifted, decisions for the subject answer
// "restricted" for every purpose (or the one purpose named) but those a
// legal obligation requires.
type Restriction struct {
	Subject string `json:"subject"`
	// Purpose is the one purpose restricted; empty for every purpose.
	Purpose string `json:"purpose,omitempty"`
	// RequestID is the data subject request that asked for it, if any.
	RequestID string    `json:"request_id,omitempty"`
	Seq       int64     `json:"seq"`
	PlacedAt  time.Time `json:"placed_at"`
}

const (
	restrictPlace = "place"
	restrictLift  = "lift"
)

// restrictionRow is one placing or lifting, as the follower reads it.
type restrictionRow struct {
	seq     int64
	subject string
	purpose string
	lift    bool
}

func (s *Service) checkRestriction(subject, purpose, requestID string) error {
	problems := map[string]string{}
	if !ValidID(subject) || strings.HasPrefix(subject, "prs_") {
		problems["subject"] = "must be 1 to 128 letters, digits or ._:@+=-, and not a pseudonym"
	}
	if purpose != "" {
		if _, ok := s.catalog.load().purposes[purpose]; !ok {
			problems["purpose"] = fmt.Sprintf("unknown purpose %q", purpose)
		}
	}
	if requestID != "" && !ValidID(requestID) {
		problems["request_id"] = "must be 1 to 128 letters, digits or ._:@+=-"
	}
	if len(problems) > 0 {
		return errs.Fields(problems)
	}
	return nil
}

// Restrict places a restriction on the subject's processing, for one
// purpose or (purpose "") for all: decisions change on this replica at
// once and on the others when they follow. requestID names the request
// that asked for it, if any. Placing one already in force returns it
// unchanged. The change is audited in its transaction, naming the actor of
// the context.
func (s *Service) Restrict(ctx context.Context, subject, purpose, requestID string) (Restriction, error) {
	if err := s.checkRestriction(subject, purpose, requestID); err != nil {
		return Restriction{}, err
	}
	var out Restriction
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		if err := lockHead(ctx, tx); err != nil {
			return err
		}
		current, err := restrictionsOf(ctx, tx, subject)
		if err != nil {
			return err
		}
		for _, r := range current {
			if r.Purpose == purpose {
				out = r
				return nil
			}
		}
		out = Restriction{Subject: subject, Purpose: purpose, RequestID: requestID, PlacedAt: fromMicros(micros(s.now()))}
		if out.Seq, err = s.writeRestriction(ctx, tx, subject, purpose, restrictPlace, requestID); err != nil {
			return err
		}
		return s.auditRestriction(ctx, tx, "consent.restrict", subject, purpose, requestID)
	})
	if err != nil {
		return Restriction{}, db.Classify(err)
	}
	s.index.applyRestrictions([]restrictionRow{{seq: out.Seq, subject: subject, purpose: purpose}})
	return out, nil
}

// lockRestricted takes the ledger head's lock and checks that a
// restriction of the subject in force covers purpose; not found when none
// does.
func lockRestricted(ctx context.Context, tx *sql.Tx, subject, purpose string) error {
	if err := lockHead(ctx, tx); err != nil {
		return err
	}
	current, err := restrictionsOf(ctx, tx, subject)
	if err != nil {
		return err
	}
	if !covers(current, purpose) {
		return errs.NotFound("restriction", subject)
	}
	return nil
}

// Lift ends the subject's restriction for purpose ("" ends every one of
// theirs) at once, audited like Restrict: the customer's own lift in the
// portal, which needs no notice, and no one else's: staff ask for a lift
// with RequestLift, which tells the customer first (GDPR Art. 18(3)).
// Pending lifts it makes moot are closed. It is not found when none is in
// force.
func (s *Service) Lift(ctx context.Context, subject, purpose string) error {
	if err := s.checkRestriction(subject, purpose, ""); err != nil {
		return err
	}
	var seq int64
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		err := lockRestricted(ctx, tx, subject, purpose)
		if err != nil {
			return err
		}
		if seq, err = s.writeRestriction(ctx, tx, subject, purpose, restrictLift, ""); err != nil {
			return err
		}
		if err := dropPendingLifts(ctx, tx, subject, purpose); err != nil {
			return err
		}
		return s.auditRestriction(ctx, tx, "consent.lift", subject, purpose, "")
	})
	if err != nil {
		return db.Classify(err)
	}
	s.index.applyRestrictions([]restrictionRow{{seq: seq, subject: subject, purpose: purpose, lift: true}})
	return nil
}

// lockHead takes the ledger head's row lock before a restriction is read
// and written, so that two concurrent placings of the same restriction
// cannot both find it absent (SQLite transactions write one at a time
// anyway).
func lockHead(ctx context.Context, tx *sql.Tx) error {
	if _, err := tx.ExecContext(ctx, `UPDATE ledger_head SET seq = seq WHERE id = 1`); err != nil {
		return fmt.Errorf("lock ledger head: %w", err)
	}
	return nil
}

func (s *Service) writeRestriction(ctx context.Context, tx *sql.Tx, subject, purpose, action, requestID string) (int64, error) {
	var seq int64
	if err := tx.QueryRowContext(ctx, `UPDATE ledger_head SET seq = seq + 1 WHERE id = 1 RETURNING seq`).Scan(&seq); err != nil {
		return 0, fmt.Errorf("take sequence number: %w", err)
	}
	if err := s.notifyFollowers(ctx, tx, readRestrictions); err != nil {
		return 0, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO consent_restrictions (seq, subject_id, purpose, action, request_id, at)
		VALUES ($1, $2, $3, $4, $5, $6)`, seq, subject, purpose, action, requestID, micros(s.now())); err != nil {
		return 0, fmt.Errorf("record restriction: %w", err)
	}
	return seq, nil
}

func (s *Service) auditRestriction(ctx context.Context, tx *sql.Tx, action, subject, purpose, requestID string) error {
	if s.audit == nil {
		return nil
	}
	_, err := s.audit.AppendTx(ctx, tx, audit.Entry{Actor: audit.ActorFrom(ctx), Action: action, Target: audit.Subject(subject),
		Details: audit.MustDetails(map[string]any{"purpose": purpose, "request": requestID})})
	return err
}

// Restrictions returns the subject's restrictions in force, oldest first.
func (s *Service) Restrictions(ctx context.Context, subject string) ([]Restriction, error) {
	list, err := restrictionsOf(ctx, s.db, subject)
	return list, db.Classify(err)
}

func restrictionsOf(ctx context.Context, q db.Querier, subject string) ([]Restriction, error) {
	rows, err := q.QueryContext(ctx, `SELECT seq, purpose, action, request_id, at FROM consent_restrictions
		WHERE subject_id = $1 ORDER BY seq`, subject)
	if err != nil {
		return nil, fmt.Errorf("read restrictions: %w", err)
	}
	defer rows.Close()
	var list []Restriction
	for rows.Next() {
		r := Restriction{Subject: subject}
		var action string
		var at int64
		if err := rows.Scan(&r.Seq, &r.Purpose, &action, &r.RequestID, &at); err != nil {
			return nil, fmt.Errorf("read restrictions: %w", err)
		}
		r.PlacedAt = fromMicros(at)
		if action == restrictPlace {
			list = append(list, r)
			continue
		}
		kept := list[:0]
		for _, p := range list {
			if r.Purpose != "" && p.Purpose != r.Purpose {
				kept = append(kept, p)
			}
		}
		list = kept
	}
	return list, rows.Err()
}

// ForgetRestrictions deletes the subject's restrictions, placed and
// lifted, and their pending lifts, for their erasure: nothing of the
// subject is left to restrict, and a lift notice still queued finds
// nothing to send. Replicas drop them from memory when they follow the
// erasure.
func (s *Service) ForgetRestrictions(ctx context.Context, subject string) (int, error) {
	var n int64
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM consent_restriction_lifts WHERE subject_id = $1`, subject); err != nil {
			return fmt.Errorf("forget pending lifts: %w", err)
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM consent_restrictions WHERE subject_id = $1`, subject)
		if err != nil {
			return fmt.Errorf("forget restrictions: %w", err)
		}
		n, _ = res.RowsAffected()
		return nil
	})
	if err != nil {
		return 0, db.Classify(err)
	}
	return int(n), nil
}

// readRestrictions reads the placings and liftings after seq, but none
// made before a later erasure of their subject (whose rows that erasure
// deletes).
func (s *Service) readRestrictions(ctx context.Context, after int64) ([]restrictionRow, error) {
	out, err := db.QueryAll(ctx, s.db, `SELECT r.seq, r.subject_id, r.purpose, r.action FROM consent_restrictions r
		WHERE r.seq > $1 AND NOT EXISTS (SELECT 1 FROM consent_erasures e WHERE e.subject_id = r.subject_id AND e.seq > r.seq)
		ORDER BY r.seq`, []any{after}, func(scan func(...any) error) (restrictionRow, error) {
		var r restrictionRow
		var action string
		if err := scan(&r.seq, &r.subject, &r.purpose, &action); err != nil {
			return restrictionRow{}, err
		}
		r.lift = action == restrictLift
		return r, nil
	})
	if err != nil {
		return nil, db.Classify(fmt.Errorf("read restrictions: %w", err))
	}
	return out, nil
}

// RestrictFor puts a completed restriction request into effect: the
// subject's processing restricted for each purpose, or for every purpose
// when none is given. Repeating it changes nothing.
func (s *Service) RestrictFor(ctx context.Context, subject, requestID string, purposes []string) error {
	if len(purposes) == 0 {
		purposes = []string{""}
	}
	for _, p := range purposes {
		if _, err := s.Restrict(ctx, subject, p, requestID); err != nil {
			return err
		}
	}
	return nil
}

// ObjectFor puts a completed objection request into effect: an objection
// event (source api, the company recording what the customer asked) for
// each purpose, named after the request and purpose so that repeating it
// appends nothing. Only the subject's own grant in the portal ends it.
func (s *Service) ObjectFor(ctx context.Context, subject, requestID string, purposes []string) error {
	props := s.Properties()
	if len(props) == 0 {
		return errs.New(errs.CodeConflict, "no property is configured to record the objection under")
	}
	notice := ""
	if n, ok := s.CurrentNotice(); ok {
		notice = n.Version
	}
	events := make([]Event, len(purposes))
	for i, p := range purposes {
		sum := sha256.Sum256([]byte(requestID + "\x00" + p))
		events[i] = Event{ID: "request." + hex.EncodeToString(sum[:16]), Property: props[0].Key, Subject: subject, Purpose: p,
			Action: ActionObject, Source: SourceAPI, NoticeVersion: notice}
	}
	if err := s.ValidateEvents(events, Author{Kind: AuthorRecordKey}); err != nil {
		if e, ok := errs.As(err); ok && len(e.Fields) > 0 {
			problems := map[string]string{}
			for f, msg := range e.Fields {
				var i int
				if _, err := fmt.Sscanf(f, "events[%d]", &i); err == nil && i < len(purposes) {
					f = fmt.Sprintf("purposes[%d]", i)
				}
				problems[f] = msg
			}
			return errs.Fields(problems)
		}
		return err
	}
	_, err := s.Append(ctx, events)
	return err
}
