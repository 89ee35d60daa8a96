// Package dsrmail emails customers where their data subject request
// stands: received, a question waits for them, completed, rejected, or the
// copy of their data is ready. Messages are in the request's language
// (dsr.Request.Language), link to the request in the privacy center, and
// hold no personal data: not the question or reason staff typed, not the
// customer's details.
//
// A message is a background job written in the transaction of the change
// (Enqueue, called from dsr.Config.OnChange), so that it is sent if and
// only if the change commits. The job's arguments are the request id, its
// version and the event: no address. The address is opened (dsr.Service
// .Contact, which records the opening in the audit log) only when the job
// runs, and is not kept. A request whose address can no longer be opened is
// not written to.
//
//	m := &dsrmail.Mailer{Requests: requests, Sender: mailer, Mail: templates, Brand: brand, PortalURL: "https://shop.example"}
//	jobs.Register(workers, m.Worker())
//	OnChange: func(ctx context.Context, tx *sql.Tx, r dsr.Request, e dsr.Event) error {
//		return dsrmail.Enqueue(ctx, tx, r, e, func(ctx context.Context, tx *sql.Tx, a dsrmail.Args) error {
//			_, err := runner.InsertTx(ctx, tx, a, &jobs.InsertOpts{Unique: true})
//			return err
//		})
//	}
package dsrmail

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/dsr"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/jobs"
	"github.com/steward-dev/steward/internal/notify"
)

// Args is the job that sends one message: ids only.
type Args struct {
	RequestID string `json:"request_id" river:"unique"`
	Version   int64  `json:"version" river:"unique"`
	Event     string `json:"event" river:"unique"`
}

// Kind names the job.
func (Args) Kind() string { return "dsr.notify" }

// EventOf returns the message a change of a request sends the customer,
// or "" for a change they are not written about.
func EventOf(r dsr.Request, e dsr.Event) string {
	switch {
	case e.Action == "file":
		return notify.UpdateReceived
	case e.Action == "ask_customer":
		return notify.UpdateQuestion
	case e.To == dsr.StateCompleted && e.From != dsr.StateCompleted:
		// Only access and export leave an archive to download: an
		// erasure's or a rectification's result is its report, and the
		// customer is told the work is done (in a correction's own words).
		if r.ResultRef != "" && (r.Kind == dsr.KindAccess || r.Kind == dsr.KindExport) {
			return notify.UpdateExportReady
		}
		return notify.UpdateCompleted
	case e.To == dsr.StateRejected && e.From != dsr.StateRejected:
		return notify.UpdateRejected
	}
	return ""
}

// Enqueue writes the message a change sends, if any, with insert, in the
// change's transaction.
func Enqueue(ctx context.Context, tx *sql.Tx, r dsr.Request, e dsr.Event, insert func(ctx context.Context, tx *sql.Tx, a Args) error) error {
	event := EventOf(r, e)
	if event == "" || insert == nil {
		return nil
	}
	return insert(ctx, tx, Args{RequestID: r.ID, Version: e.Version, Event: event})
}

// Mailer sends the messages.
type Mailer struct {
	Requests *dsr.Service
	Sender   notify.Sender
	Mail     *notify.Templates
	Brand    notify.Brand
	// PortalURL is where customers reach Steward ("https://shop.example");
	// links go to /privacy/requests/{id}.
	PortalURL string
}

// mailType is how the email templates name a kind of request.
var mailType = map[dsr.Kind]string{dsr.KindAccess: "access", dsr.KindExport: "export", dsr.KindRectification: "rectify",
	dsr.KindErasure: "erase", dsr.KindRestriction: "restrict", dsr.KindObjection: "object"}

// Link returns the portal page of a request, in a language.
func Link(base, id, lang string) string {
	return base + "/privacy/requests/" + url.PathEscape(id) + "?" + url.Values{"lang": {lang}}.Encode()
}

// Send sends the message of a. A request that no longer exists, or whose
// address cannot be opened, is not written to (nil). Errors worth retrying
// (the mail server is down) are returned as they are; others end the job.
func (m *Mailer) Send(ctx context.Context, a Args) error {
	ctx = audit.WithActor(ctx, audit.System())
	r, err := m.Requests.Get(ctx, a.RequestID)
	if errs.Is(err, errs.CodeNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	lang := notify.MatchLanguage(r.Language)
	msg, err := m.Mail.Render(lang, notify.TemplateRequestUpdate, notify.RequestUpdate{Brand: m.Brand, Event: a.Event,
		RequestID: r.ID, Type: mailType[r.Kind], ReceivedAt: r.ReceivedAt, Deadline: r.Deadline(),
		PortalURL: Link(m.PortalURL, r.ID, lang)})
	if err != nil {
		return jobs.Permanent(fmt.Errorf("request %s notice: %w", r.ID, err))
	}
	to, err := m.Requests.Contact(ctx, r.ID)
	if err != nil {
		return fmt.Errorf("request %s notice: %w", r.ID, err)
	}
	if to == "" {
		return nil
	}
	msg.To = to
	if err := m.Sender.Send(ctx, msg); err != nil {
		if notify.IsTemporary(err) {
			return fmt.Errorf("request %s notice: %w", r.ID, err)
		}
		return jobs.Permanent(fmt.Errorf("request %s notice: %w", r.ID, err))
	}
	return nil
}

// Worker is the job's worker.
func (m *Mailer) Worker() jobs.Worker[Args] {
	return jobs.WorkFunc(func(ctx context.Context, job *jobs.Job[Args]) error { return m.Send(ctx, job.Args) })
}
