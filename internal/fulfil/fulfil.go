// Package fulfil does the work a data subject request asks for, across
// everything Steward knows about the subject and every connected system of
// the company: it builds the access and portability archive, it erases,
// and it applies the corrections a customer proposed (Rectify).
//
//	f, err := fulfil.New(fulfil.Config{Requests: requests, Consent: svc, Vault: v, Audit: log, Exports: store, Connectors: datasets, Getenv: os.Getenv})
//	info, err := f.Export(ctx, requestID) // the archive; the request completes with its id
//	report, err := f.Erase(ctx, requestID) // vault, ledger, each system; resumable
//
// Both are meant to run as background jobs: they are safe to retry, and a
// connected system that is down leaves the request "waiting on" it, with
// nothing half-erased (each system's erasure is one transaction, and each
// finished step is recorded).
package fulfil

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/connector"
	"github.com/steward-dev/steward/internal/connector/httpsystem"
	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/dsr"
	"github.com/steward-dev/steward/internal/erasure"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/export"
	"github.com/steward-dev/steward/internal/i18n"
	"github.com/steward-dev/steward/internal/outbox"
	"github.com/steward-dev/steward/internal/provenance"
	"github.com/steward-dev/steward/internal/vault"
)

// Config holds what the fulfiller needs.
type Config struct {
	DB       *db.DB
	Requests *dsr.Service
	Consent  *consent.Service
	Vault    *vault.Vault
	Audit    *audit.Log
	Exports  *export.Store
	// Connectors are the company's databases (dataset files); Getenv gives
	// their connection strings.
	Connectors []*connector.Dataset
	Getenv     func(string) string
	// HTTP are the company's systems reached over HTTP (signed calls and
	// callbacks), through Hooks.
	HTTP  []*httpsystem.Dataset
	Hooks *httpsystem.Service
	// Poll is how often a job waiting for an HTTP system's callback looks
	// again (one minute).
	Poll time.Duration
	// OnErased, when set, is called in the transaction that crypto-shreds
	// a subject's vault data (the outbox's subject.erased commits with it).
	OnErased func(ctx context.Context, tx *sql.Tx, subject, requestID string) error
	// Customers and Disclosures, when set, forget an erased requester's
	// sign-in codes and portal sessions, and the texts of the subject's
	// disclosures (customer.Service, disclosure.Service).
	Customers interface {
		Forget(ctx context.Context, subject string, emailHash []byte) (int, error)
	}
	Disclosures interface {
		Forget(ctx context.Context, subject string) (int, error)
	}
	// Incidents, when set, removes an erased subject from the incidents'
	// stored affected sets (incident.Service).
	Incidents interface {
		Forget(ctx context.Context, subject string) (int, error)
	}
	// VaultFields are the vault fields customers may correct, by name; true
	// applies a proposed value without an officer's approval.
	VaultFields map[string]bool
	// Recipients, when set, gives the vendors that received a subject's
	// data (disclosure.Service), told of a rectification.
	Recipients interface {
		Recipients(ctx context.Context, subject string) ([]string, error)
	}
	// OnRectified, when set, is called in the transaction that records a
	// rectification's last step (the outbox's subject.rectified commits
	// with it).
	OnRectified func(ctx context.Context, tx *sql.Tx, r Rectified) error
	// Events, when set, receives the webhooks of erasures and
	// rectifications (subject.erased, subject.rectified; see events.go),
	// written in the transaction of the change.
	Events outbox.Emitter
	// Journal, when set, records every finished erasure in the erasure
	// journal kept outside the database (erasure.Journal), so that a
	// restored backup forgets the subject again. It is the erasure's last
	// step: while the journal cannot be written the request waits on it and
	// the job retries that step alone (see journal.go).
	Journal erasure.Recorder
	// Company and Contact name the controller in archives.
	Company, Contact string
	Now              func() time.Time
}

// Fulfiller does the work of requests.
type Fulfiller struct {
	Config
}

// New returns a fulfiller.
func New(cfg Config) (*Fulfiller, error) {
	if cfg.DB == nil || cfg.Requests == nil || cfg.Consent == nil || cfg.Vault == nil || cfg.Audit == nil || cfg.Exports == nil {
		return nil, errors.New("fulfil: New needs DB, Requests, Consent, Vault, Audit and Exports")
	}
	for _, ds := range cfg.HTTP {
		if len(ds.Correctable) > 0 && ds.Name == VaultTarget {
			return nil, fmt.Errorf("fulfil: HTTP connector %q has correctable fields: rename it, %q names the vault in corrections", ds.Name, VaultTarget)
		}
	}
	for _, ds := range cfg.Connectors {
		for _, t := range ds.Tables {
			for _, c := range t.Columns {
				if c.Correctable && ds.Name == VaultTarget {
					// Its columns' targets would read as vault fields.
					return nil, fmt.Errorf("fulfil: connector %q has correctable columns: rename it, %q names the vault in corrections", ds.Name, VaultTarget)
				}
			}
		}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Getenv == nil {
		cfg.Getenv = func(string) string { return "" }
	}
	if cfg.Poll == 0 {
		cfg.Poll = time.Minute
	}
	return &Fulfiller{cfg}, nil
}

// identifiers are how the connected systems know the requester.
func (f *Fulfiller) identifiers(ctx context.Context, req dsr.Request) (connector.Identifiers, error) {
	var ids connector.Identifiers
	if req.SubjectID != "" {
		ids.ExternalIDs = []string{req.SubjectID}
	}
	email, err := f.Requests.Contact(ctx, req.ID)
	if err != nil {
		return ids, err
	}
	if email != "" {
		ids.Emails = []string{email}
	}
	return ids, nil
}

// ErrWaiting means a system has the call and has not answered yet: the job
// asks again later without counting a failure.
var ErrWaiting = errors.New("waiting for a system's callback")

// waitingFor marks the request as waiting on a system that is working on
// it, and returns ErrWaiting.
func (f *Fulfiller) waitingFor(ctx context.Context, req dsr.Request, system string) error {
	if req.WaitingOn != "system "+system {
		if _, err := f.Requests.SetWaitingOn(ctx, req.ID, "system "+system); err != nil {
			return err
		}
	}
	return ErrWaiting
}

// httpCall starts (or reads) the call of an HTTP system for the request:
// nil with the done call, ErrWaiting while it works, an unavailable error
// when it failed or timed out (the job retries, which calls again).
func (f *Fulfiller) httpCall(ctx context.Context, req dsr.Request, ds *httpsystem.Dataset, op httpsystem.Operation, ids connector.Identifiers) (httpsystem.Call, error) {
	return f.httpPoll(ctx, req, ds, func() (httpsystem.Call, error) {
		if f.Hooks == nil {
			return httpsystem.Call{}, errs.New(errs.CodeUnavailable, "HTTP systems are not configured")
		}
		return f.Hooks.Start(ctx, ds, op, req.ID, ids)
	})
}

// httpPoll is httpCall for any way of starting the call (Start, Correct).
func (f *Fulfiller) httpPoll(ctx context.Context, req dsr.Request, ds *httpsystem.Dataset, start func() (httpsystem.Call, error)) (httpsystem.Call, error) {
	call, err := start()
	if err != nil {
		if errs.CodeOf(err) == errs.CodeUnavailable {
			return call, f.waitingOn(ctx, req, ds.Name, err)
		}
		return call, err
	}
	switch call.State {
	case httpsystem.Done:
		return call, nil
	case httpsystem.Pending:
		return call, f.waitingFor(ctx, req, ds.Name)
	}
	return call, f.waitingOn(ctx, req, ds.Name, fmt.Errorf("%s: %s", call.State, call.Failure))
}

// waitingOn marks the request as waiting on a system and returns err, for
// the job to retry.
func (f *Fulfiller) waitingOn(ctx context.Context, req dsr.Request, system string, err error) error {
	if _, werr := f.Requests.SetWaitingOn(ctx, req.ID, "system "+system); werr != nil {
		return errors.Join(err, werr)
	}
	return errs.Wrap(errs.CodeUnavailable, err, "waiting on system "+system)
}

// checkIdentity refuses to export or erase before the requester reached
// the identity tier the data Steward holds for the subject calls for
// (dsr.ErrIdentityNotReached), and before the customer confirmed an
// agent's request.
func (f *Fulfiller) checkIdentity(ctx context.Context, req dsr.Request) error {
	var categories []string
	if req.SubjectID != "" {
		fields, err := f.Vault.List(ctx, req.SubjectID)
		if err != nil && !errors.Is(err, vault.ErrErased) {
			return fmt.Errorf("list subject's categories: %w", err)
		}
		for _, fi := range fields {
			categories = append(categories, fi.Category)
		}
	}
	return f.Requests.CheckWorkableFor(ctx, req.ID, categories)
}

// Export builds the archive of a request's subject and completes the
// request with it. Only access and export requests in progress are built.
func (f *Fulfiller) Export(ctx context.Context, requestID string) (export.Info, error) {
	req, err := f.Requests.Get(ctx, requestID)
	if err != nil {
		return export.Info{}, err
	}
	if req.Kind != dsr.KindAccess && req.Kind != dsr.KindExport {
		return export.Info{}, errs.New(errs.CodeConflict, "request %s is a %s request, not an access or export", req.ID, req.Kind)
	}
	if req.State != dsr.StateInProgress {
		return export.Info{}, errs.New(errs.CodeConflict, "request %s is %s, not in progress", req.ID, req.State)
	}
	if err := f.checkIdentity(ctx, req); err != nil {
		return export.Info{}, err
	}
	ids, err := f.identifiers(ctx, req)
	if err != nil {
		return export.Info{}, err
	}
	// Connect first: a system that is down fails the job before anything
	// is written, and the request says what it waits on.
	var conns []*connector.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for _, ds := range f.Connectors {
		c, err := connector.Open(ctx, ds, f.Getenv)
		if err != nil {
			return export.Info{}, f.waitingOn(ctx, req, ds.Name, err)
		}
		conns = append(conns, c)
	}
	var calls []httpsystem.Call
	for _, ds := range f.HTTP {
		if !ds.Supports(httpsystem.Access) {
			continue
		}
		call, err := f.httpCall(ctx, req, ds, httpsystem.Access, ids)
		if err != nil {
			return export.Info{}, err
		}
		calls = append(calls, call)
	}
	// A known subject's archive key is sealed under the subject's data
	// key: their erasure makes every copy of the archive unreadable.
	upload, err := f.Exports.CreateFor(ctx, req.ID, req.SubjectID)
	if err != nil {
		return export.Info{}, err
	}
	info, err := f.writeArchive(ctx, req, ids, conns, calls, upload)
	if err != nil {
		_ = upload.Abort()
		return export.Info{}, err
	}
	for _, call := range calls {
		// The archive holds the data now; the system's copy goes.
		if err := f.Hooks.DropData(ctx, call.ID); err != nil {
			return export.Info{}, err
		}
	}
	if _, err := f.Requests.SetWaitingOn(ctx, req.ID, ""); err != nil {
		return export.Info{}, err
	}
	if _, err := f.Requests.Complete(audit.WithActor(ctx, audit.System()), req.ID, info.ID); err != nil {
		return export.Info{}, err
	}
	return info, nil
}

func (f *Fulfiller) writeArchive(ctx context.Context, req dsr.Request, ids connector.Identifiers, conns []*connector.Conn, calls []httpsystem.Call, upload *export.Upload) (export.Info, error) {
	a := export.NewArchive(upload)
	categories := map[string]bool{}
	var events []consent.Event // the subject's consent choices, for the Article 15 information
	if req.SubjectID != "" {
		var err error
		if events, err = f.writeSteward(ctx, a, req, categories); err != nil {
			return export.Info{}, err
		}
	}
	requests, err := f.Requests.ListForRequester(ctx, req.EmailHash)
	if err != nil {
		return export.Info{}, err
	}
	if err := a.JSON("requests.json", "Your privacy requests to us, with their state and deadline.", requests); err != nil {
		return export.Info{}, err
	}
	for i, c := range conns {
		ds := f.Connectors[i]
		for _, t := range ds.Tables {
			for _, col := range t.Columns {
				categories[col.Category] = true
			}
		}
		if err := c.Access(ctx, ids, a.Tables(ds.Name)); err != nil {
			return export.Info{}, f.waitingOn(ctx, req, ds.Name, err)
		}
	}
	for i, call := range calls {
		data, err := f.Hooks.Data(ctx, call.ID)
		if err != nil {
			return export.Info{}, err
		}
		for _, c := range f.httpAccessSystems()[i].Categories {
			categories[c] = true
		}
		if err := a.JSON("systems/"+call.Connector+"/data.json", "What our system "+call.Connector+" holds about you, as it returned it.", json.RawMessage(data)); err != nil {
			return export.Info{}, err
		}
	}
	if err := a.Close(f.about(req, categories, events)); err != nil {
		return export.Info{}, err
	}
	return upload.Commit()
}

// httpAccessSystems are the HTTP systems that answer access requests, in
// the order Export calls them.
func (f *Fulfiller) httpAccessSystems() []*httpsystem.Dataset {
	var out []*httpsystem.Dataset
	for _, ds := range f.HTTP {
		if ds.Supports(httpsystem.Access) {
			out = append(out, ds)
		}
	}
	return out
}

// writeSteward writes what Steward itself holds: consents with their
// receipts, protected fields in clear (the customer's own), and who
// accessed them. Reading the fields is recorded in the audit log first.
// It returns the subject's consent events, oldest first.
func (f *Fulfiller) writeSteward(ctx context.Context, a *export.Archive, req dsr.Request, categories map[string]bool) ([]consent.Event, error) {
	subject := req.SubjectID
	events, err := f.Consent.Events(ctx, consent.EventFilter{Subject: subject, LinkedDevices: true, Limit: 10000, Receipts: true})
	if err != nil {
		return nil, err
	}
	type consentRecord struct {
		consent.Event
		Receipt string `json:"receipt"`
	}
	records := make([]consentRecord, len(events))
	for i := range events {
		// The receipt as issued at append, never signed again from the row.
		records[i] = consentRecord{Event: events[i], Receipt: events[i].Receipt}
	}
	if err := a.JSON("consents.json", "Every consent choice you made, oldest first, on your devices too (the cookie banner's, our forms'), each with its signed receipt (a JWS you can verify against our published keys at /.well-known/jwks.json).", records); err != nil {
		return nil, err
	}
	fields, err := f.Vault.List(ctx, subject)
	if err != nil && errs.CodeOf(err) != errs.CodeNotFound {
		return nil, err
	}
	type fieldRecord struct {
		Name      string     `json:"name"`
		Category  string     `json:"category"`
		Value     string     `json:"value"`
		UpdatedAt time.Time  `json:"updated_at"`
		ExpiresAt *time.Time `json:"kept_until,omitempty"`
	}
	names := make([]string, len(fields))
	for i, fi := range fields {
		names[i] = fi.Name
	}
	if len(fields) > 0 {
		if _, err := f.Audit.Append(ctx, audit.Entry{Actor: audit.System(), Action: "dsr.export_fields", Target: audit.Subject(subject),
			Details: audit.MustDetails(map[string]any{"request": req.ID, "fields": names})}); err != nil {
			return nil, errs.Wrap(errs.CodeUnavailable, err, "the audit log cannot be written, so no field is exported")
		}
	}
	out := make([]fieldRecord, 0, len(fields))
	for _, fi := range fields {
		rec, err := f.Vault.Get(ctx, subject, fi.Name)
		if err != nil {
			return nil, err
		}
		r := fieldRecord{Name: fi.Name, Category: fi.Category, Value: string(rec.Value), UpdatedAt: fi.UpdatedAt}
		if !fi.ExpiresAt.IsZero() {
			t := fi.ExpiresAt
			r.ExpiresAt = &t
		}
		categories[fi.Category] = true
		out = append(out, r)
	}
	if err := a.JSON("protected-data.json", "The sensitive data we keep encrypted for you, in clear, with its category and how long we keep it.", out); err != nil {
		return nil, err
	}
	page, err := f.Audit.Accesses(ctx, subject, 0, 1000)
	if err != nil {
		return nil, err
	}
	type accessRecord struct {
		At      time.Time      `json:"at"`
		Who     string         `json:"who"`
		Action  string         `json:"action"`
		Details map[string]any `json:"details"`
	}
	accesses := make([]accessRecord, 0, len(page.Entries))
	for _, e := range page.Entries {
		accesses = append(accesses, accessRecord{At: e.At, Who: e.Actor.Kind, Action: e.Action, Details: e.Details.Map()})
	}
	return events, a.JSON("accesses.json", "Every time someone at our company or one of our systems opened or changed your data, newest first, with the stated purpose.", accesses)
}

// about is the Article 15 information for the archive. Where each consent
// came from is said per purpose from the ledger (events, oldest first), in
// the customer's language.
func (f *Fulfiller) about(req dsr.Request, categories map[string]bool, events []consent.Event) export.About {
	words := i18n.Default().Printer(req.Language)
	about := export.About{Company: f.Company, Contact: f.Contact, Subject: req.SubjectID, GeneratedAt: f.Now().UTC(), RequestID: req.ID,
		Retention:     "Protected fields are kept until the date shown with each, or until you ask us to erase them; consent records are kept as proof for as long as we rely on them; other data as long as each system's retention rules require.",
		Source:        "From you: what you entered on our sites and apps and in our privacy portal, and the consent choices listed below, each where and when you made it.",
		ConsentsTitle: words.T("provenance.archive_title")}
	for _, p := range f.Consent.Purposes() {
		about.Purposes = append(about.Purposes, export.Purpose{Key: p.Key, Name: localName(p.Names, p.Key), LegalBasis: string(p.LegalBasis)})
	}
	about.Consents = consentOrigins(words, f.Consent, events)
	for _, v := range f.Consent.Vendors() {
		about.Recipients = append(about.Recipients, export.Recipient{Name: v.Name, Country: v.Country, Purposes: v.Purposes})
	}
	for c := range categories {
		about.Categories = append(about.Categories, c)
	}
	slices.Sort(about.Categories)
	return about
}

// consentOrigins is, per property, purpose and channel (of a
// communication topic; "" for every channel), where and when the latest
// choice of events was given; choices about one vendor are left out, as
// the portal does (they are made in the banner's details).
func consentOrigins(words *i18n.Printer, svc *consent.Service, events []consent.Event) []export.ConsentOrigin {
	latest := map[[3]string]consent.Event{}
	var order [][3]string
	for _, e := range events {
		if e.Vendor != "" {
			continue
		}
		k := [3]string{e.Property, e.Purpose, string(e.Channel)}
		prev, seen := latest[k]
		if !seen {
			order = append(order, k)
		}
		if !seen || e.Supersedes(&prev) {
			latest[k] = e
		}
	}
	out := make([]export.ConsentOrigin, 0, len(order))
	for _, k := range order {
		e := latest[k]
		name, topic := e.Purpose, e.Channel != ""
		if p, err := svc.Purpose(e.Purpose); err == nil {
			name, topic = languageName(p.Names, words.Lang(), e.Purpose), p.Communication()
		}
		out = append(out, export.ConsentOrigin{Property: e.Property, Purpose: e.Purpose, Name: name, Channel: string(e.Channel),
			Channels: provenance.Channel(words, topic, e.Channel), Action: string(e.Action),
			Source: string(e.Source), At: e.At, Given: provenance.Sentence(words, svc, e)})
	}
	return out
}

// languageName is a name in lang, else in English, else fallback.
func languageName(names map[string]string, lang, fallback string) string {
	if n := names[lang]; n != "" {
		return n
	}
	return localName(names, fallback)
}

func localName(names map[string]string, fallback string) string {
	if n := names["en"]; n != "" {
		return n
	}
	return fallback
}

// Report is what an erasure did, step by step, without personal data.
type Report struct {
	RequestID string     `json:"request"`
	Steps     []StepDone `json:"steps"`
}

// StepDone is one finished step of an erasure.
type StepDone struct {
	Step   string          `json:"step"`
	DoneAt time.Time       `json:"done_at"`
	Report json.RawMessage `json:"report"`
}

// Erase erases a request's subject everywhere: the vault (crypto-shredding,
// which also makes the subject's export archives unreadable, since their
// keys are sealed under the subject's data key), the consent ledger (a
// pseudonym instead of the subject), Steward's own records of the
// requester (forget), then each connected system in its own transaction.
// Finished steps are recorded and skipped on a retry; a system that fails
// leaves the request waiting on it.
// When every step is done the request completes.
func (f *Fulfiller) Erase(ctx context.Context, requestID string) (Report, error) {
	ctx = audit.WithActor(ctx, audit.System())
	req, err := f.Requests.Get(ctx, requestID)
	if err != nil {
		return Report{}, err
	}
	if req.Kind != dsr.KindErasure {
		return Report{}, errs.New(errs.CodeConflict, "request %s is a %s request, not an erasure", req.ID, req.Kind)
	}
	if req.State != dsr.StateInProgress {
		return Report{}, errs.New(errs.CodeConflict, "request %s is %s, not in progress", req.ID, req.State)
	}
	if err := f.checkIdentity(ctx, req); err != nil {
		return Report{}, err
	}
	// A hold placed after the request was started stops it too.
	if err := f.Requests.CheckNotHeld(ctx, req); err != nil {
		return Report{}, err
	}
	_, step, err := f.resumable(ctx, req.ID)
	if err != nil {
		return Report{}, err
	}
	if req.SubjectID != "" {
		if err := step("vault", func() (any, error) {
			var res vault.ErasureResult
			_, err := f.Audit.Do(ctx, audit.Entry{Actor: audit.System(), Action: "vault.erase", Target: audit.Subject(req.SubjectID),
				Details: audit.MustDetails(map[string]any{"request": req.ID})}, func(ctx context.Context, tx *sql.Tx) error {
				var err error
				if res, err = f.Vault.EraseSubjectTx(ctx, tx, req.SubjectID); err != nil {
					return err
				}
				return f.erased(ctx, tx, req.SubjectID, req.ID)
			})
			return map[string]any{"fields": res.Fields, "tokens": res.Tokens, "already_erased": res.AlreadyErased}, err
		}); err != nil {
			return Report{}, err
		}
		if err := step("ledger", func() (any, error) {
			// Both are harmless to repeat, should the step be retried.
			res, err := f.Consent.Pseudonymise(ctx, req.SubjectID)
			if err != nil {
				return nil, err
			}
			n, err := f.Consent.ForgetRestrictions(ctx, req.SubjectID)
			return struct {
				consent.Pseudonymised
				Restrictions int `json:"restrictions"`
			}{res, n}, err
		}); err != nil {
			return Report{}, err
		}
	}
	if err := step("steward", func() (any, error) { return f.forget(ctx, req) }); err != nil {
		return Report{}, err
	}
	ids, err := f.identifiers(ctx, req)
	if err != nil {
		return Report{}, err
	}
	for _, ds := range f.Connectors {
		if err := step("system:"+ds.Name, func() (any, error) {
			c, err := connector.Open(ctx, ds, f.Getenv)
			if err != nil {
				return nil, f.waitingOn(ctx, req, ds.Name, err)
			}
			defer c.Close()
			report, err := c.Erase(ctx, ids, false)
			if err != nil {
				return nil, f.waitingOn(ctx, req, ds.Name, err)
			}
			return report, nil
		}); err != nil {
			return Report{}, err
		}
	}
	for _, ds := range f.HTTP {
		if err := step("system:"+ds.Name, func() (any, error) {
			if !ds.Supports(httpsystem.Erasure) {
				return map[string]string{"kept": ds.LegalReason}, nil
			}
			call, err := f.httpCall(ctx, req, ds, httpsystem.Erasure, ids)
			if err != nil {
				return nil, err
			}
			return call.Report, nil
		}); err != nil {
			return Report{}, err
		}
	}
	if f.Journal != nil {
		if err := step(journalStep, func() (any, error) { return f.journal(ctx, req) }); err != nil {
			return Report{}, err
		}
	}
	return f.finish(ctx, req.ID, "erasure-report")
}

// finish completes a request whose steps are all done: it clears what the
// request waited on (a step may have set it), reads the report of the
// steps and completes the request with resultRef.
func (f *Fulfiller) finish(ctx context.Context, id, resultRef string) (Report, error) {
	req, err := f.Requests.Get(ctx, id)
	if err != nil {
		return Report{}, err
	}
	if req.WaitingOn != "" {
		if _, err := f.Requests.SetWaitingOn(ctx, id, ""); err != nil {
			return Report{}, err
		}
	}
	report, err := f.Report(ctx, id)
	if err != nil {
		return Report{}, err
	}
	if _, err := f.Requests.Complete(ctx, id, resultRef); err != nil {
		return Report{}, err
	}
	return report, nil
}

// Forgotten is what the "steward" step of an erasure removed from
// Steward's own records: counts, never values.
type Forgotten struct {
	// Archives are the export archives deleted (the subject's, and those
	// of the requester's requests).
	Archives int `json:"archives"`
	// RequestDetails are the requests whose details and questions were
	// blanked; RequestsUnlinked the closed ones whose address went.
	RequestDetails   int `json:"request_details"`
	RequestsUnlinked int `json:"requests_unlinked"`
	// SignIns are the sign-in codes and portal sessions deleted.
	SignIns int `json:"sign_ins"`
	// Disclosures are the disclosures whose reason text was blanked.
	Disclosures int `json:"disclosures"`
	// SystemData are the HTTP systems' access answers dropped.
	SystemData int `json:"system_data"`
	// IncidentSets are the incidents' affected sets the subject was
	// removed from.
	IncidentSets int `json:"incident_sets"`
}

// forget removes every copy of the requester's personal data that Steward
// keeps outside the vault and the ledger (the list is in
// docs/operations.md, "What an erasure removes"). Each part is idempotent,
// so a retried step does no harm.
func (f *Fulfiller) forget(ctx context.Context, req dsr.Request) (Forgotten, error) {
	var out Forgotten
	requests, err := f.Requests.Forget(ctx, req.SubjectID, req.EmailHash, req.ID)
	if err != nil {
		return out, err
	}
	out.RequestDetails, out.RequestsUnlinked = requests.Details, requests.Unlinked
	if out.Archives, err = f.Exports.DeleteFor(ctx, req.SubjectID, requests.Requests); err != nil {
		return out, err
	}
	for _, id := range requests.Requests {
		res, err := f.DB.ExecContext(ctx, `UPDATE webhook_calls SET data_sealed = NULL WHERE request_id = $1 AND data_sealed IS NOT NULL`, id)
		if err != nil {
			return out, db.Classify(fmt.Errorf("drop system data: %w", err))
		}
		n, _ := res.RowsAffected()
		out.SystemData += int(n)
	}
	if f.Customers != nil {
		if out.SignIns, err = f.Customers.Forget(ctx, req.SubjectID, req.EmailHash); err != nil {
			return out, err
		}
	}
	if f.Disclosures != nil && req.SubjectID != "" {
		if out.Disclosures, err = f.Disclosures.Forget(ctx, req.SubjectID); err != nil {
			return out, err
		}
	}
	if f.Incidents != nil && req.SubjectID != "" {
		if out.IncidentSets, err = f.Incidents.Forget(ctx, req.SubjectID); err != nil {
			return out, err
		}
	}
	return out, nil
}

// resumable returns how a request's job runs its steps: a step recorded
// by an earlier attempt is skipped; one that succeeds is recorded with its
// report, so that a job resumed after a crash or a retry does only what is
// left. done names the steps recorded before.
func (f *Fulfiller) resumable(ctx context.Context, requestID string) (done map[string]bool, step func(name string, do func() (any, error)) error, err error) {
	if done, err = f.stepsDone(ctx, requestID); err != nil {
		return nil, nil, err
	}
	return done, func(name string, do func() (any, error)) error {
		if done[name] {
			return nil
		}
		report, err := do()
		if err != nil {
			return err
		}
		return f.recordStep(ctx, f.DB, requestID, name, report)
	}, nil
}

func (f *Fulfiller) stepsDone(ctx context.Context, requestID string) (map[string]bool, error) {
	report, err := f.Report(ctx, requestID)
	if err != nil {
		return nil, err
	}
	done := map[string]bool{}
	for _, s := range report.Steps {
		done[s.Step] = true
	}
	return done, nil
}

// Report returns the steps of a request's erasure done so far.
func (f *Fulfiller) Report(ctx context.Context, requestID string) (Report, error) {
	steps, err := db.QueryAll(ctx, f.DB, `SELECT step, report, done_at FROM dsr_erasure_steps WHERE request_id = $1 ORDER BY done_at, step`,
		[]any{requestID}, func(scan func(...any) error) (StepDone, error) {
			var s StepDone
			var raw string
			var at int64
			if err := scan(&s.Step, &raw, &at); err != nil {
				return StepDone{}, err
			}
			s.Report, s.DoneAt = json.RawMessage(raw), time.UnixMicro(at).UTC()
			return s, nil
		})
	if err != nil {
		return Report{}, db.Classify(fmt.Errorf("read erasure steps: %w", err))
	}
	return Report{RequestID: requestID, Steps: steps}, nil
}

// Found is how many of a subject's rows one table of a connected system
// holds, and the categories of its columns.
type Found struct {
	System     string   `json:"system"`
	Table      string   `json:"table"`
	Rows       int64    `json:"rows"`
	Categories []string `json:"categories"`
}

// counter is a sink that counts rows and keeps no value.
type counter struct {
	found  []Found
	system string
}

func (c *counter) StartTable(table string, columns []connector.Column) error {
	var categories []string
	for _, col := range columns {
		if !slices.Contains(categories, col.Category) {
			categories = append(categories, col.Category)
		}
	}
	slices.Sort(categories)
	c.found = append(c.found, Found{System: c.system, Table: table, Categories: categories})
	return nil
}

func (c *counter) Row([]any) error { c.found[len(c.found)-1].Rows++; return nil }

func (c *counter) EndTable(string, int64) error { return nil }

// Find counts the subject's rows in every connected system, for the
// customer's "my data" page: tables and categories, never values.
func (f *Fulfiller) Find(ctx context.Context, subject, email string) ([]Found, error) {
	var ids connector.Identifiers
	if subject != "" {
		ids.ExternalIDs = []string{subject}
	}
	if email != "" {
		ids.Emails = []string{email}
	}
	c := &counter{}
	for _, ds := range f.Connectors {
		conn, err := connector.Open(ctx, ds, f.Getenv)
		if err != nil {
			return nil, errs.Wrap(errs.CodeUnavailable, err, "system "+ds.Name+" cannot be reached now")
		}
		c.system = ds.Name
		err = conn.Access(ctx, ids, c)
		conn.Close()
		if err != nil {
			return nil, errs.Wrap(errs.CodeUnavailable, err, "system "+ds.Name+" cannot be reached now")
		}
	}
	return slices.DeleteFunc(c.found, func(x Found) bool { return x.Rows == 0 }), nil
}
