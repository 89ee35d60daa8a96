package incident

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/jobs"
	"github.com/steward-dev/steward/internal/notify"
)

// ReminderInterval is how often the deadline reminders are looked for.
const ReminderInterval = 10 * time.Minute

// PeriodicJobs are the deadline reminders and the reminders of overdue
// review actions, every ReminderInterval.
func (s *Service) PeriodicJobs() []jobs.Periodic {
	return []jobs.Periodic{{Name: "incident.deadline_reminders", Interval: ReminderInterval, Run: func(ctx context.Context) error {
		_, err := s.Remind(ctx)
		return err
	}}, {Name: "incident.review_action_reminders", Interval: ReminderInterval, Run: func(ctx context.Context) error {
		_, err := s.RemindOwners(ctx) // review_remind.go
		return err
	}}}
}

// The reminder marks: hours before a deadline, and its passing.
const (
	Mark24h     = "24h"
	Mark12h     = "12h"
	Mark2h      = "2h"
	MarkOverdue = "overdue"
)

// markAt returns the mark a deadline due at due has reached at now, and
// the hours it stands for; "" before 24 hours are left.
func markAt(due, now time.Time) (string, int) {
	left := due.Sub(now)
	switch {
	case left <= 0:
		return MarkOverdue, 0
	case left <= 2*time.Hour:
		return Mark2h, 2
	case left <= 12*time.Hour:
		return Mark12h, 12
	case left <= 24*time.Hour:
		return Mark24h, 24
	}
	return "", 0
}

// Reminder is a reminder Remind sent.
type Reminder struct {
	IncidentID string
	Clock      string
	Mark       string
}

// Remind emails the security officers of every deadline of an incident
// still running that reached a mark (24, 12 or 2 hours left, or passed),
// once per incident, clock and mark: the mark is claimed in the store
// before the mail goes and released if it fails, so a run retried after a
// failure sends it then. A mark skipped (the job did not run, or the
// incident was recorded late) is not sent afterwards: only the latest
// counts. Each reminder is on the timeline and in the audit log
// (incident.remind). Without mail it sends nothing and claims nothing.
func (s *Service) Remind(ctx context.Context) ([]Reminder, error) {
	if !s.MailOn() {
		return nil, nil
	}
	ctx = audit.WithActor(ctx, audit.System())
	now := s.now()
	var sent []Reminder
	for _, status := range []Status{Open, Assessed, Contained} {
		incidents, err := s.List(ctx, status)
		if err != nil {
			return sent, err
		}
		for _, inc := range incidents {
			latest, err := s.LatestSet(ctx, inc.ID)
			if err != nil && !isNotFound(err) {
				return sent, err
			}
			for _, c := range ClocksOf(inc, latest, s.cfg.Statutes, now) {
				if c.Due == nil || (c.State != ClockDueSoon && c.State != ClockOverdue) {
					continue
				}
				mark, hours := markAt(*c.Due, now)
				if mark == "" {
					continue
				}
				claimed, err := s.claim(ctx, inc.ID, c.Key, mark, now)
				if err != nil {
					return sent, err
				}
				if !claimed {
					continue
				}
				event := notify.IncidentDeadline
				if mark == MarkOverdue {
					event = notify.IncidentOverdue
				}
				alert := notify.IncidentAlert{Brand: s.cfg.Brand, Event: event, IncidentID: inc.ID, Party: c.Party, Citation: c.Citation,
					Deadline: *c.Due, HoursLeft: hours, ConsoleURL: s.consoleURL(inc.ID)}
				if err := s.tellOfficers(ctx, alert); err != nil {
					return sent, errors.Join(err, s.release(ctx, inc.ID, c.Key, mark))
				}
				if err := s.recordReminder(ctx, inc.ID, c.Key, mark); err != nil {
					return sent, err
				}
				sent = append(sent, Reminder{IncidentID: inc.ID, Clock: c.Key, Mark: mark})
			}
		}
	}
	return sent, nil
}

func isNotFound(err error) bool { return errs.Is(err, errs.CodeNotFound) }

// claim records that mark of clock is being sent; false when it was.
func (s *Service) claim(ctx context.Context, id, clock, mark string, now time.Time) (bool, error) {
	res, err := s.db.ExecContext(ctx, `INSERT INTO incident_reminders (incident_id, clock, mark, sent_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (incident_id, clock, mark) DO NOTHING`, id, clock, mark, now.UnixMicro())
	if err != nil {
		return false, db.Classify(fmt.Errorf("incident: claim reminder: %w", err))
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func (s *Service) release(ctx context.Context, id, clock, mark string) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM incident_reminders WHERE incident_id = $1 AND clock = $2 AND mark = $3`, id, clock, mark)
	return db.Classify(err)
}

func (s *Service) recordReminder(ctx context.Context, id, clock, mark string) error {
	entry := audit.Entry{Actor: audit.System(), Action: ActionRemind, Target: Target(id),
		Details: audit.MustDetails(map[string]any{"clock": clock, "mark": mark})}
	_, err := s.audit.Do(ctx, entry, func(ctx context.Context, tx *sql.Tx) error {
		return s.addAction(ctx, tx, id, ActReminder, clock+": "+mark)
	})
	return db.Classify(err)
}
