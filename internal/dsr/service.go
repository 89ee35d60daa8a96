package dsr

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/outbox"
	"github.com/steward-dev/steward/internal/vault"
)

// SecretBox seals the requester's email and details at rest, bound to the
// request; the vault provides one (vault.SecretBox), so that they follow
// the rotations of its key-encryption key.
type SecretBox interface {
	Seal(ctx context.Context, plaintext, associated []byte) ([]byte, error)
	Open(ctx context.Context, ciphertext, associated []byte) ([]byte, error)
}

// Config holds what the service needs.
type Config struct {
	DB      *db.DB
	Secrets SecretBox
	// Audit records every change in its transaction, and every opening of
	// a sealed value before it happens: if the entry cannot be written, the
	// act does not happen.
	Audit audit.Recorder
	Now   func() time.Time
	// Policies are the deadline rules; unset fields take DefaultPolicies'.
	Policies Policies
	// ReminderInterval is how long DueReminders waits before it names a
	// request again (default 24 hours).
	ReminderInterval time.Duration
	// OnChange, when set, is called in the transaction of every filing and
	// transition, with the request as it will be and the history event:
	// the place to write an outbox message that commits with the change.
	// Its error aborts the change.
	OnChange func(ctx context.Context, tx *sql.Tx, r Request, e Event) error
	// Events, when set, receives the webhooks of requests (request.created,
	// request.completed; see events.go), written in the change's
	// transaction.
	Events outbox.Emitter
	// Restrict, when set, puts a restriction request into effect as staff
	// complete it: it restricts the subject's processing for each purpose
	// (none: every purpose), naming the request. Object records the
	// subject's objection to each purpose. Both run before the completion
	// commits and must be harmless to repeat; their error refuses it.
	Restrict func(ctx context.Context, subject, requestID string, purposes []string) error
	Object   func(ctx context.Context, subject, requestID string, purposes []string) error
	// Identity says which requests need which identity tier; zero fields
	// take DefaultIdentityPolicy's.
	Identity IdentityPolicy
	// MatchDataPoint reports whether value, typed by the requester, matches
	// the data point name (one the configuration allows) Steward holds for
	// subject, compared in constant time (vault.MatchDataPoint). Unset, no
	// data point matches: requests that need them wait for staff.
	MatchDataPoint func(ctx context.Context, subject, name, value string) (bool, error)
}

// Service files data subject requests, moves them through their states
// and answers the portal's, the console's and the jobs' questions about
// them.
type Service struct {
	db       *db.DB
	secrets  SecretBox
	audit    audit.Recorder
	now      func() time.Time
	policies Policies
	remind   time.Duration
	onChange func(ctx context.Context, tx *sql.Tx, r Request, e Event) error
	events   outbox.Emitter
	restrict func(ctx context.Context, subject, requestID string, purposes []string) error
	object   func(ctx context.Context, subject, requestID string, purposes []string) error

	identityPolicy IdentityPolicy
	matchPoint     func(ctx context.Context, subject, name, value string) (bool, error)
	// onHold reports a subject under a legal hold (SetOnHold).
	onHold func(ctx context.Context, subject string) (bool, error)
}

// NewService returns the request service.
func NewService(cfg Config) (*Service, error) {
	if cfg.DB == nil || cfg.Secrets == nil || cfg.Audit == nil {
		return nil, errors.New("dsr: NewService needs a DB, a SecretBox and an audit Recorder")
	}
	if err := cfg.Policies.Validate(); err != nil {
		return nil, fmt.Errorf("dsr: policies: %w", err)
	}
	s := &Service{db: cfg.DB, secrets: cfg.Secrets, audit: cfg.Audit, now: cfg.Now, onChange: cfg.OnChange, events: cfg.Events,
		restrict: cfg.Restrict, object: cfg.Object,
		policies: cfg.Policies.withDefaults(), remind: cfg.ReminderInterval,
		identityPolicy: cfg.Identity.withDefaults(), matchPoint: cfg.MatchDataPoint}
	if s.now == nil {
		s.now = time.Now
	}
	if s.remind <= 0 {
		s.remind = 24 * time.Hour
	}
	return s, nil
}

// Policies returns the deadline rules in force, defaults filled in.
func (s *Service) Policies() Policies { return s.policies }

// Limits on what a customer or staff member types.
const (
	maxDetails   = 4000 // characters
	maxEmail     = 254  // bytes (RFC 5321)
	maxNote      = 2000 // characters: questions and reasons
	maxWaitingOn = 200  // characters
	maxResultRef = 200  // bytes
)

// Prepared is a request that was checked and whose personal data is
// sealed, ready to be filed (FileTx). It is filed at most once.
type Prepared struct {
	id            string
	kind          Kind
	regime        Regime
	subjectID     string
	emailHash     []byte
	sealedEmail   []byte
	sealedDetails []byte // nil without details
	language      string
	channel       Channel
	// sealedProposal is the proposal's JSON, sealed; nil without one.
	sealedProposal []byte
	proposed       []string
	autoApprove    bool
	identity       Requirement
}

// ID is the id the request will have.
func (p *Prepared) ID() string { return p.id }

// Prepare checks a new request and seals its email and details. Sealing
// writes to the store in a transaction of its own (the vault creates its
// key on first use), which is why it happens here, before the transaction
// that files the request: inside it, it would wait for itself on SQLite.
func (s *Service) Prepare(ctx context.Context, in NewRequest) (*Prepared, error) {
	problems := map[string]string{}
	if !in.Kind.Valid() {
		problems["kind"] = "must be access, export, rectification, erasure, restriction or objection"
	}
	if !in.Regime.Valid() {
		problems["regime"] = "must be gdpr or ccpa"
	}
	if in.SubjectID != "" && !validSubject(in.SubjectID) {
		problems["subject_id"] = subjectProblem
	}
	email, ok := checkEmail(in.Email)
	if !ok {
		problems["email"] = "must be an email address"
	}
	if len(in.EmailHash) != sha256.Size {
		problems["email_hash"] = "must be the 32-byte blind index of the email (vault.BlindIndex)"
	}
	if in.Language == "" {
		in.Language = "en"
	}
	if !slices.Contains(Languages, in.Language) {
		problems["language"] = "must be en, de, fr or es"
	}
	if in.Channel == "" {
		in.Channel = ChannelPortal
	}
	if !in.Channel.Valid() {
		problems["channel"] = "must be portal, phone, email, letter or chat"
	}
	details := strings.TrimSpace(in.Details)
	switch {
	case details != "" && !in.Kind.takesDetails():
		problems["details"] = "only rectification and objection requests take details"
	case details == "" && in.Kind == KindRectification && len(in.Proposal) == 0:
		problems["details"] = "say what is wrong and what it should be"
	case !utf8.ValidString(details) || utf8.RuneCountInString(details) > maxDetails:
		problems["details"] = fmt.Sprintf("at most %d characters of text", maxDetails)
	}
	if in.Scope != "" && (in.Regime != CCPA || (in.Kind != KindAccess && in.Kind != KindExport) ||
		(in.Scope != ScopeCategories && in.Scope != ScopeSpecific)) {
		problems["scope"] = "only CCPA access and export requests take a scope: categories or specific"
	}
	proposed := checkProposal(in, problems)
	if len(problems) > 0 {
		return nil, errs.Fields(problems)
	}
	p := &Prepared{id: newID(), kind: in.Kind, regime: in.Regime, subjectID: in.SubjectID, emailHash: slices.Clone(in.EmailHash),
		language: in.Language, channel: in.Channel,
		proposed: proposed, autoApprove: in.AutoApprove && len(proposed) > 0,
		identity: s.identityPolicy.Require(in.Regime, in.Kind, in.Categories, in.Scope)}
	var err error
	if len(proposed) > 0 {
		values := make(map[string]string, len(proposed))
		for _, k := range proposed {
			values[k] = strings.TrimSpace(in.Proposal[k])
		}
		plain, _ := json.Marshal(values)
		if p.sealedProposal, err = s.secrets.Seal(ctx, plain, proposalAAD(p.id)); err != nil {
			return nil, fmt.Errorf("seal proposal: %w", err)
		}
	}
	if p.sealedEmail, err = s.secrets.Seal(ctx, []byte(email), emailAAD(p.id)); err != nil {
		return nil, fmt.Errorf("seal requester email: %w", err)
	}
	if details != "" {
		if p.sealedDetails, err = s.secrets.Seal(ctx, []byte(details), detailsAAD(p.id)); err != nil {
			return nil, fmt.Errorf("seal request details: %w", err)
		}
	}
	return p, nil
}

// subjectProblem is the one description of a valid subject id.
const subjectProblem = "must be Steward's subject id (at most 128 letters, digits or ._:@+=-), not an email address"

// validSubject reports whether id is a subject id. The vault allows '@'
// and '.', but an id shaped like an email address is personal data, which
// the audit log refuses: it is refused here first.
func validSubject(id string) bool { return vault.ValidSubject(id) && !emailLike.MatchString(id) }

// The associated data binds a sealed value to its request and column: a
// value copied to another request or column does not open.
func emailAAD(id string) []byte    { return []byte("dsr.email:" + id) }
func detailsAAD(id string) []byte  { return []byte("dsr.details:" + id) }
func proposalAAD(id string) []byte { return []byte("dsr.proposal:" + id) }

// Limits of a proposal.
const (
	maxProposed      = 20   // fields
	maxProposedValue = 1000 // characters
)

// proposalTarget is what a proposal's key may be: "vault:NAME" or
// "CONNECTOR:TABLE.COLUMN". Whether the field is correctable is the
// caller's check (fulfil.Propose); this keeps odd bytes out of the
// clear column proposal_fields.
var proposalTarget = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}:[A-Za-z_][A-Za-z0-9_$.-]{0,127}$`)

// checkProposal checks in's proposal, adding its problems (keyed
// "proposal.TARGET") to problems, and returns its targets, sorted.
func checkProposal(in NewRequest, problems map[string]string) []string {
	if len(in.Proposal) == 0 {
		return nil
	}
	if in.Kind != KindRectification {
		problems["proposal"] = "only rectification requests propose new values"
		return nil
	}
	if len(in.Proposal) > maxProposed {
		problems["proposal"] = fmt.Sprintf("at most %d fields at once", maxProposed)
		return nil
	}
	targets := make([]string, 0, len(in.Proposal))
	for k, v := range in.Proposal {
		v = strings.TrimSpace(v)
		switch {
		case !proposalTarget.MatchString(k):
			problems["proposal"] = "names a field that is not a correctable field"
		case v == "":
			problems["proposal."+k] = "give the new value"
		case !utf8.ValidString(v) || utf8.RuneCountInString(v) > maxProposedValue:
			problems["proposal."+k] = fmt.Sprintf("at most %d characters of text", maxProposedValue)
		}
		targets = append(targets, k)
	}
	slices.Sort(targets)
	return targets
}

// checkEmail returns the address trimmed, as typed: it is what Steward
// writes back to. The blind index normalises case on its own.
func checkEmail(email string) (string, bool) {
	email = strings.TrimSpace(email)
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Address != email || len(email) > maxEmail {
		return "", false
	}
	return email, true
}

// newID returns "req_" and 96 random bits, base64url: unguessable, so that
// an id in a link or a log tells nothing and cannot be enumerated.
func newID() string {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("dsr: no randomness: " + err.Error()) // crypto/rand does not fail on supported platforms
	}
	return "req_" + base64.RawURLEncoding.EncodeToString(b[:])
}

// File checks, seals and files a request, with its first history event and
// audit entry, in one transaction, and returns it.
func (s *Service) File(ctx context.Context, in NewRequest) (Request, error) {
	p, err := s.Prepare(ctx, in)
	if err != nil {
		return Request{}, err
	}
	var r Request
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		r, err = s.FileTx(ctx, tx, p)
		return err
	})
	return r, err
}

// FileTx files a prepared request in the caller's transaction, so that the
// caller can enqueue its work in the same commit. The received time and the
// deadlines are those of the call. The audit entry is written last and
// holds the audit log's head until tx ends: keep what follows short. If
// FileTx fails, roll tx back.
func (s *Service) FileTx(ctx context.Context, tx *sql.Tx, p *Prepared) (Request, error) {
	if p == nil {
		return Request{}, errors.New("dsr: FileTx needs a prepared request")
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	d, err := s.policies.Deadlines(p.regime, p.kind, now)
	if err != nil {
		return Request{}, err
	}
	r := Request{ID: p.id, Kind: p.kind, Regime: p.regime, State: StateReceived, SubjectID: p.subjectID,
		EmailHash: slices.Clone(p.emailHash), HasDetails: p.sealedDetails != nil, ReceivedAt: now, DueAt: d.DueAt,
		UpdatedAt: now, Version: 1, Language: p.language, Channel: p.channel, Proposed: slices.Clone(p.proposed)}
	if p.autoApprove {
		r.ProposalApprovedAt = &now
	}
	if !d.AcknowledgeBy.IsZero() {
		r.AcknowledgeBy = &d.AcknowledgeBy
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO dsr_requests (id, kind, regime, state, subject_id, email_hash, email_sealed,
		details_sealed, received_at, acknowledge_by, due_at, updated_at, version, language, channel,
		proposal_sealed, proposal_fields, proposal_approved_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $9, 1, $12, $13, $14, $15, $16)`,
		r.ID, string(r.Kind), string(r.Regime), string(r.State), r.SubjectID, r.EmailHash, p.sealedEmail,
		nullBytes(p.sealedDetails), db.OptMicros(&r.ReceivedAt), db.OptMicros(r.AcknowledgeBy), db.OptMicros(&r.DueAt), r.Language, string(r.Channel),
		nullBytes(p.sealedProposal), strings.Join(r.Proposed, ","), db.OptMicros(r.ProposalApprovedAt))
	if db.IsUniqueViolation(err) {
		return Request{}, errs.New(errs.CodeConflict, "request %s is already filed", r.ID)
	}
	if err != nil {
		return Request{}, db.Classify(fmt.Errorf("file request: %w", err))
	}
	if err := requireIdentityTx(ctx, tx, r.ID, p.identity); err != nil {
		return Request{}, err
	}
	actor := audit.ActorFrom(ctx)
	due := r.DueAt
	filed := Event{RequestID: r.ID, Version: 1, At: now, Action: "file", To: r.State, Actor: actor, Ref: r.SubjectID, Deadline: &due}
	if err := insertEvent(ctx, tx, filed); err != nil {
		return Request{}, err
	}
	if err := s.changed(ctx, tx, r, filed); err != nil {
		return Request{}, err
	}
	if _, err := s.audit.AppendTx(ctx, tx, audit.Entry{Actor: actor, Action: "dsr.file", Target: target(r.ID),
		Details: audit.MustDetails(map[string]any{"kind": string(r.Kind), "regime": string(r.Regime), "to": string(r.State),
			"subject_known": r.SubjectID != "", "has_details": r.HasDetails, "channel": string(r.Channel),
			"proposed": r.Proposed, "auto_approved": r.ProposalApprovedAt != nil,
			"identity_tier": string(p.identity.Tier())})}); err != nil {
		return Request{}, err
	}
	return r, nil
}

func insertEvent(ctx context.Context, tx *sql.Tx, e Event) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO dsr_events (request_id, version, at, action, from_state, to_state,
		actor_kind, actor_id, note, ref, deadline, answer_sealed) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		e.RequestID, e.Version, db.OptMicros(&e.At), e.Action, string(e.From), string(e.To), e.Actor.Kind, e.Actor.ID,
		e.Note, e.Ref, db.OptMicros(e.Deadline), nullBytes(e.answerSealed))
	if err != nil {
		return db.Classify(fmt.Errorf("record request history: %w", err))
	}
	return nil
}

// nullBytes returns b, or NULL for nil: drivers differ on whether a nil
// slice is NULL or an empty blob.
func nullBytes(b []byte) any {
	if b == nil {
		return nil
	}
	return b
}

const requestColumns = `id, kind, regime, state, resume_state, subject_id, email_hash, details_sealed IS NOT NULL,
	received_at, acknowledge_by, acknowledged_at, due_at, extended_until, extension_reason, question,
	rejection_reason, result_ref, waiting_on, last_reminded_at, closed_at, updated_at, version,
	paused_at, language, channel, proposal_fields, proposal_approved_at`

func scanRequest(scan func(...any) error) (Request, error) {
	var r Request
	var received, due, updated int64
	var ackBy, acked, extended, reminded, closed, paused, approved sql.NullInt64
	var proposed string
	err := scan(&r.ID, &r.Kind, &r.Regime, &r.State, &r.resume, &r.SubjectID, &r.EmailHash, &r.HasDetails,
		&received, &ackBy, &acked, &due, &extended, &r.ExtensionReason, &r.Question,
		&r.RejectionReason, &r.ResultRef, &r.WaitingOn, &reminded, &closed, &updated, &r.Version,
		&paused, &r.Language, &r.Channel, &proposed, &approved)
	if err != nil {
		return Request{}, err
	}
	if proposed != "" {
		r.Proposed = strings.Split(proposed, ",")
	}
	r.ProposalApprovedAt = db.OptTime(approved)
	r.ReceivedAt, r.DueAt, r.UpdatedAt = time.UnixMicro(received).UTC(), time.UnixMicro(due).UTC(), time.UnixMicro(updated).UTC()
	r.AcknowledgeBy, r.AcknowledgedAt, r.ExtendedUntil = db.OptTime(ackBy), db.OptTime(acked), db.OptTime(extended)
	r.LastRemindedAt, r.ClosedAt, r.PausedAt = db.OptTime(reminded), db.OptTime(closed), db.OptTime(paused)
	return r, nil
}

// get reads one request; with a non-nil emailHash, only the requester's own:
// another person's request is not found, exactly like a missing one.
func get(ctx context.Context, q db.Querier, id string, emailHash []byte) (Request, error) {
	return getFor(ctx, q, id, emailHash, "")
}

// getFor is get with a locking clause appended to the query.
func getFor(ctx context.Context, q db.Querier, id string, emailHash []byte, lock string) (Request, error) {
	query, args := `SELECT `+requestColumns+` FROM dsr_requests WHERE id = $1`, []any{id}
	if emailHash != nil {
		query, args = query+` AND email_hash = $2`, append(args, emailHash)
	}
	r, err := scanRequest(q.QueryRowContext(ctx, query+lock, args...).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return Request{}, errs.NotFound("request", id)
	}
	if err != nil {
		return Request{}, db.Classify(fmt.Errorf("read request: %w", err))
	}
	return r, nil
}

// Get returns a request, for staff and jobs.
func (s *Service) Get(ctx context.Context, id string) (Request, error) {
	return get(ctx, s.db, id, nil)
}

// ForRequester returns a request if it was filed from the email whose blind
// index is emailHash; for anyone else it is not found, with the same error
// as a request that does not exist. The portal reads requests only through
// it.
func (s *Service) ForRequester(ctx context.Context, emailHash []byte, id string) (Request, error) {
	if len(emailHash) == 0 {
		return Request{}, errs.NotFound("request", id)
	}
	return get(ctx, s.db, id, emailHash)
}

// ListForRequester returns the requests filed from the email whose blind
// index is emailHash, newest first.
func (s *Service) ListForRequester(ctx context.Context, emailHash []byte) ([]Request, error) {
	if len(emailHash) == 0 {
		return []Request{}, nil
	}
	return s.list(ctx, `SELECT `+requestColumns+` FROM dsr_requests WHERE email_hash = $1 ORDER BY received_at DESC, id DESC`, emailHash)
}

func (s *Service) list(ctx context.Context, query string, args ...any) ([]Request, error) {
	out, err := db.QueryAll(ctx, s.db, query, args, scanRequest)
	if err != nil {
		return nil, db.Classify(fmt.Errorf("list requests: %w", err))
	}
	return out, nil
}

// QueueFilter selects the console's queue. Empty fields select everything.
type QueueFilter struct {
	States []State // open states only
	Kinds  []Kind
	// Limit bounds the answer: the requests due soonest (default 200, at
	// most 1000).
	Limit int
}

// Queue returns the open requests that f selects, the soonest deadline
// first, flagged at risk or overdue as of now.
func (s *Service) Queue(ctx context.Context, f QueueFilter) ([]Queued, error) {
	problems := map[string]string{}
	states := f.States
	if len(states) == 0 {
		states = OpenStates
	}
	for _, st := range states {
		if !st.Open() {
			problems["states"] = "the queue holds open requests: received, verified, in_progress, waiting_for_customer"
		}
	}
	for _, k := range f.Kinds {
		if !k.Valid() {
			problems["kinds"] = "must be access, export, rectification, erasure, restriction or objection"
		}
	}
	switch {
	case f.Limit == 0:
		f.Limit = 200
	case f.Limit < 0 || f.Limit > 1000:
		problems["limit"] = "must be 1 to 1000"
	}
	if len(problems) > 0 {
		return nil, errs.Fields(problems)
	}
	var where []string
	var args []any
	in := func(column string, values []string) {
		marks := make([]string, len(values))
		for i, v := range values {
			args = append(args, v)
			marks[i] = fmt.Sprintf("$%d", len(args))
		}
		where = append(where, column+" IN ("+strings.Join(marks, ", ")+")")
	}
	in("state", strs(states))
	if len(f.Kinds) > 0 {
		in("kind", strs(f.Kinds))
	}
	args = append(args, f.Limit)
	requests, err := s.list(ctx, `SELECT `+requestColumns+` FROM dsr_requests WHERE `+strings.Join(where, " AND ")+
		fmt.Sprintf(` ORDER BY COALESCE(extended_until, due_at), received_at, id LIMIT $%d`, len(args)), args...)
	if err != nil {
		return nil, err
	}
	return s.flag(requests, s.now()), nil
}

func strs[T ~string](values []T) []string {
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = string(v)
	}
	return out
}

func (s *Service) flag(requests []Request, now time.Time) []Queued {
	out := make([]Queued, len(requests))
	for i, r := range requests {
		out[i] = Queued{Request: r, AtRisk: r.AtRisk(now, s.policies.AtRiskMargin), Overdue: r.Overdue(now)}
	}
	return out
}

// DueReminders returns the open requests that are at risk or overdue at now
// and were not named for ReminderInterval, the soonest deadline first. The
// jobs that email privacy officers call it, then MarkReminded. The rule is
// applied here rather than in SQL, so that it exists once; open requests
// are few.
func (s *Service) DueReminders(ctx context.Context, now time.Time) ([]Queued, error) {
	marks := make([]string, len(OpenStates))
	args := make([]any, len(OpenStates))
	for i, st := range OpenStates {
		marks[i], args[i] = fmt.Sprintf("$%d", i+1), string(st)
	}
	open, err := s.list(ctx, `SELECT `+requestColumns+` FROM dsr_requests WHERE state IN (`+strings.Join(marks, ", ")+`)
		ORDER BY COALESCE(extended_until, due_at), received_at, id`, args...)
	if err != nil {
		return nil, err
	}
	out := []Queued{}
	for _, q := range s.flag(open, now) {
		last := q.Request.LastRemindedAt
		if q.AtRisk && (last == nil || now.Sub(*last) >= s.remind) {
			out = append(out, q)
		}
	}
	return out, nil
}

// MarkReminded records that the privacy officers were reminded of a request
// now. It is bookkeeping for DueReminders, not a change of the request: no
// history event, no audit entry.
func (s *Service) MarkReminded(ctx context.Context, id string) error {
	res, err := s.db.ExecContext(ctx, `UPDATE dsr_requests SET last_reminded_at = $2 WHERE id = $1`, id, s.now().UnixMicro())
	if err != nil {
		return db.Classify(fmt.Errorf("mark request reminded: %w", err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errs.NotFound("request", id)
	}
	return nil
}

// History returns the events of a request, oldest first.
func (s *Service) History(ctx context.Context, id string) ([]Event, error) {
	out, err := db.QueryAll(ctx, s.db, `SELECT version, at, action, from_state, to_state, actor_kind, actor_id, note, ref, deadline,
		answer_sealed IS NOT NULL FROM dsr_events WHERE request_id = $1 ORDER BY version`, []any{id}, func(scan func(...any) error) (Event, error) {
		e := Event{RequestID: id}
		var at int64
		var deadline sql.NullInt64
		if err := scan(&e.Version, &at, &e.Action, &e.From, &e.To, &e.Actor.Kind, &e.Actor.ID, &e.Note, &e.Ref, &deadline, &e.Answered); err != nil {
			return Event{}, err
		}
		e.At, e.Deadline = time.UnixMicro(at).UTC(), db.OptTime(deadline)
		return e, nil
	})
	if err != nil {
		return nil, db.Classify(fmt.Errorf("read request history: %w", err))
	}
	if len(out) == 0 { // every request has its filing event
		return nil, errs.NotFound("request", id)
	}
	return out, nil
}

// Contact returns the requester's email, to write back to them. Opening it
// is recorded in the audit log first: no entry, no address.
func (s *Service) Contact(ctx context.Context, id string) (string, error) {
	return s.reveal(ctx, id, "email", `SELECT email_sealed FROM dsr_requests WHERE id = $1`, emailAAD(id))
}

// Details returns what the customer wrote with the request ("" when they
// wrote nothing). Opening it is recorded in the audit log first.
func (s *Service) Details(ctx context.Context, id string) (string, error) {
	return s.reveal(ctx, id, "details", `SELECT details_sealed FROM dsr_requests WHERE id = $1`, detailsAAD(id))
}

// Proposal returns the new values a rectification proposes, by field
// target (nil when none, or forgotten by an erasure). Opening it is
// recorded in the audit log first.
func (s *Service) Proposal(ctx context.Context, id string) (map[string]string, error) {
	plain, err := s.reveal(ctx, id, "proposal", `SELECT proposal_sealed FROM dsr_requests WHERE id = $1`, proposalAAD(id))
	if err != nil || plain == "" {
		return nil, err
	}
	var out map[string]string
	if err := json.Unmarshal([]byte(plain), &out); err != nil {
		return nil, fmt.Errorf("read request proposal: %w", err)
	}
	return out, nil
}

func (s *Service) reveal(ctx context.Context, id, field, query string, associated []byte) (string, error) {
	var sealed []byte
	err := s.db.QueryRowContext(ctx, query, id).Scan(&sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return "", errs.NotFound("request", id)
	}
	if err != nil {
		return "", db.Classify(fmt.Errorf("read request %s: %w", field, err))
	}
	if len(sealed) == 0 { // none written, or forgotten by an erasure
		return "", nil
	}
	if _, err := s.audit.Append(ctx, audit.Entry{Actor: audit.ActorFrom(ctx), Action: "dsr.reveal", Target: target(id),
		Details: audit.MustDetails(map[string]any{"field": field})}); err != nil {
		return "", err
	}
	plain, err := s.secrets.Open(ctx, sealed, associated)
	if err != nil {
		return "", fmt.Errorf("open request %s: %w", field, err)
	}
	return string(plain), nil
}
