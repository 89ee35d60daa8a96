package staff

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/errs"
)

// AllRoles stands for every role in an assignment of the built-in files
// and the console's form; it is stored as one assignment per role.
const AllRoles Role = "*"

// Assignment says that staff of Role must pass Module within DueDays of
// joining (or of the assignment, for those who joined before it), and
// again whenever their pass expires.
type Assignment struct {
	Role      Role      `json:"role"`
	Module    string    `json:"module"`
	DueDays   int       `json:"due_days"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// The states of a person's standing with an assigned module.
const (
	// StandingDone: passed, valid for more than ExpiringWithin.
	StandingDone = "done"
	// StandingExpiring: passed, the pass expires within ExpiringWithin.
	StandingExpiring = "expiring"
	// StandingDue: not passed yet, the due date is ahead.
	StandingDue = "due"
	// StandingOverdue: not passed by the due date, or the pass expired.
	StandingOverdue = "overdue"
)

// StandingStates lists the states in the order the report counts them.
var StandingStates = []string{StandingDone, StandingExpiring, StandingDue, StandingOverdue}

// ExpiringWithin is how close to its expiry a pass counts as expiring.
const ExpiringWithin = 30 * 24 * time.Hour

// Standing is where one person stands with one module assigned to their
// role. Due is when it must be (re)done: the pass's expiry, or the due
// date of a module not passed yet.
type Standing struct {
	Account Account     `json:"account"`
	Module  Module      `json:"module"` // without its content and quiz
	State   string      `json:"state"`
	Due     time.Time   `json:"due"`
	Last    *Completion `json:"last_pass,omitempty"`
}

// PutAssignment assigns a module to a role (AllRoles: to every role) with
// the days allowed to pass it; an existing assignment takes the new days.
// Audited as the context's actor (training.assignment_put).
func (s *Service) PutAssignment(ctx context.Context, role Role, moduleKey string, dueDays int) error {
	problems := map[string]string{}
	if role != AllRoles && !role.Valid() {
		problems["role"] = "must be a role, or * for every role"
	}
	if dueDays < 1 || dueDays > 1100 {
		problems["due_days"] = "must be from 1 to 1100 days"
	}
	if len(problems) > 0 {
		return errs.Fields(problems)
	}
	if _, err := s.Module(ctx, moduleKey); err != nil {
		return err
	}
	roles := []Role{role}
	if role == AllRoles {
		roles = slices.Clone(Roles)
	}
	now := s.now().UnixMicro()
	entry := audit.Entry{Actor: audit.ActorFrom(ctx), Action: "training.assignment_put", Target: audit.Target{Kind: "training_module", ID: moduleKey},
		Details: audit.MustDetails(map[string]any{"role": string(role), "due_days": dueDays})}
	_, err := s.audit.Do(ctx, entry, func(ctx context.Context, tx *sql.Tx) error {
		for _, r := range roles {
			if _, err := tx.ExecContext(ctx, `INSERT INTO training_assignments (role, module_key, due_days, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)
				ON CONFLICT (role, module_key) DO UPDATE SET due_days = excluded.due_days, updated_at = excluded.updated_at`, string(r), moduleKey, dueDays, now); err != nil {
				return fmt.Errorf("store assignment: %w", err)
			}
		}
		return nil
	})
	return db.Classify(err)
}

// DeleteAssignment takes a module off a role's programme, audited as the
// context's actor (training.assignment_delete).
func (s *Service) DeleteAssignment(ctx context.Context, role Role, moduleKey string) error {
	entry := audit.Entry{Actor: audit.ActorFrom(ctx), Action: "training.assignment_delete", Target: audit.Target{Kind: "training_module", ID: moduleKey},
		Details: audit.MustDetails(map[string]any{"role": string(role)})}
	_, err := s.audit.Do(ctx, entry, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM training_assignments WHERE role = $1 AND module_key = $2`, string(role), moduleKey)
		if err != nil {
			return fmt.Errorf("delete assignment: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errs.NotFound("assignment", string(role)+"/"+moduleKey)
		}
		return nil
	})
	return db.Classify(err)
}

// Assignments lists every assignment by module, then role.
func (s *Service) Assignments(ctx context.Context) ([]Assignment, error) {
	out, err := db.QueryAll(ctx, s.db, `SELECT role, module_key, due_days, created_at, updated_at FROM training_assignments ORDER BY module_key, role`, nil,
		func(scan func(...any) error) (Assignment, error) {
			var a Assignment
			var created, updated int64
			err := scan(&a.Role, &a.Module, &a.DueDays, &created, &updated)
			a.CreatedAt, a.UpdatedAt = time.UnixMicro(created).UTC(), time.UnixMicro(updated).UTC()
			return a, err
		})
	if err != nil {
		return nil, db.Classify(fmt.Errorf("list assignments: %w", err))
	}
	return out, nil
}

// Programme returns the standing of every enabled staff member with every
// module assigned to their role, at the service's clock: by name, then
// module title.
func (s *Service) Programme(ctx context.Context) ([]Standing, error) {
	accounts, err := s.List(ctx)
	if err != nil {
		return nil, err
	}
	return s.standings(ctx, accounts)
}

// StandingOf returns one staff member's standing with their assigned
// modules.
func (s *Service) StandingOf(ctx context.Context, a Account) ([]Standing, error) {
	return s.standings(ctx, []Account{a})
}

func (s *Service) standings(ctx context.Context, accounts []Account) ([]Standing, error) {
	modules, err := s.Modules(ctx)
	if err != nil {
		return nil, err
	}
	byKey := map[string]Module{}
	for _, m := range modules {
		m.Quiz, m.Content = nil, "" // the translations stay, for the titles
		byKey[m.Key] = m
	}
	assignments, err := s.Assignments(ctx)
	if err != nil {
		return nil, err
	}
	byRole := map[Role][]Assignment{}
	for _, a := range assignments {
		byRole[a.Role] = append(byRole[a.Role], a)
	}
	last, err := s.lastPasses(ctx)
	if err != nil {
		return nil, err
	}
	now := s.now()
	var out []Standing
	for _, acc := range accounts {
		if acc.Disabled {
			continue
		}
		for _, a := range byRole[acc.Role] {
			st := Standing{Account: acc, Module: byKey[a.Module], Last: last[acc.ID+"\x00"+a.Module]}
			switch {
			case st.Last != nil:
				st.Due = st.Last.ExpiresAt
				st.State = StandingOverdue
				if now.Before(st.Due) {
					st.State = StandingDone
					if st.Due.Sub(now) <= ExpiringWithin {
						st.State = StandingExpiring
					}
				}
			default:
				from := acc.CreatedAt
				if a.CreatedAt.After(from) {
					from = a.CreatedAt
				}
				st.Due = from.AddDate(0, 0, a.DueDays)
				st.State = StandingOverdue
				if now.Before(st.Due) {
					st.State = StandingDue
				}
			}
			out = append(out, st)
		}
	}
	slices.SortStableFunc(out, func(a, b Standing) int {
		if c := strings.Compare(a.Account.Name, b.Account.Name); c != 0 {
			return c
		}
		if c := strings.Compare(a.Account.ID, b.Account.ID); c != 0 {
			return c
		}
		return strings.Compare(a.Module.Title, b.Module.Title)
	})
	return out, nil
}

// lastPasses returns each person's latest pass of each module, by
// staff id + "\x00" + module key.
func (s *Service) lastPasses(ctx context.Context) (map[string]*Completion, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT staff_id, module_key, score, completed_at, expires_at FROM training_completions
		WHERE passed = `+s.db.Bool(true)+` ORDER BY completed_at`)
	if err != nil {
		return nil, db.Classify(fmt.Errorf("read training: %w", err))
	}
	defer rows.Close()
	out := map[string]*Completion{}
	for rows.Next() {
		c := &Completion{Passed: true}
		var staffID string
		var completed, expires int64
		if err := rows.Scan(&staffID, &c.Module, &c.Score, &completed, &expires); err != nil {
			return nil, fmt.Errorf("read training: %w", err)
		}
		c.CompletedAt, c.ExpiresAt = time.UnixMicro(completed).UTC(), time.UnixMicro(expires).UTC()
		out[staffID+"\x00"+c.Module] = c
	}
	return out, db.Classify(rows.Err())
}

// ModuleCounts is how many people stand where with one module.
type ModuleCounts struct {
	Module                       Module
	Done, Expiring, Due, Overdue int
}

// Count tallies standings per module, in the order modules first appear
// by title.
func Count(standings []Standing) []ModuleCounts {
	index := map[string]int{}
	var out []ModuleCounts
	for _, st := range standings {
		i, ok := index[st.Module.Key]
		if !ok {
			i = len(out)
			index[st.Module.Key] = i
			out = append(out, ModuleCounts{Module: st.Module})
		}
		switch st.State {
		case StandingDone:
			out[i].Done++
		case StandingExpiring:
			out[i].Expiring++
		case StandingDue:
			out[i].Due++
		case StandingOverdue:
			out[i].Overdue++
		}
	}
	slices.SortStableFunc(out, func(a, b ModuleCounts) int { return strings.Compare(a.Module.Title, b.Module.Title) })
	return out
}

// The reminders of the programme.
const (
	// Reminder14Days is sent 14 days or less before a module is due (its
	// pass expires, or its first due date).
	Reminder14Days = "expiry_14"
	// Reminder3Days is sent 3 days or less before.
	Reminder3Days = "expiry_3"
	// ReminderOverdue is sent once the module is overdue.
	ReminderOverdue = "overdue"
)

// Reminder is an email due to one person about one module.
type Reminder struct {
	Standing
	Kind string
	// DaysLeft is whole days until Due: negative once overdue.
	DaysLeft int
}

// DueReminders returns the reminders due at the service's clock that were
// not sent yet: for each person and module the most urgent of 14 days
// before, 3 days before and overdue, each once per due date (a renewed
// pass earns new ones). The jobs that send them call MarkReminded after
// each.
func (s *Service) DueReminders(ctx context.Context) ([]Reminder, error) {
	programme, err := s.Programme(ctx)
	if err != nil {
		return nil, err
	}
	sent := map[string]bool{}
	rows, err := s.db.QueryContext(ctx, `SELECT staff_id, module_key, kind, anchor FROM training_reminders`)
	if err != nil {
		return nil, db.Classify(fmt.Errorf("read reminders: %w", err))
	}
	defer rows.Close()
	for rows.Next() {
		var staffID, module, kind string
		var anchor int64
		if err := rows.Scan(&staffID, &module, &kind, &anchor); err != nil {
			return nil, fmt.Errorf("read reminders: %w", err)
		}
		sent[fmt.Sprint(staffID, "\x00", module, "\x00", kind, "\x00", anchor)] = true
	}
	if err := rows.Err(); err != nil {
		return nil, db.Classify(err)
	}
	now := s.now()
	var out []Reminder
	for _, st := range programme {
		left := st.Due.Sub(now)
		r := Reminder{Standing: st, DaysLeft: int(left.Hours() / 24)}
		switch {
		case left <= 0:
			r.Kind = ReminderOverdue
			r.DaysLeft = -int((-left).Hours() / 24)
		case left <= 3*24*time.Hour:
			r.Kind = Reminder3Days
		case left <= 14*24*time.Hour:
			r.Kind = Reminder14Days
		default:
			continue
		}
		if !sent[fmt.Sprint(st.Account.ID, "\x00", st.Module.Key, "\x00", r.Kind, "\x00", st.Due.UnixMicro())] {
			out = append(out, r)
		}
	}
	return out, nil
}

// MarkReminded records that a reminder was sent, so that it is not sent
// again. It is bookkeeping, not a change of anyone's training: no audit
// entry.
func (s *Service) MarkReminded(ctx context.Context, r Reminder) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO training_reminders (staff_id, module_key, kind, anchor, sent_at) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (staff_id, module_key, kind, anchor) DO NOTHING`, r.Account.ID, r.Module.Key, r.Kind, r.Due.UnixMicro(), s.now().UnixMicro())
	return db.Classify(err)
}
