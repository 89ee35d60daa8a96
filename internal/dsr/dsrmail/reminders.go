package dsrmail

import (
	"context"
	"fmt"
	"time"

	"github.com/steward-dev/steward/internal/dsr"
	"github.com/steward-dev/steward/internal/jobs"
	"github.com/steward-dev/steward/internal/notify"
	"github.com/steward-dev/steward/internal/staff"
)

// Reminders email the privacy officers about requests whose deadline is
// near (dsr.Service.DueReminders), every hour.
type Reminders struct {
	Requests *dsr.Service
	// Sender and Mail send reminders; a nil Sender skips them.
	Sender notify.Sender
	Mail   *notify.Templates
	Brand  notify.Brand
	// ConsoleURL is the console's base URL, for links in reminders.
	ConsoleURL string
	// Staff gives the privacy officers' addresses.
	Staff interface {
		List(ctx context.Context) ([]staff.Account, error)
	}
	Now func() time.Time
}

// PeriodicJobs are the reminders' hourly run.
func (m *Reminders) PeriodicJobs() []jobs.Periodic {
	return []jobs.Periodic{{Name: "dsr.deadline_reminders", Interval: time.Hour, Run: m.Run}}
}

// Run sends the reminders that are due.
func (m *Reminders) Run(ctx context.Context) error {
	if m.Sender == nil || m.Staff == nil {
		return nil
	}
	now := time.Now
	if m.Now != nil {
		now = m.Now
	}
	due, err := m.Requests.DueReminders(ctx, now())
	if err != nil || len(due) == 0 {
		return err
	}
	officers, err := m.officers(ctx)
	if err != nil || len(officers) == 0 {
		return err
	}
	for _, q := range due {
		r := q.Request
		deadline := r.Deadline()
		days := int(deadline.Sub(now()).Hours() / 24)
		data := notify.RequestDeadline{Brand: m.Brand, RequestID: r.ID, Type: mailType[r.Kind], Deadline: deadline, DaysLeft: days,
			ConsoleURL: m.ConsoleURL + "/admin/requests/" + r.ID}
		rendered := map[string]notify.Message{} // by language
		for _, officer := range officers {
			// Each officer reads it in the language they chose for the
			// console, else in the default language.
			lang := officer.Language
			if lang == "" {
				lang = notify.DefaultLanguage
			}
			msg, ok := rendered[lang]
			if !ok {
				if msg, err = m.Mail.Render(lang, notify.TemplateRequestDeadline, data); err != nil {
					return fmt.Errorf("reminder: %w", err)
				}
				rendered[lang] = msg
			}
			msg.To = officer.Email
			if err := m.Sender.Send(ctx, msg); err != nil {
				return fmt.Errorf("reminder for %s: %w", r.ID, err)
			}
		}
		if err := m.Requests.MarkReminded(ctx, r.ID); err != nil {
			return err
		}
	}
	return nil
}

// officers returns the privacy officers whose accounts are enabled.
func (m *Reminders) officers(ctx context.Context) ([]staff.Account, error) {
	accounts, err := m.Staff.List(ctx)
	if err != nil {
		return nil, err
	}
	var out []staff.Account
	for _, acc := range accounts {
		if acc.Role == staff.RolePrivacyOfficer && !acc.Disabled {
			out = append(out, acc)
		}
	}
	return out, nil
}
