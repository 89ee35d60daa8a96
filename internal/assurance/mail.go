package assurance

import (
	"context"
	"time"

	"github.com/steward-dev/steward/internal/notify"
)

// QuestionnaireMail emails a vendor contact the link of a questionnaire.
type QuestionnaireMail struct {
	Catalog Catalog
	Sender  notify.Sender
	Mail    *notify.Templates
	Brand   notify.Brand
}

// Func returns the sender the console calls, or nil without email.
func (m *QuestionnaireMail) Func() func(ctx context.Context, to, vendorKey, link string, expires time.Time) error {
	if m.Sender == nil {
		return nil
	}
	return m.Send
}

// Send emails to the questionnaire's link, naming the vendor as the
// catalog does.
func (m *QuestionnaireMail) Send(ctx context.Context, to, vendorKey, link string, expires time.Time) error {
	name := vendorKey
	if v, err := m.Catalog.Vendor(vendorKey); err == nil {
		name = v.Name
	}
	msg, err := m.Mail.Render(notify.DefaultLanguage, notify.TemplateVendorQuestionnaire, notify.VendorQuestionnaire{
		Brand: m.Brand, Vendor: name, Link: link, Expires: expires})
	if err != nil {
		return err
	}
	msg.To = to
	return m.Sender.Send(ctx, msg)
}
