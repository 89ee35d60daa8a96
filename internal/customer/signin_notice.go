package customer

import (
	"context"
	"crypto/hmac"
	"time"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/notify"
	"github.com/steward-dev/steward/internal/vault"
)

// SignInNotice tells a customer, at their previous address, that the
// address they sign in to the portal with is being changed or deleted.
type SignInNotice struct {
	Vault *vault.Vault
	Audit audit.Recorder
	// Sender is nil without email: there is no portal sign-in, so nothing
	// to tell.
	Sender       notify.Sender
	Mail         *notify.Templates
	Brand        notify.Brand
	ContactEmail string
	PublicURL    string
}

// Before is called before the vault's "email" field of subject becomes
// address ("": deleted): whoever holds the new one can sign in as them,
// and a deletion followed by a new address is the same change in two
// steps. It refuses the write by failing (the message was not sent). The
// message is in the language of the subject's vault field "language" (a
// tag such as "de") when there is one, else English; it holds neither
// address.
func (n *SignInNotice) Before(ctx context.Context, subject, address string) error {
	if n.Sender == nil {
		return nil
	}
	previous, err := n.Vault.Get(ctx, subject, "email")
	if errs.CodeOf(err) == errs.CodeNotFound {
		return nil // the first address, or an erased subject
	}
	if err != nil {
		return err
	}
	if address != "" { // "": the address is being deleted, which is a change too
		before, err := n.Vault.BlindIndex(ctx, "email", string(previous.Value))
		if err != nil {
			return err
		}
		after, err := n.Vault.BlindIndex(ctx, "email", address)
		if err != nil {
			return err
		}
		if hmac.Equal(before, after) {
			return nil
		}
	}
	lang := notify.DefaultLanguage
	if rec, err := n.Vault.Get(ctx, subject, "language"); err == nil {
		lang = string(rec.Value)
	}
	msg, err := n.Mail.Render(lang, notify.TemplateSignInAddressChanged, notify.SignInAddressChanged{
		Brand: n.Brand, ChangedAt: time.Now(), ContactEmail: n.ContactEmail, PortalURL: n.PublicURL + "/privacy"})
	if err != nil {
		return err
	}
	// The address leaves the process in the message: recorded first.
	if _, err := n.Audit.Append(ctx, audit.Entry{Actor: audit.System(), Action: "customer.notify", Target: audit.Subject(subject),
		Details: audit.MustDetails(map[string]any{"fields": []string{"email"}, "notice": notify.TemplateSignInAddressChanged})}); err != nil {
		return err
	}
	msg.To = string(previous.Value)
	if err := n.Sender.Send(ctx, msg); err != nil {
		// Even a refused recipient is no fault of the caller's input: the
		// change waits until the previous address can be told.
		return errs.Wrap(errs.CodeUnavailable, err, "the previous sign-in address could not be told of the change")
	}
	return nil
}
