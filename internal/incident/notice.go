package incident

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/i18n"
	"github.com/steward-dev/steward/internal/jobs"
	"github.com/steward-dev/steward/internal/notify"
	"github.com/steward-dev/steward/internal/outbox"
	"github.com/steward-dev/steward/internal/receipt"
	"github.com/steward-dev/steward/internal/vault"
)

// The audit actions of telling the parties (registered in internal/audit).
const (
	ActionNoticeText    = "incident.notice_text"
	ActionNoticesQueued = "incident.notices_queued"
	ActionNoticesSent   = "incident.notices_sent"
	ActionFiled         = "incident.filed"
	ActionVendorTold    = "incident.vendor_notified"
	// actionCustomerNotify is written before a customer's address leaves
	// the process in a notice's email.
	actionCustomerNotify = "customer.notify"
)

// The timeline actions of telling the parties.
const (
	ActNoticeText    = "notice_text"
	ActNoticesQueued = "notices_queued"
	ActFiled         = "filed"
	ActVendors       = "vendors_notified"
)

// Inserter inserts jobs in a transaction of the store's (jobs.Runner,
// jobs.Deferred).
type Inserter interface {
	InsertTx(ctx context.Context, tx *sql.Tx, args jobs.Args, opts *jobs.InsertOpts) (jobs.Inserted, error)
}

// Fields reads a customer's vault fields (vault.Vault): "email", where
// the notice's email goes, and "language", the language the portal knows
// them by.
type Fields interface {
	Get(ctx context.Context, subject, name string) (vault.Record, error)
}

// VendorCatalog lists the vendors and processors (consent.Service).
type VendorCatalog interface {
	Vendors() []consent.Vendor
}

// Contact is whom the regulator's report names: the privacy officer or
// the company's privacy contact.
type Contact struct {
	Name    string `json:"name"`
	Email   string `json:"email"`
	Phone   string `json:"phone,omitempty"`
	Address string `json:"address,omitempty"`
}

// Notices are the parts that tell the parties of a breach. Sending the
// customers' notices needs Signer, Jobs, Profiles and the Config's mail;
// telling vendors needs Vendors and Outbox (VendorContacts adds emails).
type Notices struct {
	// Signer signs each customer's notice under the key of the consent
	// receipts, published in the same JWKS.
	Signer   *receipt.Signer
	Jobs     Inserter
	Profiles Fields
	// PortalURL is the public base URL; the email sends the customer to
	// PortalURL + "/privacy".
	PortalURL string
	// Officer is the contact the regulator's report names.
	Officer Contact
	Vendors VendorCatalog
	// VendorContacts returns the addresses of a vendor's contacts
	// (assurance.Service.RevealContacts, audited there).
	VendorContacts func(ctx context.Context, vendorKey string) ([]string, error)
	Outbox         outbox.Emitter
	// BatchSize is how many notices one job sends (500 when 0);
	// MaxAttempts how often one notice's email is tried before it counts
	// as failed (5 when 0).
	BatchSize   int
	MaxAttempts int
}

// NoticesOn reports whether customers' notices can be sent.
func (s *Service) NoticesOn() bool {
	n := s.cfg.Notices
	return n.Signer != nil && n.Jobs != nil && n.Profiles != nil && s.cfg.Sender != nil && s.cfg.Mail != nil
}

// The parts of a notice, in the order a customer reads them.
var noticeParts = []string{"happened", "meaning", "done", "can_do", "contact"}

// NoticeText is what the officer writes to the customers in one language:
// what happened, what it means for them, what the company did, what they
// can do, whom to contact.
type NoticeText struct {
	Language  string    `json:"language"`
	Happened  string    `json:"happened"`
	Meaning   string    `json:"meaning"`
	Done      string    `json:"done"`
	CanDo     string    `json:"can_do"`
	Contact   string    `json:"contact"`
	WrittenBy string    `json:"written_by,omitempty"`
	WrittenAt time.Time `json:"written_at,omitzero"`
}

func (t NoticeText) parts() []string {
	return []string{t.Happened, t.Meaning, t.Done, t.CanDo, t.Contact}
}

// MaxNoticePart is the length of one part of a notice, in characters.
const MaxNoticePart = 4000

func (t *NoticeText) check() error {
	problems := map[string]string{}
	if !slices.Contains(i18n.Default().Languages(), t.Language) {
		problems["language"] = fmt.Sprintf("must be one of %v", i18n.Default().Languages())
	}
	for i, p := range []*string{&t.Happened, &t.Meaning, &t.Done, &t.CanDo, &t.Contact} {
		*p = strings.TrimSpace(*p)
		text(problems, noticeParts[i], *p, MaxNoticePart, true, false)
	}
	return invalid("invalid notice text", problems)
}

// SetNoticeText writes (or rewrites) the customers' notice of incident id
// in one language, audited (incident.notice_text, naming the language).
// Notices already signed keep the text they were signed with.
func (s *Service) SetNoticeText(ctx context.Context, id string, t NoticeText) (NoticeText, error) {
	if err := t.check(); err != nil {
		return NoticeText{}, err
	}
	t.WrittenBy, t.WrittenAt = audit.ActorFrom(ctx).String(), s.clock()
	err := s.change(ctx, id, ActionNoticeText, func(ctx context.Context, tx *sql.Tx, cur *Incident) (map[string]any, error) {
		if cur.Status == Draft || cur.Status == Closed {
			return nil, errs.New(errs.CodeConflict, "an incident %s has no notice", cur.Status)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO incident_notice_texts (incident_id, language, happened, meaning, done, can_do, contact,
			written_by, written_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
			ON CONFLICT (incident_id, language) DO UPDATE SET happened = excluded.happened, meaning = excluded.meaning, done = excluded.done,
			can_do = excluded.can_do, contact = excluded.contact, written_by = excluded.written_by, written_at = excluded.written_at`,
			id, t.Language, t.Happened, t.Meaning, t.Done, t.CanDo, t.Contact, t.WrittenBy, t.WrittenAt.UnixMicro()); err != nil {
			return nil, fmt.Errorf("incident: notice text: %w", err)
		}
		return map[string]any{"language": t.Language}, s.addAction(ctx, tx, id, ActNoticeText, t.Language)
	})
	return t, err
}

// NoticeTexts returns incident id's notice texts, in the catalog's order
// of languages (English first).
func (s *Service) NoticeTexts(ctx context.Context, id string) ([]NoticeText, error) {
	return noticeTexts(ctx, s.db, id)
}

func noticeTexts(ctx context.Context, q db.Querier, id string) ([]NoticeText, error) {
	out, err := db.QueryAll(ctx, q, `SELECT language, happened, meaning, done, can_do, contact, written_by, written_at
		FROM incident_notice_texts WHERE incident_id = $1`, []any{id}, func(scan func(...any) error) (NoticeText, error) {
		var t NoticeText
		var at int64
		err := scan(&t.Language, &t.Happened, &t.Meaning, &t.Done, &t.CanDo, &t.Contact, &t.WrittenBy, &at)
		t.WrittenAt = time.UnixMicro(at).UTC()
		return t, err
	})
	if err != nil {
		return nil, db.Classify(fmt.Errorf("incident: notice texts: %w", err))
	}
	langs := i18n.Default().Languages()
	slices.SortFunc(out, func(a, b NoticeText) int { return slices.Index(langs, a.Language) - slices.Index(langs, b.Language) })
	return out, nil
}

// textFor picks the text a customer of language lang reads: theirs when
// the officer wrote one, else the first written (English first). ok is
// false when none was.
func textFor(texts []NoticeText, lang string) (NoticeText, bool) {
	for _, t := range texts {
		if t.Language == lang {
			return t, true
		}
	}
	if len(texts) == 0 {
		return NoticeText{}, false
	}
	return texts[0], true
}

// Notice statuses.
const (
	NoticeQueued  = "queued"
	NoticeSending = "sending"
	NoticeSent    = "sent"
	NoticeFailed  = "failed"
)

// Why a notice failed.
const (
	FailNoAddress   = "no_address"
	FailInterrupted = "interrupted"
	// FailRejected: the mail server refused the address for good (5xx).
	FailRejected = "rejected"
	// FailUndelivered: every attempt failed for a passing reason (the
	// server unreachable, a 4xx answer) until MaxAttempts.
	FailUndelivered = "undelivered"
)

// NoticeArgs is the job that sends one batch of an incident's notices.
type NoticeArgs struct {
	IncidentID string `json:"incident_id" river:"unique"`
	Batch      int    `json:"batch" river:"unique"`
}

// Kind is the job's kind.
func (NoticeArgs) Kind() string { return "incident.notices" }

// Queued tells what QueueNotices did.
type Queued struct {
	// Notices are the notices queued now: the latest set's members not
	// yet queued for the incident.
	Notices int    `json:"notices"`
	Jobs    int    `json:"jobs"`
	SetID   string `json:"set_id"`
}

func (s *Service) batchSize() int {
	if s.cfg.Notices.BatchSize > 0 {
		return s.cfg.Notices.BatchSize
	}
	return 500
}

func (s *Service) maxAttempts() int {
	if s.cfg.Notices.MaxAttempts > 0 {
		return s.cfg.Notices.MaxAttempts
	}
	return 5
}

// QueueNotices queues a notice to every member of incident id's latest
// affected set, and the jobs that sign and send them, in one transaction,
// audited (incident.notices_queued, with the counts). A member already
// queued for the incident (by an earlier call, or from an earlier set) is
// not queued again: each customer is told once per incident. The incident
// must be assessed, contained or notified, with a notice text written.
func (s *Service) QueueNotices(ctx context.Context, id string) (Queued, error) {
	if !s.NoticesOn() {
		return Queued{}, errs.New(errs.CodeUnavailable, "customers' notices need email and the job runner")
	}
	set, err := s.LatestSet(ctx, id)
	if err != nil {
		return Queued{}, errs.New(errs.CodeConflict, "compute the affected customers first")
	}
	q := Queued{SetID: set.ID}
	err = s.change(ctx, id, ActionNoticesQueued, func(ctx context.Context, tx *sql.Tx, cur *Incident) (map[string]any, error) {
		if cur.Status != Assessed && cur.Status != Contained && cur.Status != Notified {
			return nil, errs.New(errs.CodeConflict, "an incident %s is not notified: assess it first", cur.Status)
		}
		texts, err := noticeTexts(ctx, tx, id)
		if err != nil {
			return nil, err
		}
		if len(texts) == 0 {
			return nil, errs.Invalid("notice", "write the customers' notice first")
		}
		var first int
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(batch) + 1, 0) FROM incident_notices WHERE incident_id = $1`, id).Scan(&first); err != nil {
			return nil, fmt.Errorf("incident: queue notices: %w", err)
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO incident_notices (incident_id, subject_id, batch, status, queued_at)
			SELECT $1, m.subject_id, $3 + (ROW_NUMBER() OVER (ORDER BY m.subject_id) - 1) / $4, $5, $6
			FROM incident_affected_members m
			WHERE m.set_id = $2 AND NOT EXISTS (SELECT 1 FROM incident_notices n WHERE n.incident_id = $1 AND n.subject_id = m.subject_id)`,
			id, set.ID, first, s.batchSize(), NoticeQueued, s.clock().UnixMicro())
		if err != nil {
			return nil, fmt.Errorf("incident: queue notices: %w", err)
		}
		n, _ := res.RowsAffected()
		q.Notices = int(n)
		q.Jobs = (q.Notices + s.batchSize() - 1) / s.batchSize()
		for b := first; b < first+q.Jobs; b++ {
			if _, err := s.cfg.Notices.Jobs.InsertTx(ctx, tx, NoticeArgs{IncidentID: id, Batch: b}, &jobs.InsertOpts{Unique: true}); err != nil {
				return nil, err
			}
		}
		note := fmt.Sprintf("%d notices queued to the members of %s", q.Notices, set.ID)
		return map[string]any{"set": set.ID, "notices": q.Notices, "jobs": q.Jobs}, s.addAction(ctx, tx, id, ActNoticesQueued, note)
	})
	return q, err
}

// Progress counts an incident's notices by status.
type Progress struct {
	Queued  int `json:"queued"`
	Sending int `json:"sending"`
	Sent    int `json:"sent"`
	Failed  int `json:"failed"`
	// NoAddress counts the failed notices of customers without an email
	// address (they read the notice when they sign in, if they can).
	NoAddress int `json:"no_address"`
	Total     int `json:"total"`
}

// Done reports whether no notice waits to be sent.
func (p Progress) Done() bool { return p.Total > 0 && p.Queued == 0 && p.Sending == 0 }

// NoticeProgress counts incident id's notices by status.
func (s *Service) NoticeProgress(ctx context.Context, id string) (Progress, error) {
	var p Progress
	rows, err := s.db.QueryContext(ctx, `SELECT status, error, COUNT(*) FROM incident_notices WHERE incident_id = $1 GROUP BY status, error`, id)
	if err != nil {
		return p, db.Classify(fmt.Errorf("incident: notice progress: %w", err))
	}
	defer rows.Close()
	for rows.Next() {
		var status, reason string
		var n int
		if err := rows.Scan(&status, &reason, &n); err != nil {
			return p, fmt.Errorf("incident: notice progress: %w", err)
		}
		switch status {
		case NoticeQueued:
			p.Queued += n
		case NoticeSending:
			p.Sending += n
		case NoticeSent:
			p.Sent += n
		case NoticeFailed:
			p.Failed += n
			if reason == FailNoAddress {
				p.NoAddress += n
			}
		}
		p.Total += n
	}
	return p, db.Classify(rows.Err())
}

// NoticeWorker returns the worker of NoticeArgs, for the job runner.
func (s *Service) NoticeWorker() jobs.Worker[NoticeArgs] {
	return jobs.WorkFunc(func(ctx context.Context, job *jobs.Job[NoticeArgs]) error {
		return s.SendBatch(ctx, job.Args.IncidentID, job.Args.Batch)
	})
}

// pending is a notice a batch still has to send.
type pending struct {
	subject  string
	jws      string
	attempts int
}

// SendBatch signs and emails the queued notices of one batch (the job's
// work). Each notice is claimed (queued → sending) in a commit of its own
// before its email goes and marked sent after: a retry sends only what is
// still queued, and a notice left "sending" by a crash counts as failed
// (interrupted), never sent twice. A notice whose email fails for a
// passing reason goes back to the queue until MaxAttempts, and the batch
// fails, so that the job is retried with back-off; an address the server
// refuses for good fails at once. The batch's count is audited
// (incident.notices_sent); each address read, as every customer email is
// (customer.notify).
func (s *Service) SendBatch(ctx context.Context, incidentID string, batch int) error {
	if !s.NoticesOn() {
		return errs.New(errs.CodeUnavailable, "customers' notices need email and the job runner")
	}
	inc, err := s.Get(ctx, incidentID)
	if err != nil {
		return err
	}
	texts, err := s.NoticeTexts(ctx, incidentID)
	if err != nil {
		return err
	}
	if _, err := s.db.ExecContext(ctx, `UPDATE incident_notices SET status = $4, error = $5
		WHERE incident_id = $1 AND batch = $2 AND status = $3`, incidentID, batch, NoticeSending, NoticeFailed, FailInterrupted); err != nil {
		return db.Classify(fmt.Errorf("incident: notices: %w", err))
	}
	list, err := db.QueryAll(ctx, s.db, `SELECT subject_id, jws, attempts FROM incident_notices
		WHERE incident_id = $1 AND batch = $2 AND status = $3 ORDER BY subject_id`, []any{incidentID, batch, NoticeQueued},
		func(scan func(...any) error) (pending, error) {
			var p pending
			return p, scan(&p.subject, &p.jws, &p.attempts)
		})
	if err != nil {
		return db.Classify(fmt.Errorf("incident: notices: %w", err))
	}
	var sent, failed, retry int
	var stopped error
	for _, p := range list {
		if stopped = ctx.Err(); stopped != nil {
			break
		}
		var outcome string
		if outcome, stopped = s.sendOne(ctx, inc, texts, p); stopped != nil {
			break
		}
		switch outcome {
		case NoticeSent:
			sent++
		case NoticeFailed:
			failed++
		case NoticeQueued:
			retry++
		}
	}
	// What this attempt did is recorded even when it stopped early.
	if sent+failed > 0 {
		if _, err := s.audit.Append(context.WithoutCancel(ctx), audit.Entry{Actor: audit.System(), Action: ActionNoticesSent, Target: Target(incidentID),
			Details: audit.MustDetails(map[string]any{"batch": batch, "sent": sent, "failed": failed})}); err != nil {
			return errors.Join(stopped, err)
		}
	}
	if stopped != nil {
		return stopped
	}
	if retry > 0 {
		return fmt.Errorf("incident: %d notices of batch %d not sent yet", retry, batch)
	}
	return nil
}

// sendOne sends one notice and returns its new status; an error stops the
// batch (the store failed, not the mail).
func (s *Service) sendOne(ctx context.Context, inc Incident, texts []NoticeText, p pending) (string, error) {
	profiles := s.cfg.Notices.Profiles
	address, err := profiles.Get(ctx, p.subject, "email")
	if errs.CodeOf(err) == errs.CodeNotFound {
		return NoticeFailed, s.settle(ctx, inc.ID, p.subject, NoticeQueued, NoticeFailed, FailNoAddress)
	}
	if err != nil {
		return "", err
	}
	lang := notify.DefaultLanguage
	if rec, err := profiles.Get(ctx, p.subject, "language"); err == nil {
		lang = i18n.Default().Match(string(rec.Value))
	}
	text, ok := textFor(texts, lang)
	if !ok {
		return "", errs.New(errs.CodeConflict, "incident %s has no notice text", inc.ID)
	}
	jws := p.jws
	if jws == "" {
		if jws, err = s.signNotice(inc, p.subject, text); err != nil {
			return "", err
		}
	}
	// The claim commits before the message goes: whatever happens next,
	// a retry does not send it again.
	res, err := s.db.ExecContext(ctx, `UPDATE incident_notices SET status = $3, jws = $4, language = $5, attempts = attempts + 1
		WHERE incident_id = $1 AND subject_id = $2 AND status = $6`, inc.ID, p.subject, NoticeSending, jws, text.Language, NoticeQueued)
	if err != nil {
		return "", db.Classify(fmt.Errorf("incident: claim notice: %w", err))
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return "", nil // another worker has it
	}
	if _, err := s.audit.Append(ctx, audit.Entry{Actor: audit.System(), Action: actionCustomerNotify, Target: audit.Subject(p.subject),
		Details: audit.MustDetails(map[string]any{"fields": []string{"email"}, "notice": notify.TemplateIncidentNotice, "incident": inc.ID})}); err != nil {
		return "", errors.Join(err, s.settle(ctx, inc.ID, p.subject, NoticeSending, NoticeQueued, ""))
	}
	msg, err := s.cfg.Mail.Render(lang, notify.TemplateIncidentNotice, notify.IncidentNotice{Brand: s.cfg.Brand,
		PortalURL: strings.TrimSuffix(s.cfg.Notices.PortalURL, "/") + "/privacy"})
	if err != nil {
		return "", errors.Join(err, s.settle(ctx, inc.ID, p.subject, NoticeSending, NoticeQueued, ""))
	}
	msg.To = string(address.Value)
	if err := s.cfg.Sender.Send(ctx, msg); err != nil {
		s.log.WarnContext(ctx, "incident: a notice's email was not sent", "incident", inc.ID, "attempt", p.attempts+1, "error", err)
		switch {
		case errs.CodeOf(err) == errs.CodeInvalid: // refused for good: trying again changes nothing
			return NoticeFailed, s.settle(ctx, inc.ID, p.subject, NoticeSending, NoticeFailed, FailRejected)
		case p.attempts+1 >= s.maxAttempts():
			return NoticeFailed, s.settle(ctx, inc.ID, p.subject, NoticeSending, NoticeFailed, FailUndelivered)
		}
		return NoticeQueued, s.settle(ctx, inc.ID, p.subject, NoticeSending, NoticeQueued, FailUndelivered)
	}
	if _, err := s.db.ExecContext(ctx, `UPDATE incident_notices SET status = $3, error = '', sent_at = $4
		WHERE incident_id = $1 AND subject_id = $2`, inc.ID, p.subject, NoticeSent, s.clock().UnixMicro()); err != nil {
		return "", db.Classify(fmt.Errorf("incident: notice sent: %w", err))
	}
	return NoticeSent, nil
}

// settle moves a notice from status from to status to, with its reason.
func (s *Service) settle(ctx context.Context, incidentID, subject, from, to, reason string) error {
	if _, err := s.db.ExecContext(ctx, `UPDATE incident_notices SET status = $4, error = $5
		WHERE incident_id = $1 AND subject_id = $2 AND status = $3`, incidentID, subject, from, to, reason); err != nil {
		return db.Classify(fmt.Errorf("incident: notice: %w", err))
	}
	return nil
}

// signNotice makes the signed notice subject reads: the officer's text
// under headings in its language.
func (s *Service) signNotice(inc Incident, subject string, text NoticeText) (string, error) {
	p := i18n.Default().Printer(text.Language)
	n := &receipt.Notice{Version: receipt.NoticeVersion, IncidentID: inc.ID, SubjectID: subject, Language: text.Language,
		IssuedAt: s.now().Unix(), Controller: s.cfg.Brand.CompanyName, Title: p.T("incident_notice.title")}
	for i, part := range text.parts() {
		n.Sections = append(n.Sections, receipt.NoticeSection{Key: noticeParts[i], Heading: p.T("incident_notice." + noticeParts[i]), Text: part})
	}
	jws, err := s.cfg.Notices.Signer.SignNotice(n)
	if err != nil {
		return "", fmt.Errorf("incident: sign notice: %w", err)
	}
	return jws, nil
}

// CustomerNotice is a notice as the portal shows it: the signed document
// and when its email went.
type CustomerNotice struct {
	IncidentID string     `json:"incident_id"`
	JWS        string     `json:"jws"`
	QueuedAt   time.Time  `json:"queued_at"`
	SentAt     *time.Time `json:"sent_at,omitempty"`
}

// NoticesFor returns the signed notices of subject, newest first: the
// portal's banner after sign-in.
func (s *Service) NoticesFor(ctx context.Context, subject string) ([]CustomerNotice, error) {
	out, err := db.QueryAll(ctx, s.db, `SELECT incident_id, jws, queued_at, sent_at FROM incident_notices
		WHERE subject_id = $1 AND jws <> '' ORDER BY queued_at DESC, incident_id`, []any{subject},
		func(scan func(...any) error) (CustomerNotice, error) {
			var n CustomerNotice
			var queued int64
			var sent sql.NullInt64
			err := scan(&n.IncidentID, &n.JWS, &queued, &sent)
			n.QueuedAt, n.SentAt = time.UnixMicro(queued).UTC(), db.OptTime(sent)
			return n, err
		})
	if err != nil {
		return nil, db.Classify(fmt.Errorf("incident: notices of a customer: %w", err))
	}
	return out, nil
}

// forgetNotices deletes an erased subject's notices: their signed copy
// names them.
func forgetNotices(ctx context.Context, tx *sql.Tx, subject string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM incident_notices WHERE subject_id = $1`, subject); err != nil {
		return fmt.Errorf("incident: forget notices: %w", err)
	}
	return nil
}
