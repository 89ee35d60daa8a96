package review

import (
	"context"
	"fmt"
	"time"

	"github.com/steward-dev/steward/internal/notify"
	"github.com/steward-dev/steward/internal/staff"
)

// Mail returns a Config.Remind that emails the administrator, in the
// language they chose for the console (English when they follow their
// browser), with a link to the access reviews; nil without a sender.
func Mail(sender notify.Sender, mail *notify.Templates, brand notify.Brand, consoleURL string) func(ctx context.Context, to staff.Account, r Reminder) error {
	if sender == nil || mail == nil {
		return nil
	}
	return func(ctx context.Context, to staff.Account, r Reminder) error {
		lang := to.Language
		if lang == "" {
			lang = notify.DefaultLanguage
		}
		// Due by the quarter's last day: its end is the next one's first
		// instant.
		msg, err := mail.Render(lang, notify.TemplateAccessReviewReminder, notify.AccessReviewReminder{Brand: brand, Quarter: r.Quarter,
			Due: r.DueBy.Add(-time.Second), Overdue: r.Mark == MarkOverdue, ConsoleURL: consoleURL + "/admin/access-reviews"})
		if err != nil {
			return fmt.Errorf("render access review reminder: %w", err)
		}
		msg.To = to.Email
		return sender.Send(ctx, msg)
	}
}
