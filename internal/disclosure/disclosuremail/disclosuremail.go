// Package disclosuremail emails customers the disclosures that wait for
// their answer. It is apart from disclosure so that the decision does not
// import the mail templates.
package disclosuremail

import (
	"context"
	"log/slog"
	"strings"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/disclosure"
	"github.com/steward-dev/steward/internal/notify"
	"github.com/steward-dev/steward/internal/vault"
)

// Notifier emails the customer a disclosure that waits for their answer.
type Notifier struct {
	Consent *consent.Service
	Vault   *vault.Vault
	Audit   audit.Recorder
	// Sender is nil without email: the portal still shows the request.
	Sender    notify.Sender
	Mail      *notify.Templates
	Brand     notify.Brand
	PublicURL string
	Log       *slog.Logger
}

// Notify emails the customer d when it is pending. Their address is read
// from the vault (its "email" field), which is recorded; without an
// address or email, the portal still shows it. Failures are logged, not
// returned: the disclosure stands.
func (n *Notifier) Notify(ctx context.Context, d disclosure.Disclosure) {
	if d.State != disclosure.Pending || n.Sender == nil {
		return
	}
	if _, err := n.Audit.Append(ctx, audit.Entry{Actor: audit.System(), Action: "disclosure.notify", Target: audit.Subject(d.Subject),
		Details: audit.MustDetails(map[string]any{"disclosure": d.ID, "fields": []string{"email"}})}); err != nil {
		n.Log.Error("disclosure: notify", "disclosure", d.ID, "err", err)
		return
	}
	rec, err := n.Vault.Get(ctx, d.Subject, "email")
	if err != nil {
		return // no address on file: the portal shows the request
	}
	vendorName, purposeName := d.Vendor, d.Purpose
	if v, err := n.Consent.Vendor(d.Vendor); err == nil {
		vendorName = v.Name
	}
	if p, err := n.Consent.Purpose(d.Purpose); err == nil && p.Names["en"] != "" {
		purposeName = p.Names["en"]
	}
	msg, err := n.Mail.Render(notify.DefaultLanguage, notify.TemplateDisclosureRequest, notify.DisclosureRequest{
		Brand: n.Brand, Vendor: vendorName, Purpose: purposeName, Categories: strings.Join(d.Categories, ", "), Reason: d.Reason,
		AnswerBy: d.NeededBy, PortalURL: n.PublicURL + "/privacy"})
	if err == nil {
		msg.To = string(rec.Value)
		err = n.Sender.Send(ctx, msg)
	}
	if err != nil {
		n.Log.Warn("disclosure: the customer could not be emailed", "disclosure", d.ID, "err", err)
	}
}
