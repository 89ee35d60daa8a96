package dsr

import (
	"slices"
	"strings"
	"time"

	"github.com/steward-dev/steward/internal/audit"
)

// Kind is what a customer asks for.
type Kind string

// The kinds of request (GDPR Art. 15 to 21; under the CCPA: know, correct,
// delete, limit the use of sensitive data, opt out of sale or sharing).
const (
	KindAccess        Kind = "access"
	KindExport        Kind = "export" // portability: the data in a machine-readable archive
	KindRectification Kind = "rectification"
	KindErasure       Kind = "erasure"
	KindRestriction   Kind = "restriction"
	KindObjection     Kind = "objection"
)

// Kinds lists every kind of request.
var Kinds = []Kind{KindAccess, KindExport, KindRectification, KindErasure, KindRestriction, KindObjection}

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool { return slices.Contains(Kinds, k) }

// takesDetails reports whether the customer may describe the request in
// their own words: what to correct, or why they object. Other kinds take
// none, so that no free text is collected that the work does not need.
func (k Kind) takesDetails() bool { return k == KindRectification || k == KindObjection }

// Regime is the law a request is handled under. The caller chooses it from
// the customer's jurisdiction.
type Regime string

// The regimes.
const (
	GDPR Regime = "gdpr" // and the UK GDPR
	CCPA Regime = "ccpa" // as amended by the CPRA
)

// Regimes lists every regime.
var Regimes = []Regime{GDPR, CCPA}

// Valid reports whether r is a known regime.
func (r Regime) Valid() bool { return slices.Contains(Regimes, r) }

// State is where a request stands.
type State string

// The states. The first four are open; the last three are final.
const (
	StateReceived           State = "received"             // filed, identity not yet verified
	StateVerified           State = "verified"             // the requester is who they say
	StateInProgress         State = "in_progress"          // the work is under way
	StateWaitingForCustomer State = "waiting_for_customer" // staff asked the customer something
	StateCompleted          State = "completed"
	StateRejected           State = "rejected"
	StateCancelled          State = "cancelled" // withdrawn by the customer
)

// States lists every state; OpenStates those of requests still to answer.
var (
	States     = []State{StateReceived, StateVerified, StateInProgress, StateWaitingForCustomer, StateCompleted, StateRejected, StateCancelled}
	OpenStates = []State{StateReceived, StateVerified, StateInProgress, StateWaitingForCustomer}
)

// Valid reports whether s is a known state.
func (s State) Valid() bool { return slices.Contains(States, s) }

// Open reports whether a request in s is still to be answered.
func (s State) Open() bool { return slices.Contains(OpenStates, s) }

// TargetRequest is the audit target kind of a request.
const TargetRequest = "request"

func target(id string) audit.Target { return audit.Target{Kind: TargetRequest, ID: id} }

// Request is a data subject request, without its sealed personal data
// (Contact and Details open those).
type Request struct {
	ID     string `json:"id"`
	Kind   Kind   `json:"kind"`
	Regime Regime `json:"regime"`
	State  State  `json:"state"`
	// SubjectID is Steward's id of the customer; empty until staff know who
	// filed (AttachSubject).
	SubjectID string `json:"subject_id,omitempty"`
	// EmailHash is the blind index of the requester's email
	// (vault.BlindIndex): how a customer finds their own requests.
	EmailHash []byte `json:"-"`
	// HasDetails is whether the customer described the request in their
	// own words (Details).
	HasDetails bool `json:"has_details"`
	// Proposed names the fields a rectification proposes new values for
	// (targets such as "vault:phone" or "shop-db:customers.email"); the
	// values are sealed (Proposal).
	Proposed []string `json:"proposed,omitempty"`
	// ProposalApprovedAt is when the proposal was approved, by an officer
	// (ApproveProposal) or at filing when every field corrects itself.
	ProposalApprovedAt *time.Time `json:"proposal_approved_at,omitempty"`
	ReceivedAt         time.Time  `json:"received_at"`
	// AcknowledgeBy is when receipt must be confirmed; nil when the regime
	// requires no confirmation.
	AcknowledgeBy  *time.Time `json:"acknowledge_by,omitempty"`
	AcknowledgedAt *time.Time `json:"acknowledged_at,omitempty"`
	// DueAt is the deadline given on receipt; ExtendedUntil replaces it once
	// extended (Deadline).
	DueAt           time.Time  `json:"due_at"`
	ExtendedUntil   *time.Time `json:"extended_until,omitempty"`
	ExtensionReason string     `json:"extension_reason,omitempty"`
	// Question is what staff asked the customer, while the request waits
	// for the answer.
	Question        string `json:"question,omitempty"`
	RejectionReason string `json:"rejection_reason,omitempty"`
	// ResultRef names what the work produced (an export archive), for the
	// jobs that deliver it.
	ResultRef string `json:"result_ref,omitempty"`
	// WaitingOn tells the customer what the work waits for ("system
	// shop-db"); never personal data.
	WaitingOn string `json:"waiting_on,omitempty"`
	// PausedAt is when the deadline's clock stopped: staff asked the
	// customer something under a law that stops it while the answer is
	// awaited (Policy.PauseWhileWaiting). The answer moves the deadline on
	// by the days it took.
	PausedAt *time.Time `json:"paused_at,omitempty"`
	// Language is the customer's language (en, de, fr, es), which the
	// emails about the request are written in.
	Language string `json:"language"`
	// Channel is how the request came in: portal, or one of the channels
	// support files a request through on the customer's behalf.
	Channel        Channel    `json:"channel"`
	LastRemindedAt *time.Time `json:"last_reminded_at,omitempty"`
	ClosedAt       *time.Time `json:"closed_at,omitempty"`
	UpdatedAt      time.Time  `json:"updated_at"`
	// Version counts the changes: 1 when filed. The history's events are
	// numbered by it.
	Version int64 `json:"version"`

	// resume is the state to return to when the customer replies.
	resume State
}

// Open reports whether the request is still to be answered.
func (r Request) Open() bool { return r.State.Open() }

// Extended reports whether the deadline was extended.
func (r Request) Extended() bool { return r.ExtendedUntil != nil }

// Deadline is when the answer is due: the extended deadline if there is one.
func (r Request) Deadline() time.Time {
	if r.ExtendedUntil != nil {
		return *r.ExtendedUntil
	}
	return r.DueAt
}

// Paused reports whether the deadline's clock is stopped.
func (r Request) Paused() bool { return r.PausedAt != nil }

// clock is the time the deadline is measured at: now, or when the clock
// stopped while it is stopped.
func (r Request) clock(now time.Time) time.Time {
	if r.PausedAt != nil && r.PausedAt.Before(now) {
		return *r.PausedAt
	}
	return now
}

// Overdue reports whether the request is open past its deadline; while the
// clock is stopped, as of when it stopped.
func (r Request) Overdue(now time.Time) bool { return r.Open() && r.clock(now).After(r.Deadline()) }

// AcknowledgementOverdue reports whether the request is open, unconfirmed
// and past the time to confirm its receipt.
func (r Request) AcknowledgementOverdue(now time.Time) bool {
	return r.Open() && r.AcknowledgeBy != nil && r.AcknowledgedAt == nil && now.After(*r.AcknowledgeBy)
}

// AtRisk reports whether the request is open and due within margin (or
// overdue), or its acknowledgement is overdue.
func (r Request) AtRisk(now time.Time, margin time.Duration) bool {
	return r.Open() && (!r.clock(now).Add(margin).Before(r.Deadline()) || r.AcknowledgementOverdue(now))
}

// Queued is a request in the console's queue, flagged as of the time the
// queue was read.
type Queued struct {
	Request Request `json:"request"`
	AtRisk  bool    `json:"at_risk"`
	Overdue bool    `json:"overdue"`
}

// Event is one entry of a request's history: it was filed, or changed.
type Event struct {
	RequestID string `json:"request_id"`
	// Version is the request's version after the change: 1 for filing.
	Version int64     `json:"version"`
	At      time.Time `json:"at"`
	// Action is the change, as in the audit log without "dsr.": "file",
	// "verify", "extend"...
	Action string `json:"action"`
	// From is empty for filing; From and To are equal for changes that keep
	// the state (extend, acknowledge, attach_subject, waiting_on).
	From  State       `json:"from,omitempty"`
	To    State       `json:"to"`
	Actor audit.Actor `json:"actor"`
	// Note is the text that came with the change: a question, a reason, a
	// waiting-on note. Staff type it; it is kept out of the audit log.
	Note string `json:"note,omitempty"`
	// Ref is an id the change set: the result reference, the subject
	// attached.
	Ref string `json:"ref,omitempty"`
	// Deadline is the deadline the change set: on filing, on extension, and
	// when the customer's answer restarts a stopped clock.
	Deadline *time.Time `json:"deadline,omitempty"`
	// Answered is whether the customer wrote an answer with the change
	// (customer_replied in the portal); Answers opens it.
	Answered bool `json:"answered,omitempty"`

	answerSealed []byte
}

// Channel is how a request came in.
type Channel string

// The channels. Support files a request on the customer's behalf for the
// last four (the API's POST /v1/requests).
const (
	ChannelPortal Channel = "portal"
	ChannelPhone  Channel = "phone"
	ChannelEmail  Channel = "email"
	ChannelLetter Channel = "letter"
	ChannelChat   Channel = "chat"
)

// Channels lists every channel.
var Channels = []Channel{ChannelPortal, ChannelPhone, ChannelEmail, ChannelLetter, ChannelChat}

// Valid reports whether c is a known channel.
func (c Channel) Valid() bool { return slices.Contains(Channels, c) }

// Languages are the languages the customer is written to in.
var Languages = []string{"en", "de", "fr", "es"}

// NewRequest is what a customer files.
type NewRequest struct {
	Kind   Kind
	Regime Regime
	// SubjectID is Steward's id of the customer when known; empty otherwise.
	SubjectID string
	// Email is the requester's address, to write back to; it is stored
	// sealed.
	Email string
	// EmailHash is vault.BlindIndex(ctx, "email", Email).
	EmailHash []byte
	// Details is what to correct (rectification, required) or the grounds
	// of an objection (optional); other kinds take none. Stored sealed.
	Details string
	// Language is the customer's language, one of Languages; "" is "en".
	Language string
	// Channel is how the request came in; "" is the portal.
	Channel Channel
	// Proposal is, for a rectification, the new value the customer
	// proposes per field target (see Request.Proposed); the caller has
	// checked that each target is correctable. Stored sealed.
	Proposal map[string]string
	// AutoApprove files the proposal approved: every field it names is
	// corrected without an officer's approval.
	AutoApprove bool
	// Categories are the vault field categories Steward holds for the
	// customer: an export or erasure touching a sensitive one needs data
	// points (IdentityPolicy.Require).
	Categories []string
	// Scope is, for a CCPA request to know (access, export), whether it
	// asks for the categories of information or the specific pieces: the
	// first needs two data points, the second three and the signed
	// declaration. "" leaves the request to the sensitivity rule.
	Scope Scope
}

// Scope is what a CCPA request to know asks for.
type Scope string

// The scopes.
const (
	ScopeCategories Scope = "categories"
	ScopeSpecific   Scope = "specific"
)

// TakesDetails reports whether a request of kind k takes the customer's
// own words: what to correct, or why they object.
func (k Kind) TakesDetails() bool { return k.takesDetails() }

// phrase turns an action into words for messages: "ask_customer" → "ask
// customer".
func phrase(action string) string { return strings.ReplaceAll(action, "_", " ") }
