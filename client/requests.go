package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// RequestKind is what a data subject asks for.
type RequestKind string

// The kinds of request (GDPR Art. 15 to 21; under the CCPA: know, correct,
// delete, limit, opt out).
const (
	KindAccess RequestKind = "access"
	// KindExport is portability: the data in a machine-readable archive.
	KindExport        RequestKind = "export"
	KindRectification RequestKind = "rectification"
	KindErasure       RequestKind = "erasure"
	KindRestriction   RequestKind = "restriction"
	KindObjection     RequestKind = "objection"
)

// RequestRegime is the law a request is handled under, which sets its
// deadlines.
type RequestRegime string

// The regimes.
const (
	// RegimeGDPR is the GDPR and the UK GDPR.
	RegimeGDPR RequestRegime = "gdpr"
	// RegimeCCPA is the CCPA as amended by the CPRA.
	RegimeCCPA RequestRegime = "ccpa"
)

// RequestState is where a request stands.
type RequestState string

// The states: the first four are open, the last three final.
const (
	// StateReceived: filed, the requester's identity not yet verified.
	StateReceived RequestState = "received"
	// StateVerified: the requester is who they say.
	StateVerified RequestState = "verified"
	// StateInProgress: the work is under way.
	StateInProgress RequestState = "in_progress"
	// StateWaitingForCustomer: staff asked the customer something.
	StateWaitingForCustomer RequestState = "waiting_for_customer"
	StateCompleted          RequestState = "completed"
	StateRejected           RequestState = "rejected"
	// StateCancelled: withdrawn by the customer.
	StateCancelled RequestState = "cancelled"
)

// Channel is how a request came in.
type Channel string

// The channels. Requests filed through the API name the one the customer
// used; ChannelPortal is the privacy portal's own.
const (
	ChannelPortal Channel = "portal"
	ChannelPhone  Channel = "phone"
	ChannelEmail  Channel = "email"
	ChannelLetter Channel = "letter"
	ChannelChat   Channel = "chat"
)

// Request is a data subject request. It carries no personal data: the
// requester's address and own words stay in Steward.
type Request struct {
	ID     string        `json:"id"`
	Kind   RequestKind   `json:"kind"`
	Regime RequestRegime `json:"regime"`
	State  RequestState  `json:"state"`
	// SubjectID is Steward's id of the customer; empty until staff know who
	// filed.
	SubjectID string `json:"subject_id,omitempty"`
	// HasDetails is whether the customer described the request in their
	// own words.
	HasDetails bool `json:"has_details"`
	// Proposed names the fields a rectification proposes new values for
	// ("vault:phone", "shop-db:customers.email"); the values stay sealed.
	Proposed []string `json:"proposed,omitempty"`
	// ProposalApprovedAt is when the proposed values were approved.
	ProposalApprovedAt *time.Time `json:"proposal_approved_at,omitempty"`
	ReceivedAt         time.Time  `json:"received_at"`
	// AcknowledgeBy is when receipt must be confirmed; nil when the regime
	// asks for no confirmation.
	AcknowledgeBy  *time.Time `json:"acknowledge_by,omitempty"`
	AcknowledgedAt *time.Time `json:"acknowledged_at,omitempty"`
	// DueAt is the deadline given on receipt; ExtendedUntil replaces it
	// once extended, for ExtensionReason.
	DueAt           time.Time  `json:"due_at"`
	ExtendedUntil   *time.Time `json:"extended_until,omitempty"`
	ExtensionReason string     `json:"extension_reason,omitempty"`
	// Question is what staff asked the customer, while the request waits
	// for the answer.
	Question        string `json:"question,omitempty"`
	RejectionReason string `json:"rejection_reason,omitempty"`
	// ResultRef names what the work produced (an export archive).
	ResultRef string `json:"result_ref,omitempty"`
	// WaitingOn tells what the work waits for ("system shop-db").
	WaitingOn string `json:"waiting_on,omitempty"`
	// PausedAt is when the deadline's clock stopped while the customer's
	// answer is awaited, where the law stops it.
	PausedAt *time.Time `json:"paused_at,omitempty"`
	// Language is the customer's language (en, de, fr, es), which the
	// emails about the request are written in.
	Language       string     `json:"language"`
	Channel        Channel    `json:"channel"`
	LastRemindedAt *time.Time `json:"last_reminded_at,omitempty"`
	ClosedAt       *time.Time `json:"closed_at,omitempty"`
	UpdatedAt      time.Time  `json:"updated_at"`
	// Version counts the changes: 1 when filed.
	Version int64 `json:"version"`
}

// Deadline is the request's current deadline: ExtendedUntil once
// extended, DueAt before.
func (r *Request) Deadline() time.Time {
	if r.ExtendedUntil != nil {
		return *r.ExtendedUntil
	}
	return r.DueAt
}

// QueuedRequest is a request in a list, with how its deadline stands.
type QueuedRequest struct {
	Request Request `json:"request"`
	// AtRisk is set when the deadline is near (the server's at-risk
	// margin); Overdue once it has passed.
	AtRisk  bool `json:"at_risk"`
	Overdue bool `json:"overdue"`
}

// RequestPage is one page of requests.
type RequestPage struct {
	Items []QueuedRequest `json:"items"`
	// Next is the cursor of the following page; empty on the last.
	Next string `json:"next,omitempty"`
}

// RequestFilter selects requests; the zero filter lists the open ones.
type RequestFilter struct {
	// ID selects one request by id.
	ID      string
	States  []RequestState
	Kinds   []RequestKind
	Regimes []RequestRegime
	// Overdue keeps the requests past their deadline; Closed lists final
	// ones instead of open ones.
	Overdue bool
	Closed  bool
	// Limit is 1 to 1000 requests; the server's default when 0.
	Limit int
	// Cursor is the Next of the previous page.
	Cursor string
}

// Actor is who made a change to a request: a kind ("staff", "api_key",
// "customer", "system") and an id.
type Actor struct {
	Kind string `json:"Kind"`
	ID   string `json:"ID"`
}

// RequestEvent is a change in a request's history.
type RequestEvent struct {
	RequestID string `json:"request_id"`
	// Version is the request's version after the change: 1 for filing.
	Version int64     `json:"version"`
	At      time.Time `json:"at"`
	// Action is the change: "file", "verify", "extend"...
	Action string `json:"action"`
	// From is empty for filing; From and To are equal for changes that keep
	// the state.
	From  RequestState `json:"from,omitempty"`
	To    RequestState `json:"to"`
	Actor Actor        `json:"actor"`
	// Note is the text that came with the change: a question, a reason.
	Note string `json:"note,omitempty"`
	// Ref is an id the change set: the result reference, the subject
	// attached.
	Ref string `json:"ref,omitempty"`
	// Deadline is the deadline the change set, when it set one.
	Deadline *time.Time `json:"deadline,omitempty"`
	// Answered is whether the customer wrote an answer with the change.
	Answered bool `json:"answered,omitempty"`
}

// RequestDetail is a request with its history and what may be done next.
type RequestDetail struct {
	Request Request `json:"request"`
	AtRisk  bool    `json:"at_risk"`
	Overdue bool    `json:"overdue"`
	// History lists the changes, oldest first.
	History []RequestEvent `json:"history"`
	// Actions are the changes the request's state allows now ("verify",
	// "reject"...), done in the staff console.
	Actions []string `json:"actions"`
	// Identity is where the request stands on its identity check.
	Identity RequestIdentity `json:"identity"`
	// Agent is the authorised agent's part, when an agent filed the
	// request; nil when the customer did.
	Agent *RequestAgent `json:"agent,omitempty"`
}

// IdentityTier is how far a requester proved who they are.
type IdentityTier string

// The tiers, weakest first.
const (
	TierCode     IdentityTier = "code"      // the email code
	TierPoints2  IdentityTier = "points2"   // two data points Steward holds
	TierPoints3  IdentityTier = "points3"   // three data points
	TierDeclared IdentityTier = "declared3" // three data points and the signed declaration (CCPA specific pieces)
)

// IdentityRequirement is what a request needs beyond the email code.
type IdentityRequirement struct {
	// Points is how many data points must match; 0 when the code suffices.
	Points int `json:"points"`
	// Declaration is whether the declaration under penalty of perjury is
	// needed.
	Declaration bool `json:"declaration"`
}

// RequestIdentity is where a request stands on its identity check.
type RequestIdentity struct {
	Required IdentityRequirement `json:"required"`
	// Tier is the tier the request needs; Reached the one reached.
	Tier    IdentityTier `json:"tier"`
	Reached IdentityTier `json:"reached"`
	// Satisfied is whether the tier needed is reached: the request may then
	// be verified and worked (an agent's also needs the customer's
	// confirmation).
	Satisfied  bool       `json:"satisfied"`
	ReachedAt  *time.Time `json:"reached_at,omitempty"`
	DeclaredAt *time.Time `json:"declared_at,omitempty"`
	// Attempts are the customer's tries at the data points.
	Attempts     int `json:"attempts"`
	AttemptsLeft int `json:"attempts_left"`
	// LockedUntil is when the customer may try again after failed tries.
	LockedUntil *time.Time `json:"locked_until,omitempty"`
	// StaffVerification is set when staff verified the requester another
	// way (VerifyRequestIdentity, or the console).
	StaffVerification *StaffVerification `json:"staff_verification,omitempty"`
}

// VerifyChannel is how staff verified a requester another way.
type VerifyChannel string

// The channels.
const (
	VerifyPhone    VerifyChannel = "phone"
	VerifyVideo    VerifyChannel = "video"
	VerifyInPerson VerifyChannel = "in_person"
	VerifyPostal   VerifyChannel = "postal"
	VerifyOther    VerifyChannel = "other"
)

// StaffVerification is staff's record of an identity verified another way.
type StaffVerification struct {
	// By is who recorded it: "staff:ID" or "api_key:ID".
	By      string        `json:"by"`
	At      time.Time     `json:"at"`
	Channel VerifyChannel `json:"channel"`
	// Statement says how; blank once the customer is erased.
	Statement string `json:"statement"`
}

// RequestAgent is an authorised agent's part in a request. The agent's
// name, email and mandate are not returned: the system that filed the
// request knows them.
type RequestAgent struct {
	FiledAt time.Time `json:"filed_at"`
	// ExpiresAt is when the request is rejected unless the customer has
	// confirmed it.
	ExpiresAt   time.Time  `json:"expires_at"`
	Confirmed   bool       `json:"confirmed"`
	ConfirmedAt *time.Time `json:"confirmed_at,omitempty"`
}

// RequestScope is what a CCPA request to know asks for.
type RequestScope string

// The scopes.
const (
	// ScopeCategories: the categories of personal information (two data
	// points).
	ScopeCategories RequestScope = "categories"
	// ScopeSpecific: the specific pieces (three data points and the signed
	// declaration).
	ScopeSpecific RequestScope = "specific"
)

// AgentInput is the authorised agent filing for a customer (CCPA).
type AgentInput struct {
	Name string `json:"name"`
	// Email is the agent's address; it must differ from the customer's.
	Email string `json:"email"`
	// Mandate is the text of the mandate, or a statement of the customer's
	// written permission.
	Mandate string `json:"mandate"`
}

// IdentityCheck is staff's record of a requester verified another way than
// the data points.
type IdentityCheck struct {
	Channel VerifyChannel `json:"channel"`
	// Statement says how (10 to 1000 characters), without the answers or
	// any document number.
	Statement string `json:"statement"`
	// Declaration says the customer signed the declaration, where the tier
	// needs it.
	Declaration bool `json:"declaration,omitempty"`
}

// RequestInput files a request on a customer's behalf, when they asked by
// phone, email, letter or chat.
type RequestInput struct {
	Kind RequestKind `json:"kind"`
	// Regime is RegimeGDPR when empty.
	Regime RequestRegime `json:"regime,omitempty"`
	// Channel is how the customer asked; not ChannelPortal.
	Channel Channel `json:"channel"`
	// SubjectID is the customer, when known; Email is then optional and
	// taken from the vault.
	SubjectID string `json:"subject_id,omitempty"`
	// Email is where Steward writes to the customer about the request.
	Email string `json:"email,omitempty"`
	// Details are the customer's own words, for the kinds that take them
	// (rectification, objection).
	Details string `json:"details,omitempty"`
	// Language is en, de, fr or es; English when empty.
	Language string `json:"language,omitempty"`
	// Scope is, for a CCPA access or export, the categories or the
	// specific pieces.
	Scope RequestScope `json:"scope,omitempty"`
	// Agent files the request as an authorised agent's: the customer is
	// emailed a link to confirm it, and until they do it is not worked.
	Agent *AgentInput `json:"agent,omitempty"`
}

// ListRequests lists requests, the most urgent first. It needs an admin
// key.
func (c *Client) ListRequests(ctx context.Context, f RequestFilter) (*RequestPage, error) {
	q := url.Values{}
	set := func(name string, values []string) {
		if len(values) > 0 {
			q.Set(name, strings.Join(values, ","))
		}
	}
	set("state", strs(f.States))
	set("kind", strs(f.Kinds))
	set("regime", strs(f.Regimes))
	if f.ID != "" {
		q.Set("id", f.ID)
	}
	if f.Overdue {
		q.Set("overdue", "true")
	}
	if f.Closed {
		q.Set("closed", "true")
	}
	if f.Limit != 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	if f.Cursor != "" {
		q.Set("cursor", f.Cursor)
	}
	var out RequestPage
	if err := c.do(ctx, http.MethodGet, "/v1/requests", q, nil, &out, nil); err != nil {
		return nil, err
	}
	return &out, nil
}

func strs[S ~string](values []S) []string {
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = string(v)
	}
	return out
}

// GetRequest returns a request with its history. It needs an admin key.
func (c *Client) GetRequest(ctx context.Context, id string) (*RequestDetail, error) {
	if id == "" {
		return nil, errEmpty("request id")
	}
	var out RequestDetail
	if err := c.do(ctx, http.MethodGet, path("/v1/requests/", id), nil, nil, &out, nil); err != nil {
		return nil, err
	}
	return &out, nil
}

// FileRequest files a request on a customer's behalf; Steward confirms it
// to the customer by email and tracks its deadline. It needs an admin key.
func (c *Client) FileRequest(ctx context.Context, in RequestInput) (*Request, error) {
	var out Request
	if err := c.do(ctx, http.MethodPost, "/v1/requests", nil, in, &out, nil); err != nil {
		return nil, err
	}
	return &out, nil
}

// VerifyRequestIdentity records that the company's staff verified the
// requester of request id another way than the data points (a call with
// security questions, a visit in store), which satisfies the tier the
// request needs. It needs an admin key.
func (c *Client) VerifyRequestIdentity(ctx context.Context, id string, in IdentityCheck) (*RequestIdentity, error) {
	if id == "" {
		return nil, errEmpty("request id")
	}
	var out RequestIdentity
	if err := c.do(ctx, http.MethodPost, path("/v1/requests/", id)+"/identity", nil, in, &out, nil); err != nil {
		return nil, err
	}
	return &out, nil
}
