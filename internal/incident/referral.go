package incident

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/errs"
)

// FilingKind is the outside body a filing went to.
type FilingKind string

// The kinds of filing.
const (
	// FilingRegulator is the report to the supervisory authority (GDPR
	// Art. 33): when and how it was sent, and the authority's reference.
	FilingRegulator FilingKind = "regulator"
	// FilingLawEnforcement is a referral to the police or a prosecutor:
	// the agency, its reference, the date, the officer's note and the
	// window of the audit log handed over as evidence.
	FilingLawEnforcement FilingKind = "law_enforcement"
)

// Filing is what an officer records of a report or a referral.
type Filing struct {
	ID         string     `json:"id"`
	IncidentID string     `json:"incident_id"`
	Kind       FilingKind `json:"kind"`
	// Agency is the authority or agency ("BfDI", "LKA Berlin").
	Agency    string `json:"agency"`
	Reference string `json:"reference,omitempty"`
	// Channel is how a report was sent (the authority's online form,
	// email, post).
	Channel string    `json:"channel,omitempty"`
	FiledAt time.Time `json:"filed_at"`
	Note    string    `json:"note,omitempty"`
	// EvidenceFrom and EvidenceTo are the window of the audit log given
	// to the agency, as the bundle `steward audit export` writes.
	EvidenceFrom *time.Time `json:"evidence_from,omitempty"`
	EvidenceTo   *time.Time `json:"evidence_to,omitempty"`
	RecordedBy   string     `json:"recorded_by"`
	RecordedAt   time.Time  `json:"recorded_at"`
}

// Limits of a filing's lines.
const maxFilingLine = 200

// EvidenceCommand is the command that writes the signed bundle of the
// audit log for the filing's window, or "" without one.
func (f Filing) EvidenceCommand() string {
	if f.EvidenceFrom == nil || f.EvidenceTo == nil {
		return ""
	}
	return fmt.Sprintf("steward audit export --from %s --to %s --out %s-evidence.bundle",
		f.EvidenceFrom.UTC().Format(time.RFC3339), f.EvidenceTo.UTC().Format(time.RFC3339), f.IncidentID)
}

func (f *Filing) check(now time.Time) error {
	problems := map[string]string{}
	f.Agency, f.Reference, f.Channel, f.Note = strings.TrimSpace(f.Agency), strings.TrimSpace(f.Reference), strings.TrimSpace(f.Channel), strings.TrimSpace(f.Note)
	switch f.Kind {
	case FilingRegulator, FilingLawEnforcement:
	default:
		problems["kind"] = "must be regulator or law_enforcement"
	}
	text(problems, "agency", f.Agency, maxFilingLine, true, true)
	text(problems, "reference", f.Reference, maxFilingLine, false, true)
	text(problems, "channel", f.Channel, maxFilingLine, f.Kind == FilingRegulator, true)
	text(problems, "note", f.Note, MaxNote, false, false)
	switch {
	case f.FiledAt.IsZero():
		problems["filed_at"] = "is required"
	case f.FiledAt.After(now.Add(time.Minute)):
		problems["filed_at"] = "must not be in the future"
	}
	if (f.EvidenceFrom == nil) != (f.EvidenceTo == nil) || (f.EvidenceFrom != nil && !f.EvidenceFrom.Before(*f.EvidenceTo)) {
		problems["evidence_to"] = "give both ends of the evidence window, from before to"
	}
	if f.Kind == FilingRegulator && f.EvidenceFrom != nil {
		problems["evidence_from"] = "an evidence window goes with a referral to law enforcement"
	}
	return invalid("invalid filing", problems)
}

// RecordFiling records a report to the supervisory authority or a referral
// to law enforcement on incident id, with a line on the timeline, audited
// (incident.filed, naming its kind and id). The first report to the
// authority also sets when the authority was told.
func (s *Service) RecordFiling(ctx context.Context, id string, f Filing) (Filing, error) {
	now := s.clock()
	if err := f.check(now); err != nil {
		return Filing{}, err
	}
	f.ID, f.IncidentID, f.RecordedBy, f.RecordedAt = newID("fil_"), id, audit.ActorFrom(ctx).String(), now
	f.FiledAt, f.EvidenceFrom, f.EvidenceTo = f.FiledAt.UTC().Truncate(time.Microsecond), utcPtr(f.EvidenceFrom), utcPtr(f.EvidenceTo)
	err := s.change(ctx, id, ActionFiled, func(ctx context.Context, tx *sql.Tx, cur *Incident) (map[string]any, error) {
		if cur.Status == Draft {
			return nil, errs.New(errs.CodeConflict, "confirm the incident before recording what was filed")
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO incident_filings (id, incident_id, kind, agency, reference, channel, filed_at, note,
			evidence_from, evidence_to, recorded_by, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
			f.ID, id, string(f.Kind), f.Agency, f.Reference, f.Channel, f.FiledAt.UnixMicro(), f.Note, db.OptMicros(f.EvidenceFrom),
			db.OptMicros(f.EvidenceTo), f.RecordedBy, f.RecordedAt.UnixMicro()); err != nil {
			return nil, fmt.Errorf("incident: filing: %w", err)
		}
		if f.Kind == FilingRegulator && cur.AuthorityNotifiedAt == nil {
			cur.AuthorityNotifiedAt = &f.FiledAt
		}
		note := fmt.Sprintf("%s: %s", f.Kind, f.Agency)
		if f.Reference != "" {
			note += " (" + f.Reference + ")"
		}
		return map[string]any{"filing": f.ID, "kind": string(f.Kind)}, s.addAction(ctx, tx, id, ActFiled, note)
	})
	return f, err
}

// Filings returns incident id's filings, oldest first.
func (s *Service) Filings(ctx context.Context, id string) ([]Filing, error) {
	if _, err := s.Get(ctx, id); err != nil {
		return nil, err
	}
	out, err := db.QueryAll(ctx, s.db, `SELECT id, incident_id, kind, agency, reference, channel, filed_at, note, evidence_from, evidence_to,
		recorded_by, recorded_at FROM incident_filings WHERE incident_id = $1 ORDER BY filed_at, id`, []any{id},
		func(scan func(...any) error) (Filing, error) {
			var f Filing
			var kind string
			var filed, recorded int64
			var from, to sql.NullInt64
			err := scan(&f.ID, &f.IncidentID, &kind, &f.Agency, &f.Reference, &f.Channel, &filed, &f.Note, &from, &to, &f.RecordedBy, &recorded)
			f.Kind, f.FiledAt, f.RecordedAt = FilingKind(kind), time.UnixMicro(filed).UTC(), time.UnixMicro(recorded).UTC()
			f.EvidenceFrom, f.EvidenceTo = db.OptTime(from), db.OptTime(to)
			return f, err
		})
	if err != nil {
		return nil, db.Classify(fmt.Errorf("incident: filings: %w", err))
	}
	return out, nil
}
