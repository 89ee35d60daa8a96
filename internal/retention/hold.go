package retention

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/errs"
)

// Hold is a legal hold on a subject: while it is open (LiftedAt nil),
// retention keeps everything of the subject, whatever its age.
type Hold struct {
	ID       string     `json:"id"`
	Subject  string     `json:"subject_id"`
	Reason   string     `json:"reason"`
	PlacedBy string     `json:"placed_by"`
	PlacedAt time.Time  `json:"placed_at"`
	LiftedBy string     `json:"lifted_by,omitempty"`
	LiftedAt *time.Time `json:"lifted_at,omitempty"`
}

// Open reports whether the hold still holds.
func (h Hold) Open() bool { return h.LiftedAt == nil }

// MaxReason is the longest reason of a hold, in characters.
const MaxReason = 500

// subjectID is what a subject id may be (as consent.ValidID).
var subjectID = regexp.MustCompile(`^[A-Za-z0-9._:@+=-]{1,128}$`)

// checkHold validates a hold's subject and reason, naming each field at
// fault.
func checkHold(subject, reason string) error {
	problems := errs.Problems{}
	if !subjectID.MatchString(subject) {
		problems.Add("subject_id", "subject_id_chars")
	}
	switch r := strings.TrimSpace(reason); {
	case r == "":
		problems.Add("reason", "hold_reason")
	case utf8.RuneCountInString(r) > MaxReason:
		problems.Add("reason", "at_most_characters", "max", MaxReason)
	case strings.ContainsFunc(r, unicode.IsControl):
		problems.Add("reason", "one_line_no_control")
	}
	if len(problems) > 0 {
		e := errs.FieldsKeyed(problems)
		e.Message = "invalid legal hold"
		return e
	}
	return nil
}

// PlaceHold opens a legal hold on subject, for reason, by the actor in ctx
// (audit.WithActor), recorded in the audit log in the same transaction
// (action retention.hold_place; the reason is in the hold, not the entry).
// A subject has at most one open hold: a second is a conflict.
func (s *Service) PlaceHold(ctx context.Context, subject, reason string) (Hold, error) {
	reason = strings.TrimSpace(reason)
	if err := checkHold(subject, reason); err != nil {
		return Hold{}, err
	}
	actor := audit.ActorFrom(ctx)
	h := Hold{ID: newID("hld_"), Subject: subject, Reason: reason, PlacedBy: actor.String(), PlacedAt: s.now().UTC().Truncate(time.Microsecond)}
	entry := audit.Entry{Actor: actor, Action: ActionHoldPlace, Target: audit.Subject(subject), Details: audit.MustDetails(map[string]any{"hold": h.ID})}
	_, err := s.audit.Do(ctx, entry, func(ctx context.Context, tx *sql.Tx) error {
		var open int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM legal_holds WHERE subject_id = $1 AND lifted_at IS NULL`, subject).Scan(&open); err != nil {
			return fmt.Errorf("retention: place hold: %w", err)
		}
		if open > 0 {
			return errs.New(errs.CodeConflict, "the subject is already under a legal hold: lift it before placing another")
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO legal_holds (id, subject_id, reason, placed_by, placed_at) VALUES ($1, $2, $3, $4, $5)`,
			h.ID, h.Subject, h.Reason, h.PlacedBy, h.PlacedAt.UnixMicro())
		if err != nil {
			return fmt.Errorf("retention: place hold: %w", err)
		}
		return nil
	})
	if err != nil {
		return Hold{}, db.Classify(err)
	}
	return h, nil
}

// LiftHold closes subject's open hold, by the actor in ctx, audited
// (retention.hold_lift). Without an open hold it is not found.
func (s *Service) LiftHold(ctx context.Context, subject string) (Hold, error) {
	if !subjectID.MatchString(subject) {
		return Hold{}, errs.InvalidKeyed("subject_id", "subject_id_chars")
	}
	actor := audit.ActorFrom(ctx)
	now := s.now().UTC().Truncate(time.Microsecond)
	var h Hold
	entry := audit.Entry{Actor: actor, Action: ActionHoldLift, Target: audit.Subject(subject)}
	_, err := s.audit.Do(ctx, entry, func(ctx context.Context, tx *sql.Tx) error {
		open, err := holdsOf(ctx, tx, subject, true)
		if err != nil {
			return err
		}
		if len(open) == 0 {
			return errs.NotFound("legal hold", subject)
		}
		h = open[0]
		h.LiftedBy, h.LiftedAt = actor.String(), &now
		if _, err := tx.ExecContext(ctx, `UPDATE legal_holds SET lifted_by = $2, lifted_at = $3 WHERE id = $1 AND lifted_at IS NULL`,
			h.ID, h.LiftedBy, now.UnixMicro()); err != nil {
			return fmt.Errorf("retention: lift hold: %w", err)
		}
		return nil
	})
	if err != nil {
		return Hold{}, db.Classify(err)
	}
	return h, nil
}

// Holds returns subject's holds, newest first: the open one (if any) and
// those lifted.
func (s *Service) Holds(ctx context.Context, subject string) ([]Hold, error) {
	if !subjectID.MatchString(subject) {
		return nil, errs.InvalidKeyed("subject_id", "subject_id_chars")
	}
	return holdsOf(ctx, s.db, subject, false)
}

// OnHold reports whether subject is under an open hold: what the request
// service asks before it starts or works an erasure (dsr.SetOnHold).
func (s *Service) OnHold(ctx context.Context, subject string) (bool, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM legal_holds WHERE subject_id = $1 AND lifted_at IS NULL`, subject).Scan(&n); err != nil {
		return false, db.Classify(fmt.Errorf("retention: hold of a subject: %w", err))
	}
	return n > 0, nil
}

// Held returns the subjects under an open hold, sorted.
func (s *Service) Held(ctx context.Context) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT subject_id FROM legal_holds WHERE lifted_at IS NULL ORDER BY subject_id`)
	if err != nil {
		return nil, db.Classify(fmt.Errorf("retention: held subjects: %w", err))
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("retention: held subjects: %w", err)
		}
		out = append(out, id)
	}
	return out, db.Classify(rows.Err())
}

func holdsOf(ctx context.Context, q db.Querier, subject string, openOnly bool) ([]Hold, error) {
	query := `SELECT id, subject_id, reason, placed_by, placed_at, lifted_by, lifted_at FROM legal_holds WHERE subject_id = $1`
	if openOnly {
		query += ` AND lifted_at IS NULL`
	}
	rows, err := q.QueryContext(ctx, query+` ORDER BY placed_at DESC, id`, subject)
	if err != nil {
		return nil, fmt.Errorf("retention: read holds: %w", err)
	}
	defer rows.Close()
	out := []Hold{}
	for rows.Next() {
		var h Hold
		var placed int64
		var liftedBy sql.NullString
		var lifted sql.NullInt64
		if err := rows.Scan(&h.ID, &h.Subject, &h.Reason, &h.PlacedBy, &placed, &liftedBy, &lifted); err != nil {
			return nil, fmt.Errorf("retention: read holds: %w", err)
		}
		h.PlacedAt = time.UnixMicro(placed).UTC()
		if lifted.Valid {
			at := time.UnixMicro(lifted.Int64).UTC()
			h.LiftedBy, h.LiftedAt = liftedBy.String, &at
		}
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("retention: read holds: %w", err)
	}
	return out, nil
}

// newID returns prefix and 96 random bits, base64url.
func newID(prefix string) string {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("retention: no randomness: " + err.Error()) // crypto/rand does not fail on supported platforms
	}
	return prefix + base64.RawURLEncoding.EncodeToString(b[:])
}
