package dsr

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/errs"
)

// Tier is how far a requester proved who they are.
type Tier string

// The tiers, weakest first. Every request starts with the email code (the
// portal's sign-in, or the address support wrote to); the others are
// reached in the portal's identity step.
const (
	TierCode     Tier = "code"      // the email code
	TierPoints2  Tier = "points2"   // two data points Steward holds
	TierPoints3  Tier = "points3"   // three data points
	TierDeclared Tier = "declared3" // three data points and the signed declaration (CCPA specific pieces)
)

// Requirement is what a request needs beyond the email code.
type Requirement struct {
	// Points is how many data points must match (0: the code suffices).
	Points int `json:"points"`
	// Declaration is whether the requester must sign the declaration
	// under penalty of perjury.
	Declaration bool `json:"declaration"`
}

// Tier names the requirement.
func (q Requirement) Tier() Tier {
	switch {
	case q.Declaration:
		return TierDeclared
	case q.Points >= 3:
		return TierPoints3
	case q.Points > 0:
		return TierPoints2
	}
	return TierCode
}

// IdentityPolicy says which requests need which tier. Zero or empty fields
// take DefaultIdentityPolicy's: no configuration turns the second proof off.
type IdentityPolicy struct {
	// SensitiveCategories are the vault field categories whose export or
	// erasure needs data points under the GDPR.
	SensitiveCategories []string
	// SensitiveKinds are the kinds that need data points when they touch a
	// sensitive category.
	SensitiveKinds []Kind
	// Points is how many data points a sensitive request needs (GDPR) and
	// a CCPA "categories" request needs; CCPA "specific pieces" need
	// Points+1 and the declaration.
	Points int
	// MaxAttempts bounds the tries per request; FailuresBeforeWait failed
	// tries in a row impose Wait before the next.
	MaxAttempts        int
	FailuresBeforeWait int
	Wait               time.Duration
	// AgentExpiry is how long a customer has to confirm an agent's request.
	AgentExpiry time.Duration
}

// DefaultIdentityPolicy is the policy of an unconfigured Steward.
var DefaultIdentityPolicy = IdentityPolicy{
	SensitiveCategories: []string{"financial", "government_id", "health"},
	SensitiveKinds:      []Kind{KindExport, KindErasure},
	Points:              2, MaxAttempts: 10, FailuresBeforeWait: 3, Wait: 15 * time.Minute,
	AgentExpiry: 7 * 24 * time.Hour,
}

func (p IdentityPolicy) withDefaults() IdentityPolicy {
	d := DefaultIdentityPolicy
	if len(p.SensitiveCategories) == 0 {
		p.SensitiveCategories = d.SensitiveCategories
	}
	if len(p.SensitiveKinds) == 0 {
		p.SensitiveKinds = d.SensitiveKinds
	}
	if p.Points <= 0 {
		p.Points = d.Points
	}
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = d.MaxAttempts
	}
	if p.FailuresBeforeWait <= 0 {
		p.FailuresBeforeWait = d.FailuresBeforeWait
	}
	if p.Wait <= 0 {
		p.Wait = d.Wait
	}
	if p.AgentExpiry <= 0 {
		p.AgentExpiry = d.AgentExpiry
	}
	return p
}

// Require returns what a request needs: under the CCPA a request to know
// (access, export) with a scope needs Points data points for categories
// and Points+1 with the signed declaration for specific pieces; any other
// request of a
// sensitive kind that touches a sensitive category needs Points; the rest
// the code only.
func (p IdentityPolicy) Require(regime Regime, kind Kind, categories []string, scope Scope) Requirement {
	p = p.withDefaults()
	if regime == CCPA && (kind == KindAccess || kind == KindExport) {
		switch scope {
		case ScopeSpecific:
			return Requirement{Points: p.Points + 1, Declaration: true}
		case ScopeCategories:
			return Requirement{Points: p.Points}
		}
	}
	if !slices.Contains(p.SensitiveKinds, kind) {
		return Requirement{}
	}
	for _, c := range categories {
		if slices.Contains(p.SensitiveCategories, c) {
			return Requirement{Points: p.Points}
		}
	}
	return Requirement{}
}

// Declaration is the text the requester signs for a CCPA request for
// specific pieces of information; the portal shows it translated.
const Declaration = "I declare under penalty of perjury under the laws of the State of California that I am the consumer whose personal information is the subject of this request."

// Identity is where a request stands on its identity check.
type Identity struct {
	Required Requirement `json:"required"`
	// Reached is the tier reached: the required one once proved, the code
	// before.
	Reached    Tier       `json:"reached"`
	ReachedAt  *time.Time `json:"reached_at,omitempty"`
	DeclaredAt *time.Time `json:"declared_at,omitempty"`
	Attempts   int        `json:"attempts"`
	// LockedUntil is when the next try is allowed, after failed ones.
	LockedUntil *time.Time `json:"locked_until,omitempty"`
	// AttemptsLeft is how many tries remain.
	AttemptsLeft int `json:"attempts_left"`
	// StaffVerified is set when staff recorded that they verified the
	// requester another way (VerifyIdentityByStaff); ReachedAt is then
	// its time.
	StaffVerified *StaffVerification `json:"staff_verification,omitempty"`
}

// Satisfied reports whether the required tier is reached.
func (i Identity) Satisfied() bool { return i.Required.Points == 0 || i.ReachedAt != nil }

// VerifyChannel is how staff verified a requester's identity another way.
type VerifyChannel string

// The channels staff may verify a requester's identity by.
const (
	VerifyPhone    VerifyChannel = "phone"     // a call, with questions only the customer can answer
	VerifyVideo    VerifyChannel = "video"     // a video call
	VerifyInPerson VerifyChannel = "in_person" // a visit, in a store or an office
	VerifyPostal   VerifyChannel = "postal"    // a letter to the address on file, answered
	VerifyOther    VerifyChannel = "other"     // said in the statement
)

// VerifyChannels are the channels, in the order forms offer them.
var VerifyChannels = []VerifyChannel{VerifyPhone, VerifyVideo, VerifyInPerson, VerifyPostal, VerifyOther}

// StaffVerification is staff's record that a requester's identity was
// verified another way than the data points: by whom (a staff member, or
// an API key of the company's support tools), when, by which channel, and
// the statement of the method. No identity document or data point is
// part of it.
type StaffVerification struct {
	By        audit.Actor   `json:"-"`
	ByRef     string        `json:"by"` // By as "kind:id"
	At        time.Time     `json:"at"`
	Channel   VerifyChannel `json:"channel"`
	Statement string        `json:"statement"`
}

// StaffCheck is what staff give when they record a verification made
// another way.
type StaffCheck struct {
	Channel VerifyChannel
	// Statement says how the identity was verified ("called the number on
	// file; the customer answered the two security questions"); it must
	// not quote the answers or any document. The customer's erasure
	// blanks it.
	Statement string
	// Declaration says the requester signed the declaration (a letter,
	// a form in store); required where the request needs it.
	Declaration bool
}

// Limits of a staff statement, in characters.
const (
	minStatement = 10
	maxStatement = 1000
)

// requireIdentityTx records what request id needs, in the filing's
// transaction; nothing for a request the code suffices for.
func requireIdentityTx(ctx context.Context, tx *sql.Tx, id string, q Requirement) error {
	if q.Points == 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO dsr_identity (request_id, points_required, declaration_required) VALUES ($1, $2, $3)`,
		id, q.Points, boolInt(q.Declaration)); err != nil {
		return db.Classify(fmt.Errorf("record identity requirement: %w", err))
	}
	return nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Identity returns where request id stands on its identity check.
func (s *Service) Identity(ctx context.Context, id string) (Identity, error) {
	return s.identity(ctx, s.db, id)
}

func (s *Service) identity(ctx context.Context, q db.Querier, id string) (Identity, error) {
	var out Identity
	var declaration int
	var reached, declared, locked, staffAt sql.NullInt64
	var staffBy, staffChannel, staffStatement sql.NullString
	err := q.QueryRowContext(ctx, `SELECT points_required, declaration_required, reached_at, declared_at, attempts, locked_until,
		staff_verified_at, staff_verified_by, staff_channel, staff_statement
		FROM dsr_identity WHERE request_id = $1`, id).Scan(&out.Required.Points, &declaration, &reached, &declared, &out.Attempts, &locked,
		&staffAt, &staffBy, &staffChannel, &staffStatement)
	if errors.Is(err, sql.ErrNoRows) {
		return Identity{Reached: TierCode}, nil
	}
	if err != nil {
		return Identity{}, db.Classify(fmt.Errorf("read identity check: %w", err))
	}
	out.Required.Declaration = declaration != 0
	out.ReachedAt, out.DeclaredAt = db.OptTime(reached), db.OptTime(declared)
	out.Reached = TierCode
	if out.ReachedAt != nil {
		out.Reached = out.Required.Tier()
	}
	if l := db.OptTime(locked); l != nil && l.After(s.now()) {
		out.LockedUntil = l
	}
	out.AttemptsLeft = max(0, s.identityPolicy.MaxAttempts-out.Attempts)
	if staffAt.Valid {
		kind, actorID, _ := strings.Cut(staffBy.String, ":")
		out.StaffVerified = &StaffVerification{By: audit.Actor{Kind: kind, ID: actorID}, ByRef: staffBy.String,
			At: time.UnixMicro(staffAt.Int64).UTC(), Channel: VerifyChannel(staffChannel.String), Statement: staffStatement.String}
	}
	return out, nil
}

// VerifyIdentityByStaff records that staff verified the requester of
// request id another way than the data points (a call with security
// questions, a visit in store), which satisfies the tier the request
// needs, declaration included when the check says it was signed. The
// actor in ctx must be a staff member or an API key (errs.CodeForbidden
// otherwise). Only an open request whose tier is not reached yet takes it
// (errs.CodeConflict); a channel not in VerifyChannels, a statement of
// fewer than 10 or more than 1000 characters, or a missing declaration
// are errs.CodeInvalid naming the field. It is audited
// (dsr.identity_verified_by_staff, with the tier and the channel: never
// the statement, which staff write freely).
func (s *Service) VerifyIdentityByStaff(ctx context.Context, id string, check StaffCheck) (Identity, error) {
	actor := audit.ActorFrom(ctx)
	if (actor.Kind != audit.KindStaff && actor.Kind != audit.KindAPIKey) || actor.ID == "" {
		return Identity{}, errs.New(errs.CodeForbidden, "only staff or an API key of the company record an identity verified another way")
	}
	check.Statement = strings.TrimSpace(check.Statement)
	problems := errs.Problems{}
	if !slices.Contains(VerifyChannels, check.Channel) {
		problems.Add("channel", "verify_channel")
	}
	if n := len([]rune(check.Statement)); n < minStatement || n > maxStatement {
		problems.Add("statement", "verify_statement", "min", minStatement, "max", maxStatement)
	}
	if len(problems) > 0 {
		return Identity{}, errs.FieldsKeyed(problems)
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		r, err := get(ctx, tx, id, nil)
		if err != nil {
			return err
		}
		if !r.Open() {
			return errs.New(errs.CodeConflict, "request %s is %s", id, phrase(string(r.State)))
		}
		cur, err := s.identity(ctx, tx, id)
		if err != nil {
			return err
		}
		switch {
		case cur.Required.Points == 0:
			return errs.New(errs.CodeConflict, "request %s needs the email code only: there is no identity check to record", id)
		case cur.Satisfied():
			return errs.New(errs.CodeConflict, "the identity for request %s is verified already", id)
		case cur.Required.Declaration && !check.Declaration:
			return errs.InvalidKeyed("declaration", "declaration_needed")
		}
		declared := any(nil)
		if cur.Required.Declaration {
			declared = now.UnixMicro()
		}
		res, err := tx.ExecContext(ctx, `UPDATE dsr_identity SET reached_at = $2, declared_at = $3, failures = 0, locked_until = NULL,
			staff_verified_at = $2, staff_verified_by = $4, staff_channel = $5, staff_statement = $6
			WHERE request_id = $1 AND reached_at IS NULL`, id, now.UnixMicro(), declared, actor.String(), string(check.Channel), check.Statement)
		if err != nil {
			return db.Classify(fmt.Errorf("record identity verified by staff: %w", err))
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errs.New(errs.CodeConflict, "the identity for request %s is verified already", id)
		}
		_, err = s.audit.AppendTx(ctx, tx, audit.Entry{Actor: actor, Action: "dsr.identity_verified_by_staff", Target: target(id),
			Details: audit.MustDetails(map[string]any{"tier": string(cur.Required.Tier()), "channel": string(check.Channel),
				"declaration": cur.Required.Declaration})})
		return err
	})
	if err != nil {
		return Identity{}, err
	}
	return s.Identity(ctx, id)
}

// DataPoint is one answer the requester typed: the name of a data point
// the policy allows (see Config.MatchDataPoint) and the value.
type DataPoint struct {
	Name  string
	Value string
}

// Proof is what the requester gives in the identity step.
type Proof struct {
	Points []DataPoint
	// Declared is the requester's ticking of the declaration's box.
	Declared bool
}

// Limits of a proof.
const maxPointValue = 200 // bytes

// ErrIdentityNotReached is wrapped by the refusal to work on a request
// whose required tier is not reached.
var ErrIdentityNotReached = errors.New("identity not verified to the tier the request needs")

// ProveIdentity checks the data points a requester typed for their own
// request (emailHash scopes it: another person's request is not found)
// against the data Steward holds for the request's subject. The values are
// compared by Config.MatchDataPoint in constant time, never stored, logged
// or echoed: a refusal says only that they did not all match. Each try
// counts; FailuresBeforeWait failures in a row impose a wait, and after
// MaxAttempts the request can only be verified by staff. A success
// records the tier reached. Every try is audited, with counts only.
func (s *Service) ProveIdentity(ctx context.Context, emailHash []byte, id string, proof Proof) (Identity, error) {
	if len(emailHash) == 0 {
		return Identity{}, errs.NotFound("request", id)
	}
	r, err := get(ctx, s.db, id, emailHash)
	if err != nil {
		return Identity{}, err
	}
	if !r.Open() {
		return Identity{}, errs.New(errs.CodeConflict, "request %s is %s", id, phrase(string(r.State)))
	}
	cur, err := s.Identity(ctx, id)
	if err != nil {
		return Identity{}, err
	}
	if cur.Satisfied() {
		return cur, nil
	}
	problems := map[string]string{}
	names := map[string]bool{}
	for _, p := range proof.Points {
		if p.Name == "" || strings.TrimSpace(p.Value) == "" || len(p.Value) > maxPointValue {
			problems["points"] = fmt.Sprintf("give %d different data points", cur.Required.Points)
		}
		names[p.Name] = true
	}
	if len(names) < cur.Required.Points || len(names) != len(proof.Points) {
		problems["points"] = fmt.Sprintf("give %d different data points", cur.Required.Points)
	}
	if cur.Required.Declaration && !proof.Declared {
		problems["declaration"] = "sign the declaration"
	}
	if len(problems) > 0 {
		return cur, errs.Fields(problems)
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	actor := audit.ActorFrom(ctx)
	// The try is counted before the values are compared, in a transaction
	// of its own, so that concurrent tries cannot exceed the limits.
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		var attempts int
		var locked sql.NullInt64
		if err := tx.QueryRowContext(ctx, `SELECT attempts, locked_until FROM dsr_identity WHERE request_id = $1`+s.lockClause(), id).
			Scan(&attempts, &locked); err != nil {
			return db.Classify(fmt.Errorf("read identity check: %w", err))
		}
		if locked.Valid && now.Before(time.UnixMicro(locked.Int64)) {
			return errs.New(errs.CodeConflict, "too many failed tries: try again after %s", time.UnixMicro(locked.Int64).UTC().Format(time.RFC3339))
		}
		if attempts >= s.identityPolicy.MaxAttempts {
			return errs.New(errs.CodeConflict, "no tries left on request %s: staff will contact you", id)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE dsr_identity SET attempts = attempts + 1 WHERE request_id = $1`, id); err != nil {
			return db.Classify(fmt.Errorf("count identity try: %w", err))
		}
		return nil
	})
	if err != nil {
		return cur, err
	}
	matched := 0
	if s.matchPoint != nil && r.SubjectID != "" {
		for _, p := range proof.Points {
			ok, err := s.matchPoint(ctx, r.SubjectID, p.Name, p.Value)
			if err != nil {
				return cur, fmt.Errorf("match data point: %w", err)
			}
			if ok {
				matched++
			}
		}
	}
	success := matched >= cur.Required.Points
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		if success {
			declared := any(nil)
			if cur.Required.Declaration {
				declared = now.UnixMicro()
			}
			if _, err := tx.ExecContext(ctx, `UPDATE dsr_identity SET reached_at = $2, declared_at = $3, failures = 0, locked_until = NULL
				WHERE request_id = $1`, id, now.UnixMicro(), declared); err != nil {
				return db.Classify(fmt.Errorf("record identity: %w", err))
			}
		} else {
			var failures int
			if err := tx.QueryRowContext(ctx, `SELECT failures FROM dsr_identity WHERE request_id = $1`, id).Scan(&failures); err != nil {
				return db.Classify(fmt.Errorf("read identity check: %w", err))
			}
			failures++
			locked := any(nil)
			if failures%s.identityPolicy.FailuresBeforeWait == 0 {
				locked = now.Add(s.identityPolicy.Wait).UnixMicro()
			}
			if _, err := tx.ExecContext(ctx, `UPDATE dsr_identity SET failures = $2, locked_until = $3 WHERE request_id = $1`,
				id, failures, locked); err != nil {
				return db.Classify(fmt.Errorf("record identity failure: %w", err))
			}
		}
		_, err := s.audit.AppendTx(ctx, tx, audit.Entry{Actor: actor, Action: "dsr.prove_identity", Target: target(id),
			Details: audit.MustDetails(map[string]any{"tier": string(cur.Required.Tier()), "success": success,
				"points_given": len(proof.Points), "declared": proof.Declared && cur.Required.Declaration})})
		return err
	})
	if err != nil {
		return cur, err
	}
	out, err := s.Identity(ctx, id)
	if err != nil {
		return Identity{}, err
	}
	if !success {
		return out, errs.Invalid("points", "the data points do not match what we hold; check them and try again")
	}
	return out, nil
}

func (s *Service) lockClause() string {
	if s.db.Dialect == db.Postgres {
		return " FOR UPDATE"
	}
	return ""
}

// checkWorkable refuses to verify or work on a request whose required
// tier is not reached, or that an agent filed and the customer has not
// confirmed.
func (s *Service) checkWorkable(ctx context.Context, q db.Querier, id string) error {
	idn, err := s.identity(ctx, q, id)
	if err != nil {
		return err
	}
	if !idn.Satisfied() {
		return errs.Wrap(errs.CodeConflict, ErrIdentityNotReached,
			fmt.Sprintf("request %s is waiting for the customer to confirm their identity (%s needed)", id, idn.Required.Tier()))
	}
	ag, err := agentOf(ctx, q, id)
	if err != nil {
		return err
	}
	if ag != nil && ag.ConfirmedAt == nil {
		return errs.Wrap(errs.CodeConflict, ErrIdentityNotReached,
			fmt.Sprintf("request %s was filed by an agent and is waiting for the customer to confirm it", id))
	}
	return nil
}

// CheckWorkable returns an error wrapping ErrIdentityNotReached when
// request id may not be worked on yet: the fulfilment jobs call it before
// exporting or erasing anything.
func (s *Service) CheckWorkable(ctx context.Context, id string) error {
	return s.checkWorkable(ctx, s.db, id)
}

// Agent is what an authorised agent gives when filing for a customer.
type Agent struct {
	Name  string `json:"name"`
	Email string `json:"email"`
	// Mandate is the text of the mandate, or a statement of the customer's
	// written permission. No document is stored.
	Mandate string `json:"mandate"`
}

// AgentRecord is an agent's request as staff see it; Agent is filled only
// by AgentDetails, which audits the opening.
type AgentRecord struct {
	RequestID   string     `json:"request_id"`
	FiledAt     time.Time  `json:"filed_at"`
	ExpiresAt   time.Time  `json:"expires_at"`
	ConfirmedAt *time.Time `json:"confirmed_at,omitempty"`
	Agent       *Agent     `json:"agent,omitempty"`
}

const maxMandate = 4000 // characters

func agentAAD(id string) []byte { return []byte("dsr.agent:" + id) }

// FileByAgent files a request an agent makes for a customer (in.Email is
// the customer's address, written to for confirmation). agentHash is the
// blind index of the agent's email. It returns the request and the token
// of the customer's confirmation link, which is stored only as its hash.
// The request waits in received until the customer confirms
// (ConfirmAgent); it cannot be verified or worked on before.
func (s *Service) FileByAgent(ctx context.Context, in NewRequest, a Agent, agentHash []byte) (Request, string, error) {
	problems := map[string]string{}
	a.Name, a.Mandate = strings.TrimSpace(a.Name), strings.TrimSpace(a.Mandate)
	if a.Name == "" || len(a.Name) > 200 {
		problems["agent_name"] = "give the agent's name (at most 200 characters)"
	}
	agentEmail, ok := checkEmail(a.Email)
	if !ok {
		problems["agent_email"] = "must be an email address"
	}
	a.Email = agentEmail
	if len(agentHash) != sha256.Size {
		problems["agent_email_hash"] = "must be the 32-byte blind index of the agent's email"
	}
	if a.Mandate == "" || len([]rune(a.Mandate)) > maxMandate {
		problems["mandate"] = fmt.Sprintf("give the mandate or the statement of written permission (at most %d characters)", maxMandate)
	}
	if ok && strings.EqualFold(agentEmail, strings.TrimSpace(in.Email)) {
		problems["agent_email"] = "an agent files for someone else: the customer's address must differ"
	}
	if len(problems) > 0 {
		return Request{}, "", errs.Fields(problems)
	}
	p, err := s.Prepare(ctx, in)
	if err != nil {
		return Request{}, "", err
	}
	plain := []byte(a.Name + "\x00" + a.Email + "\x00" + a.Mandate)
	sealed, err := s.secrets.Seal(ctx, plain, agentAAD(p.id))
	if err != nil {
		return Request{}, "", fmt.Errorf("seal agent: %w", err)
	}
	var tok [24]byte
	if _, err := rand.Read(tok[:]); err != nil {
		return Request{}, "", fmt.Errorf("agent token: %w", err)
	}
	token := base64.RawURLEncoding.EncodeToString(tok[:])
	th := sha256.Sum256([]byte(token))
	var r Request
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		if r, err = s.FileTx(ctx, tx, p); err != nil {
			return err
		}
		now := r.ReceivedAt
		if _, err := tx.ExecContext(ctx, `INSERT INTO dsr_agents (request_id, agent_hash, agent_sealed, token_hash, expires_at, filed_at)
			VALUES ($1, $2, $3, $4, $5, $6)`, r.ID, agentHash, sealed, th[:], now.Add(s.identityPolicy.AgentExpiry).UnixMicro(), now.UnixMicro()); err != nil {
			return db.Classify(fmt.Errorf("record agent: %w", err))
		}
		_, err = s.audit.AppendTx(ctx, tx, audit.Entry{Actor: audit.ActorFrom(ctx), Action: "dsr.agent_file", Target: target(r.ID),
			Details: audit.MustDetails(map[string]any{"kind": string(r.Kind), "regime": string(r.Regime)})})
		return err
	})
	if err != nil {
		return Request{}, "", err
	}
	return r, token, nil
}

func agentOf(ctx context.Context, q db.Querier, id string) (*AgentRecord, error) {
	a := AgentRecord{RequestID: id}
	var filed, expires int64
	var confirmed sql.NullInt64
	err := q.QueryRowContext(ctx, `SELECT filed_at, expires_at, confirmed_at FROM dsr_agents WHERE request_id = $1`, id).
		Scan(&filed, &expires, &confirmed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, db.Classify(fmt.Errorf("read agent: %w", err))
	}
	a.FiledAt, a.ExpiresAt, a.ConfirmedAt = time.UnixMicro(filed).UTC(), time.UnixMicro(expires).UTC(), db.OptTime(confirmed)
	return &a, nil
}

// AgentOf returns the agent record of request id, nil when the customer
// filed it themselves. It opens nothing sealed.
func (s *Service) AgentOf(ctx context.Context, id string) (*AgentRecord, error) {
	return agentOf(ctx, s.db, id)
}

// AgentDetails returns the agent's name, email and mandate, for staff.
// The opening is audited first; nil when there is no agent or the
// customer's erasure forgot them.
func (s *Service) AgentDetails(ctx context.Context, id string) (*Agent, error) {
	plain, err := s.reveal(ctx, id, "agent", `SELECT agent_sealed FROM dsr_agents WHERE request_id = $1`, agentAAD(id))
	if errs.CodeOf(err) == errs.CodeNotFound || plain == "" {
		if err != nil && errs.CodeOf(err) != errs.CodeNotFound {
			return nil, err
		}
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	parts := strings.SplitN(plain, "\x00", 3)
	if len(parts) != 3 {
		return nil, errors.New("read agent: malformed")
	}
	return &Agent{Name: parts[0], Email: parts[1], Mandate: parts[2]}, nil
}

// ConfirmAgent records the customer's confirmation of an agent's request
// by the link emailed to them: token must be the one issued for request
// id (compared in constant time), unexpired and unused. Afterwards the
// request proceeds as the customer's own.
func (s *Service) ConfirmAgent(ctx context.Context, id, token string) (Request, error) {
	now := s.now().UTC().Truncate(time.Microsecond)
	var out Request
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		var th []byte
		var expires int64
		var confirmed sql.NullInt64
		err := tx.QueryRowContext(ctx, `SELECT token_hash, expires_at, confirmed_at FROM dsr_agents WHERE request_id = $1`+s.lockClause(), id).
			Scan(&th, &expires, &confirmed)
		given := sha256.Sum256([]byte(token))
		if errors.Is(err, sql.ErrNoRows) || (err == nil && subtle.ConstantTimeCompare(th, given[:]) != 1) {
			return errs.NotFound("confirmation link", id)
		}
		if err != nil {
			return db.Classify(fmt.Errorf("read agent: %w", err))
		}
		r, err := get(ctx, tx, id, nil)
		if err != nil {
			return err
		}
		if confirmed.Valid {
			out = r
			return nil
		}
		if !now.Before(time.UnixMicro(expires)) || r.State != StateReceived {
			return errs.New(errs.CodeConflict, "the confirmation link has expired; ask the agent to file the request again")
		}
		if _, err := tx.ExecContext(ctx, `UPDATE dsr_agents SET confirmed_at = $2 WHERE request_id = $1`, id, now.UnixMicro()); err != nil {
			return db.Classify(fmt.Errorf("confirm agent: %w", err))
		}
		_, err = s.audit.AppendTx(ctx, tx, audit.Entry{Actor: audit.ActorFrom(ctx), Action: "dsr.agent_confirm", Target: target(id),
			Details: audit.MustDetails(map[string]any{"kind": string(r.Kind), "regime": string(r.Regime)})})
		out = r
		return err
	})
	return out, err
}

// ExpireAgentRequests rejects the agents' requests the customer did not
// confirm in time, and returns their ids. The jobs run it periodically.
func (s *Service) ExpireAgentRequests(ctx context.Context) ([]string, error) {
	now := s.now().UTC()
	ids, err := db.QueryAll(ctx, s.db, `SELECT a.request_id FROM dsr_agents a JOIN dsr_requests r ON r.id = a.request_id
		WHERE a.confirmed_at IS NULL AND a.expires_at <= $1 AND r.state = $2 ORDER BY a.request_id`,
		[]any{now.UnixMicro(), string(StateReceived)}, func(scan func(...any) error) (string, error) {
			var id string
			return id, scan(&id)
		})
	if err != nil {
		return nil, db.Classify(fmt.Errorf("list expired agent requests: %w", err))
	}
	out := []string{}
	for _, id := range ids {
		if _, err := s.apply(ctx, id, change{action: "agent_expire", from: []State{StateReceived},
			apply: func(r *Request, e *Event, _ time.Time, _ map[string]any) error {
				r.State, r.RejectionReason = StateRejected, "the customer did not confirm the agent's request in time"
				e.Note = r.RejectionReason
				return nil
			}}); err != nil {
			return out, err
		}
		out = append(out, id)
	}
	return out, nil
}

// forgetAgentTx blanks what an agent wrote about the person, and what
// staff wrote of how they verified them.
func forgetAgentTx(ctx context.Context, tx *sql.Tx, id string) error {
	if _, err := tx.ExecContext(ctx, `UPDATE dsr_agents SET agent_sealed = $2 WHERE request_id = $1`, id, []byte{}); err != nil {
		return fmt.Errorf("dsr: forget agent: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE dsr_identity SET staff_statement = '' WHERE request_id = $1 AND staff_statement <> ''`, id); err != nil {
		return fmt.Errorf("dsr: forget staff statement: %w", err)
	}
	return nil
}

// CheckWorkableFor is CheckWorkable for work that touches the data
// categories given (those Steward holds for the subject now): when they
// call for a higher tier than the request was filed with, the higher tier
// is recorded (audited) and the request waits for the customer to reach
// it. The fulfilment jobs call it before exporting or erasing.
func (s *Service) CheckWorkableFor(ctx context.Context, id string, categories []string) error {
	r, err := s.Get(ctx, id)
	if err != nil {
		return err
	}
	need := s.identityPolicy.Require(r.Regime, r.Kind, categories, "")
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		cur, err := s.identity(ctx, tx, id)
		if err != nil || need.Points <= cur.Required.Points {
			return err
		}
		if cur.Required.Points == 0 {
			err = requireIdentityTx(ctx, tx, id, need)
		} else {
			// A verification made for the lower tier, by the customer or by
			// staff, does not stand for the higher one.
			_, err = tx.ExecContext(ctx, `UPDATE dsr_identity SET points_required = $2, reached_at = NULL,
				staff_verified_at = NULL, staff_verified_by = NULL, staff_channel = NULL, staff_statement = NULL WHERE request_id = $1`, id, need.Points)
		}
		if err != nil {
			return db.Classify(fmt.Errorf("raise identity requirement: %w", err))
		}
		_, err = s.audit.AppendTx(ctx, tx, audit.Entry{Actor: audit.ActorFrom(ctx), Action: "dsr.require_identity", Target: target(id),
			Details: audit.MustDetails(map[string]any{"tier": string(need.Tier())})})
		return err
	})
	if err != nil {
		return err
	}
	return s.CheckWorkable(ctx, id)
}
