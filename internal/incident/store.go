package incident

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/errs"
)

// Create records an incident an officer opens, by the actor in ctx
// (audit.WithActor), audited (incident.open) in the same transaction. Title
// and kind are required; awareness defaults to now and detection to
// awareness.
func (s *Service) Create(ctx context.Context, in Input) (Incident, error) {
	now := s.clock()
	problems := in.check(now)
	if in.Title == nil {
		problems["title"] = "is required"
	}
	if in.Kind == nil || *in.Kind == "" {
		problems["kind"] = "must be confidentiality, integrity or availability"
	}
	if err := invalid("invalid incident", problems); err != nil {
		return Incident{}, err
	}
	inc := Incident{ID: newID("inc_"), Status: Open, Systems: []string{}, Categories: []string{}, RiskReasons: []string{},
		ReportedBy: audit.ActorFrom(ctx).String(), CreatedAt: now, UpdatedAt: now}
	in.apply(&inc)
	if inc.AwareAt == nil {
		inc.AwareAt = &now
	}
	if inc.DetectedAt == nil {
		inc.DetectedAt = inc.AwareAt
	}
	return inc, s.insert(ctx, inc, ActionOpen, ActCreated)
}

// Report opens a draft for a suspected incident, by any staff member (the
// actor in ctx), audited (incident.report). The security officers confirm
// or dismiss it; ReportAndTell also emails them.
func (s *Service) Report(ctx context.Context, title, description string) (Incident, error) {
	now := s.clock()
	in := Input{Title: &title, Description: &description}
	if err := invalid("invalid report", in.check(now)); err != nil {
		return Incident{}, err
	}
	inc := Incident{ID: newID("inc_"), Status: Draft, Systems: []string{}, Categories: []string{}, RiskReasons: []string{},
		ReportedBy: audit.ActorFrom(ctx).String(), CreatedAt: now, UpdatedAt: now}
	in.apply(&inc)
	return inc, s.insert(ctx, inc, ActionReport, ActReported)
}

func (s *Service) insert(ctx context.Context, inc Incident, action, act string) error {
	entry := audit.Entry{Actor: audit.ActorFrom(ctx), Action: action, Target: Target(inc.ID),
		Details: audit.MustDetails(map[string]any{"status": string(inc.Status), "kind": string(inc.Kind)})}
	_, err := s.audit.Do(ctx, entry, func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO incidents (id, title, description, kind, status, detected_at, aware_at, cause,
			systems, categories, risk, risk_reasons, delay_reason, reported_by, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
			inc.ID, inc.Title, inc.Description, string(inc.Kind), string(inc.Status), db.OptMicros(inc.DetectedAt), db.OptMicros(inc.AwareAt), inc.Cause,
			mustJSON(inc.Systems), mustJSON(inc.Categories), string(inc.Risk), mustJSON(inc.RiskReasons), inc.DelayReason,
			inc.ReportedBy, inc.CreatedAt.UnixMicro(), inc.UpdatedAt.UnixMicro()); err != nil {
			return fmt.Errorf("incident: insert: %w", err)
		}
		return s.addAction(ctx, tx, inc.ID, act, "")
	})
	return db.Classify(err)
}

// Update changes the fields of in that are set, audited (incident.update,
// naming the fields, not their text). A closed incident does not change.
func (s *Service) Update(ctx context.Context, id string, in Input) (Incident, error) {
	if err := invalid("invalid incident", in.check(s.clock())); err != nil {
		return Incident{}, err
	}
	var inc Incident
	var changed []string
	err := s.change(ctx, id, ActionUpdate, func(ctx context.Context, tx *sql.Tx, cur *Incident) (map[string]any, error) {
		if cur.Status == Closed {
			return nil, errs.New(errs.CodeConflict, "the incident is closed: it no longer changes")
		}
		changed = in.apply(cur)
		if cur.DetectedAt != nil && cur.AwareAt != nil && cur.AwareAt.Before(*cur.DetectedAt) {
			return nil, errs.Invalid("aware_at", "must not be before detected_at: awareness follows detection")
		}
		if cur.Kind == "" && cur.Status != Draft {
			return nil, errs.Invalid("kind", "must be confidentiality, integrity or availability")
		}
		inc = *cur
		return map[string]any{"fields": changed}, s.addAction(ctx, tx, id, ActUpdated, strings.Join(changed, ", "))
	})
	return inc, err
}

// Move changes an incident's status along the allowed moves (Status.Next),
// with an optional note on the timeline, audited (incident.status).
func (s *Service) Move(ctx context.Context, id string, to Status, note string) (Incident, error) {
	if problems := map[string]string{}; true {
		text(problems, "note", note, MaxNote, false, false)
		if err := invalid("invalid status change", problems); err != nil {
			return Incident{}, err
		}
	}
	var inc Incident
	err := s.change(ctx, id, ActionStatus, func(ctx context.Context, tx *sql.Tx, cur *Incident) (map[string]any, error) {
		if !slices.Contains(moves[cur.Status], to) {
			return nil, &errs.Error{Code: errs.CodeConflict, Message: fmt.Sprintf("an incident %s cannot become %s", cur.Status, to),
				Fields: map[string]string{"status": fmt.Sprintf("from %s: one of %v", cur.Status, moves[cur.Status])}}
		}
		if problems := cur.readyFor(to); len(problems) > 0 {
			return nil, &errs.Error{Code: errs.CodeConflict, Message: "the incident is not ready for " + string(to), Fields: problems}
		}
		if to == Closed {
			// A confirmed incident is closed after its review (review.go).
			problems, err := readyToClose(ctx, tx, *cur)
			if err != nil {
				return nil, err
			}
			if len(problems) > 0 {
				return nil, errs.FieldsKeyed(problems).WithCode(errs.CodeConflict)
			}
		}
		from := cur.Status
		cur.Status = to
		inc = *cur
		return map[string]any{"from": string(from), "to": string(to)}, s.addAction(ctx, tx, id, ActStatus, statusNote(from, to, note))
	})
	return inc, err
}

func statusNote(from, to Status, note string) string {
	line := string(from) + " → " + string(to)
	if note = strings.TrimSpace(note); note != "" {
		line += ": " + note
	}
	return line
}

// Notification is what a caller that told the authority and the
// individuals records (the later part of breach response: the regulator's
// report and the customers' notices).
type Notification struct {
	// AuthorityAt is when the supervisory authority was told; nil when the
	// risk is none.
	AuthorityAt *time.Time
	// IndividualsAt is when the individuals were told (required at high
	// risk).
	IndividualsAt *time.Time
	Note          string
}

// MarkNotified records that the parties were told and moves the incident
// from assessed or contained to notified, audited (incident.status). It is
// the only way to the status notified.
func (s *Service) MarkNotified(ctx context.Context, id string, n Notification) (Incident, error) {
	var inc Incident
	err := s.change(ctx, id, ActionStatus, func(ctx context.Context, tx *sql.Tx, cur *Incident) (map[string]any, error) {
		if cur.Status != Assessed && cur.Status != Contained {
			return nil, errs.New(errs.CodeConflict, "an incident %s cannot become notified: assess it first", cur.Status)
		}
		problems := map[string]string{}
		if n.AuthorityAt == nil && cur.Risk != NoRisk {
			problems["authority_at"] = "say when the supervisory authority was told"
		}
		if n.IndividualsAt == nil && cur.Risk == HighRisk {
			problems["individuals_at"] = "at high risk the individuals are told too (GDPR Art. 34)"
		}
		if len(problems) > 0 {
			return nil, &errs.Error{Code: errs.CodeInvalid, Message: "the notification is incomplete", Fields: problems}
		}
		from := cur.Status
		cur.Status, cur.AuthorityNotifiedAt, cur.IndividualsNotifiedAt = Notified, utcPtr(n.AuthorityAt), utcPtr(n.IndividualsAt)
		inc = *cur
		if err := s.addAction(ctx, tx, id, ActNotified, strings.TrimSpace(n.Note)); err != nil {
			return nil, err
		}
		return map[string]any{"from": string(from), "to": string(Notified)}, nil
	})
	return inc, err
}

// AddNote adds an action to an incident's timeline, audited (incident.note;
// the note is on the timeline, not in the log).
func (s *Service) AddNote(ctx context.Context, id, note string) (Action, error) {
	problems := map[string]string{}
	text(problems, "note", note, MaxNote, true, false)
	if err := invalid("invalid note", problems); err != nil {
		return Action{}, err
	}
	var a Action
	err := s.change(ctx, id, ActionNote, func(ctx context.Context, tx *sql.Tx, cur *Incident) (map[string]any, error) {
		a = Action{ID: newID("act_"), At: s.clock(), Actor: audit.ActorFrom(ctx).String(), Kind: ActNote, Note: strings.TrimSpace(note)}
		return nil, insertAction(ctx, tx, id, a)
	})
	return a, err
}

// change reads incident id in a transaction, lets edit change it, writes it
// back and records action in the audit log, all in one transaction.
func (s *Service) change(ctx context.Context, id, action string, edit func(ctx context.Context, tx *sql.Tx, cur *Incident) (map[string]any, error)) error {
	var details map[string]any
	entry := audit.Entry{Actor: audit.ActorFrom(ctx), Action: action, Target: Target(id)}
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		cur, err := get(ctx, tx, id)
		if err != nil {
			return err
		}
		if details, err = edit(ctx, tx, &cur); err != nil {
			return err
		}
		cur.UpdatedAt = s.clock()
		if _, err := tx.ExecContext(ctx, `UPDATE incidents SET title = $2, description = $3, kind = $4, status = $5, detected_at = $6,
			aware_at = $7, cause = $8, systems = $9, categories = $10, risk = $11, risk_reasons = $12, delay_reason = $13,
			authority_notified_at = $14, individuals_notified_at = $15, updated_at = $16 WHERE id = $1`,
			cur.ID, cur.Title, cur.Description, string(cur.Kind), string(cur.Status), db.OptMicros(cur.DetectedAt), db.OptMicros(cur.AwareAt),
			cur.Cause, mustJSON(cur.Systems), mustJSON(cur.Categories), string(cur.Risk), mustJSON(cur.RiskReasons), cur.DelayReason,
			db.OptMicros(cur.AuthorityNotifiedAt), db.OptMicros(cur.IndividualsNotifiedAt), cur.UpdatedAt.UnixMicro()); err != nil {
			return fmt.Errorf("incident: update: %w", err)
		}
		if details != nil {
			if entry.Details, err = audit.NewDetails(details); err != nil {
				return err
			}
		}
		_, err = s.audit.AppendTx(ctx, tx, entry)
		return err
	})
	return db.Classify(err)
}

func (s *Service) addAction(ctx context.Context, tx *sql.Tx, id, kind, note string) error {
	return insertAction(ctx, tx, id, Action{ID: newID("act_"), At: s.clock(), Actor: audit.ActorFrom(ctx).String(), Kind: kind, Note: note})
}

func insertAction(ctx context.Context, tx *sql.Tx, id string, a Action) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO incident_actions (id, incident_id, seq, at, actor, kind, note)
		SELECT $1, $2, COALESCE(MAX(seq), 0) + 1, $3, $4, $5, $6 FROM incident_actions WHERE incident_id = $2`,
		a.ID, id, a.At.UnixMicro(), a.Actor, a.Kind, a.Note); err != nil {
		return fmt.Errorf("incident: timeline: %w", err)
	}
	return nil
}

// Get returns incident id.
func (s *Service) Get(ctx context.Context, id string) (Incident, error) {
	inc, err := get(ctx, s.db, id)
	return inc, db.Classify(err)
}

// List returns the incidents, newest first; a status narrows them.
func (s *Service) List(ctx context.Context, status Status) ([]Incident, error) {
	query, args := `SELECT `+incidentColumns+` FROM incidents`, []any{}
	if status != "" {
		if !slices.Contains(Statuses, status) {
			return nil, errs.Invalid("status", "must be one of %v", Statuses)
		}
		query, args = query+` WHERE status = $1`, append(args, string(status))
	}
	out, err := db.QueryAll(ctx, s.db, query+` ORDER BY created_at DESC, id`, args, scanIncident)
	if err != nil {
		return nil, db.Classify(fmt.Errorf("incident: list: %w", err))
	}
	return out, nil
}

// Timeline returns incident id's actions, oldest first.
func (s *Service) Timeline(ctx context.Context, id string) ([]Action, error) {
	if _, err := s.Get(ctx, id); err != nil {
		return nil, err
	}
	out, err := db.QueryAll(ctx, s.db, `SELECT id, at, actor, kind, note FROM incident_actions WHERE incident_id = $1 ORDER BY seq`,
		[]any{id}, func(scan func(...any) error) (Action, error) {
			var a Action
			var at int64
			err := scan(&a.ID, &at, &a.Actor, &a.Kind, &a.Note)
			a.At = time.UnixMicro(at).UTC()
			return a, err
		})
	if err != nil {
		return nil, db.Classify(fmt.Errorf("incident: timeline: %w", err))
	}
	return out, nil
}

const incidentColumns = `id, title, description, kind, status, detected_at, aware_at, cause, systems, categories, risk, risk_reasons,
	delay_reason, authority_notified_at, individuals_notified_at, reported_by, created_at, updated_at`

func get(ctx context.Context, q db.Querier, id string) (Incident, error) {
	inc, err := scanIncident(q.QueryRowContext(ctx, `SELECT `+incidentColumns+` FROM incidents WHERE id = $1`, id).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return Incident{}, errs.NotFound("incident", id)
	}
	if err != nil {
		return Incident{}, fmt.Errorf("incident: read: %w", err)
	}
	return inc, nil
}

func scanIncident(scan func(...any) error) (Incident, error) {
	var inc Incident
	var kind, status, risk, systems, categories, reasons string
	var detected, aware, authority, individuals sql.NullInt64
	var created, updated int64
	if err := scan(&inc.ID, &inc.Title, &inc.Description, &kind, &status, &detected, &aware, &inc.Cause, &systems, &categories,
		&risk, &reasons, &inc.DelayReason, &authority, &individuals, &inc.ReportedBy, &created, &updated); err != nil {
		return Incident{}, err
	}
	inc.Kind, inc.Status, inc.Risk = Kind(kind), Status(status), Risk(risk)
	inc.DetectedAt, inc.AwareAt = db.OptTime(detected), db.OptTime(aware)
	inc.AuthorityNotifiedAt, inc.IndividualsNotifiedAt = db.OptTime(authority), db.OptTime(individuals)
	inc.CreatedAt, inc.UpdatedAt = time.UnixMicro(created).UTC(), time.UnixMicro(updated).UTC()
	for _, list := range []struct {
		raw  string
		into *[]string
	}{{systems, &inc.Systems}, {categories, &inc.Categories}, {reasons, &inc.RiskReasons}} {
		if err := json.Unmarshal([]byte(list.raw), list.into); err != nil {
			return Incident{}, fmt.Errorf("incident %s: stored list: %w", inc.ID, err)
		}
	}
	return inc, nil
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC().Truncate(time.Microsecond)
	return &u
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic("incident: marshal: " + err.Error()) // only lists and maps of strings and numbers are marshalled
	}
	return string(b)
}
