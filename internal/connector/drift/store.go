package drift

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/errs"
)

// State is where a finding stands.
type State string

// The states of a finding.
const (
	// Open waits for an officer: declare or dismiss.
	Open State = "open"
	// Declared: an officer chose a category; it closes when the dataset
	// file declares the column, the file being the source of truth.
	Declared State = "declared"
	// Dismissed: not personal data, as an officer said why; it stays so.
	Dismissed State = "dismissed"
	// Closed: the file declares the column, or the column is gone.
	Closed State = "closed"
)

// Why a finding closed.
const (
	ClosedDeclaredInFile = "declared_in_file"
	ClosedColumnGone     = "column_gone"
)

// MaxNote bounds an officer's note (a dismissal's reason).
const MaxNote = 1000

// Finding is an undeclared column that looks like personal data, and what
// became of it. It never holds a value of the column.
type Finding struct {
	ID       string
	System   string
	Table    string
	Column   string
	Category string // suggested
	Evidence Evidence
	// Permille is the share of sampled values of the recognised kind, in
	// thousandths (evidence values only).
	Permille  int
	State     State
	FirstSeen time.Time
	LastSeen  time.Time
	// DecidedBy and DecidedAt are the officer's, for declared and
	// dismissed findings; DeclaredCategory is the category they chose.
	DecidedBy        string
	DecidedAt        *time.Time
	DeclaredCategory string
	Note             string
	ClosedAt         *time.Time
	ClosedReason     string
}

// Recorded counts what recording a scan changed.
type Recorded struct {
	New    int // new or reopened findings, each announced
	Open   int // findings of the system still open
	Closed int // findings that closed
}

const findingColumns = `id, system_name, table_name, column_name, category, evidence, match_permille, state,
	first_seen, last_seen, decided_by, decided_at, declared_category, note, closed_at, closed_reason`

// Record applies a scan of one system in one transaction: new candidates
// become open findings (a closed one reopens), each announced with
// inventory.drift in the same transaction; seen ones are touched;
// dismissed ones stay dismissed; open and declared findings close when the
// file declares their column or the column is gone.
func (s *Service) Record(ctx context.Context, res Result) (Recorded, error) {
	var rec Recorded
	now := s.now().UTC()
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		existing, err := s.query(ctx, tx, `WHERE system_name = $1`+s.lock(), res.System)
		if err != nil {
			return err
		}
		byRef := map[ColumnRef]Finding{}
		for _, f := range existing {
			byRef[ColumnRef{f.Table, f.Column}] = f
		}
		for _, c := range res.Candidates {
			f, ok := byRef[ColumnRef{c.Table, c.Column}]
			permille := int(math.Round(c.Ratio * 1000))
			switch {
			case !ok:
				f = Finding{ID: newID("drf_"), System: res.System, Table: c.Table, Column: c.Column, Category: c.Category,
					Evidence: c.Evidence, Permille: permille, State: Open, FirstSeen: now, LastSeen: now}
				// Another scan of the same system may have recorded it
				// meanwhile: then that one announced it.
				r, err := tx.ExecContext(ctx, `INSERT INTO drift_findings (id, system_name, table_name, column_name, category,
					evidence, match_permille, state, first_seen, last_seen) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)
					ON CONFLICT (system_name, table_name, column_name) DO NOTHING`,
					f.ID, f.System, f.Table, f.Column, f.Category, string(f.Evidence), f.Permille, string(Open), now.UnixMicro())
				if err != nil {
					return fmt.Errorf("record finding: %w", err)
				}
				if n, err := r.RowsAffected(); err != nil || n == 0 {
					continue
				}
			case f.State == Closed:
				// The column came back undeclared: a new finding for the
				// officer, its earlier decision kept in the audit log.
				f.Category, f.Evidence, f.Permille, f.State = c.Category, c.Evidence, permille, Open
				if _, err := tx.ExecContext(ctx, `UPDATE drift_findings SET category = $1, evidence = $2, match_permille = $3,
					state = 'open', last_seen = $4, decided_by = '', decided_at = NULL, declared_category = '', note = '',
					closed_at = NULL, closed_reason = '' WHERE id = $5`,
					f.Category, string(f.Evidence), f.Permille, now.UnixMicro(), f.ID); err != nil {
					return fmt.Errorf("reopen finding: %w", err)
				}
			default:
				if _, err := tx.ExecContext(ctx, `UPDATE drift_findings SET last_seen = $1 WHERE id = $2`, now.UnixMicro(), f.ID); err != nil {
					return fmt.Errorf("touch finding: %w", err)
				}
				continue
			}
			rec.New++
			if err := s.announce(ctx, tx, f, now); err != nil {
				return err
			}
		}
		for ref, f := range byRef {
			if f.State != Open && f.State != Declared {
				continue
			}
			reason := ""
			switch {
			case !res.Live[ref]:
				reason = ClosedColumnGone
			case res.Declared[ref]:
				reason = ClosedDeclaredInFile
			}
			if reason == "" {
				continue
			}
			if _, err := tx.ExecContext(ctx, `UPDATE drift_findings SET state = 'closed', closed_at = $1, closed_reason = $2
				WHERE id = $3`, now.UnixMicro(), reason, f.ID); err != nil {
				return fmt.Errorf("close finding: %w", err)
			}
			rec.Closed++
		}
		return tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM drift_findings WHERE system_name = $1 AND state = 'open'`,
			res.System).Scan(&rec.Open)
	})
	if err != nil {
		return Recorded{}, fmt.Errorf("drift: record scan of %s: %w", res.System, err)
	}
	return rec, nil
}

// OpenFindings lists the findings waiting for an officer, by system,
// table and column.
func (s *Service) OpenFindings(ctx context.Context) ([]Finding, error) {
	return s.list(ctx, `WHERE state = 'open' ORDER BY system_name, table_name, column_name`)
}

// History lists the decided and closed findings, the latest first, at
// most limit.
func (s *Service) History(ctx context.Context, limit int) ([]Finding, error) {
	return s.list(ctx, `WHERE state <> 'open' ORDER BY COALESCE(closed_at, decided_at, last_seen) DESC, id LIMIT $1`, limit)
}

// Decided returns the officers' standing decisions on system's columns
// (declared and dismissed findings), for a check that runs outside the
// server, such as `steward connector check`, to honour them. It needs only
// the store: no audit log, catalog or connection to the system.
func Decided(ctx context.Context, d *db.DB, system string) (map[ColumnRef]Finding, error) {
	s := &Service{db: d}
	list, err := s.list(ctx, `WHERE system_name = $1 AND state IN ('declared', 'dismissed')`, system)
	if err != nil {
		return nil, err
	}
	out := make(map[ColumnRef]Finding, len(list))
	for _, f := range list {
		out[ColumnRef{f.Table, f.Column}] = f
	}
	return out, nil
}

// Get returns a finding.
func (s *Service) Get(ctx context.Context, id string) (Finding, error) {
	list, err := s.list(ctx, `WHERE id = $1`, id)
	if err != nil {
		return Finding{}, err
	}
	if len(list) == 0 {
		return Finding{}, notFound(id)
	}
	return list[0], nil
}

func (s *Service) list(ctx context.Context, where string, args ...any) ([]Finding, error) {
	var out []Finding
	err := s.db.ReadTx(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = s.query(ctx, tx, where, args...)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("drift: list findings: %w", err)
	}
	return out, nil
}

func (s *Service) query(ctx context.Context, tx *sql.Tx, where string, args ...any) ([]Finding, error) {
	rows, err := tx.QueryContext(ctx, `SELECT `+findingColumns+` FROM drift_findings `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Finding
	for rows.Next() {
		var f Finding
		var evidence, state string
		var first, last int64
		var decided, closed sql.NullInt64
		if err := rows.Scan(&f.ID, &f.System, &f.Table, &f.Column, &f.Category, &evidence, &f.Permille, &state,
			&first, &last, &f.DecidedBy, &decided, &f.DeclaredCategory, &f.Note, &closed, &f.ClosedReason); err != nil {
			return nil, err
		}
		f.Evidence, f.State = Evidence(evidence), State(state)
		f.FirstSeen, f.LastSeen = time.UnixMicro(first).UTC(), time.UnixMicro(last).UTC()
		f.DecidedAt, f.ClosedAt = optTime(decided), optTime(closed)
		out = append(out, f)
	}
	return out, rows.Err()
}

func optTime(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := time.UnixMicro(v.Int64).UTC()
	return &t
}

// Declare records that the column is personal data of category, as the
// officer says; the finding closes when the dataset file declares it
// (YAML says what to add). Only an open finding can be declared.
func (s *Service) Declare(ctx context.Context, actor audit.Actor, id, category, note string) (Finding, error) {
	category = strings.TrimSpace(category)
	known := false
	for _, c := range s.Categories() {
		known = known || c.Key == category
	}
	if !known {
		return Finding{}, errs.Invalid("category", "choose one of the data categories")
	}
	if f, err := s.Get(ctx, id); err == nil && f.Tracker() {
		return Finding{}, errs.Invalid("category", "a tracker is declared with a purpose and a vendor (DeclareTracker)")
	}
	return s.decide(ctx, actor, id, Declared, category, note, "drift.declare")
}

// Dismiss records that the column is not personal data, with the reason;
// later scans leave it dismissed. Only an open finding can be dismissed.
func (s *Service) Dismiss(ctx context.Context, actor audit.Actor, id, reason string) (Finding, error) {
	if strings.TrimSpace(reason) == "" {
		return Finding{}, errs.Invalid("note", "say why the column is not personal data")
	}
	return s.decide(ctx, actor, id, Dismissed, "", reason, "drift.dismiss")
}

func (s *Service) decide(ctx context.Context, actor audit.Actor, id string, to State, category, note, action string) (Finding, error) {
	note = strings.TrimSpace(note)
	if utf8.RuneCountInString(note) > MaxNote {
		return Finding{}, errs.Invalid("note", "at most %d characters", MaxNote)
	}
	now := s.now().UTC()
	var out Finding
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		list, err := s.query(ctx, tx, `WHERE id = $1`+s.lock(), id)
		if err != nil {
			return err
		}
		if len(list) == 0 {
			return notFound(id)
		}
		f := list[0]
		if f.State != Open {
			return errs.New(errs.CodeConflict, "the finding is %s already", f.State)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE drift_findings SET state = $1, decided_by = $2, decided_at = $3,
			declared_category = $4, note = $5 WHERE id = $6`, string(to), actor.String(), now.UnixMicro(), category, note, id); err != nil {
			return err
		}
		// The note is the officer's free text: it stays in the finding,
		// not in the audit log, which outlives every erasure.
		fields := map[string]any{"system": f.System, "table": f.Table, "column": f.Column, "suggested": f.Category}
		if category != "" {
			fields["category"] = category
		}
		details, err := audit.NewDetails(fields)
		if err != nil {
			return err
		}
		if _, err := s.audit.AppendTx(ctx, tx, audit.Entry{Actor: actor, Action: action,
			Target: audit.Target{Kind: "drift_finding", ID: id}, Details: details}); err != nil {
			return err
		}
		f.State, f.DecidedBy, f.DecidedAt, f.DeclaredCategory, f.Note = to, actor.String(), &now, category, note
		out = f
		return nil
	})
	if err != nil {
		if _, ok := errs.As(err); ok {
			return Finding{}, err
		}
		return Finding{}, fmt.Errorf("drift: %s: %w", action, err)
	}
	return out, nil
}

// lock locks the rows read, on PostgreSQL; SQLite's transactions write
// one at a time.
func (s *Service) lock() string {
	if s.db.Dialect == db.Postgres {
		return " FOR UPDATE"
	}
	return ""
}
