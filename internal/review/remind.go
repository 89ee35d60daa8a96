package review

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/jobs"
	"github.com/steward-dev/steward/internal/staff"
)

// RemindBefore is how long before a quarter ends its review is reminded,
// when it is not closed yet.
const RemindBefore = 30 * 24 * time.Hour

// ReminderInterval is how often the reminders are looked for.
const ReminderInterval = 6 * time.Hour

// The reminder marks: the quarter nears its end, or it ended unreviewed.
const (
	MarkDue     = "due"
	MarkOverdue = "overdue"
)

// Schedule is where the reviews stand at one moment: the console's
// "next review due" and the reminders both read it.
type Schedule struct {
	// Current is the quarter now; CurrentReview its review, nil when none
	// was opened.
	Current       Quarter
	CurrentReview *Review
	// Due is the quarter whose review comes next: the current one until it
	// is closed, then the next; DueBy is when that quarter ends.
	Due   Quarter
	DueBy time.Time
	// Overdue is the previous quarter when it ended without a closed review
	// while Steward had staff (a fresh install owes no review of the time
	// before it); nil otherwise.
	Overdue *Quarter
}

// Schedule returns where the reviews stand now.
func (s *Service) Schedule(ctx context.Context) (Schedule, error) {
	now := s.now().UTC()
	reviews, err := s.List(ctx)
	if err != nil {
		return Schedule{}, err
	}
	byQuarter := map[string]Review{}
	for _, r := range reviews {
		byQuarter[r.Quarter] = r
	}
	sc := Schedule{Current: QuarterOf(now)}
	if r, ok := byQuarter[sc.Current.String()]; ok {
		sc.CurrentReview = &r
	}
	sc.Due = sc.Current
	if sc.CurrentReview != nil && sc.CurrentReview.Closed() {
		sc.Due = sc.Current.Next()
	}
	sc.DueBy = sc.Due.End()
	prev := sc.Current.Prev()
	if r, ok := byQuarter[prev.String()]; !ok || !r.Closed() {
		accounts, err := s.staff.List(ctx)
		if err != nil {
			return Schedule{}, err
		}
		for _, a := range accounts {
			if a.CreatedAt.Before(prev.End()) {
				sc.Overdue = &prev
				break
			}
		}
	}
	return sc, nil
}

// Reminder is a reminder sent to one administrator.
type Reminder struct {
	Quarter string
	Mark    string    // MarkDue or MarkOverdue
	DueBy   time.Time // the end of the quarter
	To      string    // the administrator's staff id
}

// PeriodicJobs is the reminders' run, every ReminderInterval.
func (s *Service) PeriodicJobs() []jobs.Periodic {
	return []jobs.Periodic{{Name: "review.reminders", Interval: ReminderInterval, Run: func(ctx context.Context) error {
		_, err := s.Remind(ctx)
		return err
	}}}
}

// Remind tells every enabled administrator, once per quarter and mark, that
// a quarter's review is not closed: MarkDue within RemindBefore of the
// quarter's end, MarkOverdue once the previous quarter ended unreviewed.
// Each reminder is claimed in the store before it goes and released if it
// fails, so a retried run sends it then; each is an audit entry
// (access_review.remind). Without Config.Remind it sends nothing and
// claims nothing.
func (s *Service) Remind(ctx context.Context) ([]Reminder, error) {
	if s.remind == nil {
		return nil, nil
	}
	sc, err := s.Schedule(ctx)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	var due []Reminder
	if sc.Overdue != nil {
		due = append(due, Reminder{Quarter: sc.Overdue.String(), Mark: MarkOverdue, DueBy: sc.Overdue.End()})
	}
	if (sc.CurrentReview == nil || !sc.CurrentReview.Closed()) && sc.Current.End().Sub(now) <= RemindBefore {
		due = append(due, Reminder{Quarter: sc.Current.String(), Mark: MarkDue, DueBy: sc.Current.End()})
	}
	if len(due) == 0 {
		return nil, nil
	}
	accounts, err := s.staff.List(ctx)
	if err != nil {
		return nil, err
	}
	var sent []Reminder
	for _, r := range due {
		for _, a := range accounts {
			if a.Disabled || a.Role != staff.RoleAdmin {
				continue
			}
			r.To = a.ID
			claimed, err := s.claim(ctx, r, now)
			if err != nil {
				return sent, err
			}
			if !claimed {
				continue
			}
			if err := s.remind(ctx, a, r); err != nil {
				return sent, errors.Join(fmt.Errorf("review: remind %s: %w", a.ID, err), s.release(ctx, r))
			}
			if _, err := s.audit.Append(ctx, audit.Entry{Actor: audit.System(), Action: ActionRemind,
				Target:  audit.Target{Kind: audit.KindStaff, ID: a.ID},
				Details: audit.MustDetails(map[string]any{"quarter": r.Quarter, "mark": r.Mark})}); err != nil {
				return sent, err
			}
			sent = append(sent, r)
		}
	}
	return sent, nil
}

func (s *Service) claim(ctx context.Context, r Reminder, now time.Time) (bool, error) {
	res, err := s.db.ExecContext(ctx, `INSERT INTO access_review_reminders (quarter, mark, staff_id, sent_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (quarter, mark, staff_id) DO NOTHING`, r.Quarter, r.Mark, r.To, now.UnixMicro())
	if err != nil {
		return false, db.Classify(fmt.Errorf("review: claim reminder: %w", err))
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func (s *Service) release(ctx context.Context, r Reminder) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM access_review_reminders WHERE quarter = $1 AND mark = $2 AND staff_id = $3`, r.Quarter, r.Mark, r.To)
	return db.Classify(err)
}
