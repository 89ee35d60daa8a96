// Package trainingmail emails staff about their training programme: 14 and
// 3 days before an assigned module is due (its pass expires, or its first
// due date) and once it is overdue, each once, in the language the staff
// member chose for the console (English when they follow their browser).
//
//	reminders := &trainingmail.Reminders{Staff: accounts, Sender: mailer, Mail: templates, Brand: brand, ConsoleURL: publicURL}
//	periodic = append(periodic, reminders.PeriodicJobs()...)
package trainingmail

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"github.com/steward-dev/steward/internal/jobs"
	"github.com/steward-dev/steward/internal/notify"
	"github.com/steward-dev/steward/internal/staff"
)

// Programme is what the reminders read and record: staff.Service.
type Programme interface {
	DueReminders(ctx context.Context) ([]staff.Reminder, error)
	MarkReminded(ctx context.Context, r staff.Reminder) error
}

var _ Programme = (*staff.Service)(nil)

// Reminders sends the programme's reminders, every hour.
type Reminders struct {
	Staff Programme
	// Sender and Mail send reminders; a nil Sender skips them.
	Sender notify.Sender
	Mail   *notify.Templates
	Brand  notify.Brand
	// ConsoleURL is the console's base URL, for the link to the module.
	// The staff service's clock decides which reminders are due and counts
	// the days left.
	ConsoleURL string
}

// PeriodicJobs are the reminders' hourly run.
func (m *Reminders) PeriodicJobs() []jobs.Periodic {
	return []jobs.Periodic{{Name: "training.reminders", Interval: time.Hour, Run: m.Run}}
}

// Run sends the reminders that are due and records each once sent. A
// failed send stops the run; what was not recorded is sent by the next.
func (m *Reminders) Run(ctx context.Context) error {
	if m.Sender == nil || m.Staff == nil {
		return nil
	}
	due, err := m.Staff.DueReminders(ctx)
	if err != nil {
		return fmt.Errorf("training reminders: %w", err)
	}
	for _, r := range due {
		lang := r.Account.Language
		if lang == "" {
			lang = notify.DefaultLanguage
		}
		module := r.Module.Localized(lang)
		msg, err := m.Mail.Render(lang, notify.TemplateTrainingReminder, notify.TrainingReminder{Brand: m.Brand, Module: module.Title,
			Due: r.Due, DaysLeft: r.DaysLeft, ConsoleURL: m.ConsoleURL + "/admin/training/" + url.PathEscape(r.Module.Key)})
		if err != nil {
			return fmt.Errorf("training reminder: %w", err)
		}
		msg.To = r.Account.Email
		if err := m.Sender.Send(ctx, msg); err != nil {
			// The staff id only: the address is personal data.
			return fmt.Errorf("training reminder to %s: %w", r.Account.ID, err)
		}
		if err := m.Staff.MarkReminded(ctx, r); err != nil {
			return err
		}
	}
	return nil
}
