package incident

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/notify"
	"github.com/steward-dev/steward/internal/staff"
)

// ActionReminder is a reminder RemindOwners sent.
type ActionReminder struct {
	IncidentID string
	ActionID   string
	// To is the owner's staff account id, or "" when the owner's account is
	// gone or disabled and the security officers were told instead.
	To string
}

// RemindOwners emails the owner of every open follow-up action whose due
// day has passed, once per action, in the owner's language; an owner whose
// account is disabled no longer reads mail, so the security officers are
// told instead. The action is claimed in the store before the mail goes and
// released if it fails, so a run retried after a failure sends it then.
// Each reminder is on the timeline and in the audit log
// (incident.review_remind). Without mail it sends nothing and claims
// nothing.
func (s *Service) RemindOwners(ctx context.Context) ([]ActionReminder, error) {
	if !s.MailOn() {
		return nil, nil
	}
	ctx = audit.WithActor(ctx, audit.System())
	now := s.now().UTC()
	// Due on a day, overdue once that day has ended.
	overdue, err := db.QueryAll(ctx, s.db, `SELECT `+actionColumns+` FROM incident_review_actions
		WHERE state = $1 AND reminded_at IS NULL AND due_at <= $2 ORDER BY due_at, id`,
		[]any{ActionStateOpen, now.AddDate(0, 0, -1).UnixMicro()}, scanReviewAction)
	if err != nil {
		return nil, db.Classify(fmt.Errorf("incident: overdue actions: %w", err))
	}
	if len(overdue) == 0 {
		return nil, nil
	}
	accounts, err := s.cfg.Staff.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("incident: owners: %w", err)
	}
	byID := map[string]staff.Account{}
	for _, a := range accounts {
		byID[a.ID] = a
	}
	var sent []ActionReminder
	for _, a := range overdue {
		claimed, err := s.claimAction(ctx, a.ID, now)
		if err != nil {
			return sent, err
		}
		if !claimed {
			continue
		}
		alert := notify.IncidentAlert{Brand: s.cfg.Brand, Event: notify.IncidentActionOverdue, IncidentID: a.IncidentID, Deadline: a.Due,
			ConsoleURL: s.cfg.ConsoleURL + "/admin"}
		owner, ok := byID[a.Owner]
		to := a.Owner
		if ok && !owner.Disabled {
			err = s.tell(ctx, owner, alert)
		} else {
			to = ""
			alert.ConsoleURL = s.consoleURL(a.IncidentID)
			err = s.tellOfficers(ctx, alert)
		}
		if err != nil {
			return sent, errors.Join(err, s.releaseAction(ctx, a.ID))
		}
		entry := audit.Entry{Actor: audit.System(), Action: ActionReviewRemind, Target: Target(a.IncidentID),
			Details: audit.MustDetails(map[string]any{"action": a.ID, "owner_told": to != ""})}
		if _, err := s.audit.Do(ctx, entry, func(ctx context.Context, tx *sql.Tx) error {
			return s.addAction(ctx, tx, a.IncidentID, ActActionReminded, a.ID)
		}); err != nil {
			return sent, db.Classify(err)
		}
		sent = append(sent, ActionReminder{IncidentID: a.IncidentID, ActionID: a.ID, To: to})
	}
	return sent, nil
}

// tell sends alert to one staff member, in their language.
func (s *Service) tell(ctx context.Context, to staff.Account, alert notify.IncidentAlert) error {
	lang := to.Language
	if lang == "" {
		lang = notify.DefaultLanguage
	}
	msg, err := s.cfg.Mail.Render(lang, notify.TemplateIncidentAlert, alert)
	if err != nil {
		return fmt.Errorf("incident: render reminder: %w", err)
	}
	msg.To = to.Email
	if err := s.cfg.Sender.Send(ctx, msg); err != nil {
		return fmt.Errorf("incident: send reminder: %w", err)
	}
	return nil
}

func (s *Service) claimAction(ctx context.Context, id string, now time.Time) (bool, error) {
	res, err := s.db.ExecContext(ctx, `UPDATE incident_review_actions SET reminded_at = $2 WHERE id = $1 AND reminded_at IS NULL AND state = $3`,
		id, now.UnixMicro(), ActionStateOpen)
	if err != nil {
		return false, db.Classify(fmt.Errorf("incident: claim action reminder: %w", err))
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func (s *Service) releaseAction(ctx context.Context, id string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE incident_review_actions SET reminded_at = NULL WHERE id = $1`, id)
	return db.Classify(err)
}
