package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Action is what a consent event records.
type Action string

// The actions.
const (
	ActionGrant    Action = "grant"
	ActionDeny     Action = "deny"
	ActionWithdraw Action = "withdraw"
	// ActionObject records a subject's objection to a legitimate-interest
	// or marketing purpose; later grants by anyone but the subject do not
	// end it.
	ActionObject Action = "object"
)

// Source says where a consent event came from: one of the constants below,
// or FormSource(id) for a form declared for the event's property.
type Source string

// The sources.
const (
	SourceBanner Source = "banner"
	SourcePortal Source = "portal"
	SourceAPI    Source = "api"
	SourceGPC    Source = "gpc"
	SourceImport Source = "import"
	// SourcePreferences is the preference centre: the page of an email's
	// link, or its one-click unsubscribe.
	SourcePreferences Source = "preferences"
)

// MaxEvents is the most events one AppendEvents call may send.
const MaxEvents = 1000

// EventInput is a consent event to record. ID is chosen by the caller (a
// UUID is best) and makes recording idempotent: an event with the property
// and id of one already recorded is not recorded again. Give exactly one of
// Subject and Device. What a key may send depends on its scope: an ingest key
// (public) device events of its property with source banner or gpc; a record
// key subject or device events with source api; an admin key those and
// imports (source import).
type EventInput struct {
	ID       string `json:"id"`
	Property string `json:"property"`
	Device   string `json:"device,omitempty"`
	Subject  string `json:"subject,omitempty"`
	Purpose  string `json:"purpose"`
	Vendor   string `json:"vendor,omitempty"`
	// Channel narrows a choice about a communication topic to one of the
	// channels it declares; empty, the choice is of every channel.
	Channel TopicChannel `json:"channel,omitempty"`
	Action  Action       `json:"action"`
	Source  Source       `json:"source"`
	// NoticeVersion names the published notice the choice was made under;
	// a grant under an older notice than the latest material one does not
	// count where consent is opt-in.
	NoticeVersion string `json:"notice_version,omitempty"`
	// Jurisdiction is a code such as "DE" or "US-CA"; the property's
	// default when empty.
	Jurisdiction string `json:"jurisdiction,omitempty"`
	GPC          bool   `json:"gpc,omitempty"`
	DNT          bool   `json:"dnt,omitempty"`
	TCString     string `json:"tc_string,omitempty"`
	// GPPString is an IAB Global Privacy Platform string; the server
	// refuses one that does not decode and names it in the receipt.
	GPPString string `json:"gpp_string,omitempty"`
	// At is checked (not before 2000, not more than a few minutes ahead of
	// the server's clock) but the server records its own receive time: the
	// order of choices is the server's. Only an import (SourceImport) keeps
	// At, the time of the original consent, which may not lie in the future.
	At time.Time `json:"at,omitzero"`
}

// EventResult is the outcome of one recorded event, in request order.
type EventResult struct {
	ID  string `json:"id"`
	Seq int64  `json:"seq"`
	// Duplicate is set when the event had been recorded before; Seq and
	// Receipt are then those of the stored event.
	Duplicate bool `json:"duplicate"`
	// Receipt is the signed consent receipt, a compact JWS (EdDSA).
	Receipt string `json:"receipt"`
}

// Event is an entry of the consent ledger.
type Event struct {
	ID       string `json:"id"`
	Property string `json:"property"`
	Device   string `json:"device,omitempty"`
	Subject  string `json:"subject,omitempty"`
	Purpose  string `json:"purpose"`
	Vendor   string `json:"vendor,omitempty"`
	// Channel is the one channel of a topic the choice is about; empty
	// for every channel.
	Channel       TopicChannel `json:"channel,omitempty"`
	Action        Action       `json:"action"`
	Source        Source       `json:"source"`
	NoticeVersion string       `json:"notice_version"`
	Jurisdiction  string       `json:"jurisdiction"`
	GPC           bool         `json:"gpc"`
	DNT           bool         `json:"dnt"`
	TCString      string       `json:"tc_string,omitempty"`
	GPPString     string       `json:"gpp_string,omitempty"`
	At            time.Time    `json:"at"`
	Seq           int64        `json:"seq"`
	RecordedAt    time.Time    `json:"recorded_at"`
	// Receipt is the signed consent receipt; only GetEvent returns it.
	Receipt string `json:"receipt,omitempty"`
}

// AppendEvents records 1 to MaxEvents consent events and returns, once they
// are durable and visible to decisions, a result for each in order. The
// batch is all or nothing: when one event is refused, none is recorded and
// the *Error names it ("events[3].purpose"). It needs an ingest key of the
// events' property, or an admin key.
func (c *Client) AppendEvents(ctx context.Context, events []EventInput) ([]EventResult, error) {
	in := struct {
		Events []EventInput `json:"events"`
	}{events}
	var out struct {
		Results []EventResult `json:"results"`
	}
	if err := c.do(ctx, http.MethodPost, "/v1/consent/events", nil, in, &out, nil); err != nil {
		return nil, err
	}
	return out.Results, nil
}

// EventFilter selects ledger entries.
type EventFilter struct {
	// After is the sequence number to start after (0: from the start).
	After int64
	// Limit is 1 to 10000 entries; the server's default (1000) when 0.
	Limit int
	// Subject or Device, when set, select one person's or browser's entries.
	Subject string
	Device  string
}

// EventPage is one page of the ledger.
type EventPage struct {
	Items []Event `json:"items"`
	// Next is the After of the following page: the last entry's sequence
	// number, or the filter's After when the page is empty.
	Next int64 `json:"next"`
}

// ListEvents lists ledger entries in sequence order. It needs an admin key.
func (c *Client) ListEvents(ctx context.Context, f EventFilter) (*EventPage, error) {
	q := url.Values{}
	if f.After != 0 {
		q.Set("after", strconv.FormatInt(f.After, 10))
	}
	if f.Limit != 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	if f.Subject != "" {
		q.Set("subject", f.Subject)
	}
	if f.Device != "" {
		q.Set("device", f.Device)
	}
	var out EventPage
	if err := c.do(ctx, http.MethodGet, "/v1/consent/events", q, nil, &out, nil); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetEvent returns one ledger entry, by property and event id, with its
// receipt. It needs an admin key.
func (c *Client) GetEvent(ctx context.Context, property, id string) (*Event, error) {
	if property == "" || id == "" {
		return nil, errEmpty("property and event id")
	}
	var out Event
	if err := c.do(ctx, http.MethodGet, path("/v1/consent/events/", property, "/", id), nil, nil, &out, nil); err != nil {
		return nil, err
	}
	return &out, nil
}

// Link records that a device belongs to a subject.
type Link struct {
	Device   string    `json:"device"`
	Subject  string    `json:"subject"`
	Seq      int64     `json:"seq"`
	LinkedAt time.Time `json:"linked_at"`
}

// LinkDevice links a device to a subject: the subject's consent then
// includes the device's choices, latest wins. Linking a device again moves
// it. It needs an admin key.
func (c *Client) LinkDevice(ctx context.Context, subject, device string) (*Link, error) {
	if subject == "" {
		return nil, errEmpty("subject")
	}
	in := struct {
		Device string `json:"device"`
	}{device}
	var out Link
	if err := c.do(ctx, http.MethodPost, path("/v1/subjects/", subject, "/devices"), nil, in, &out, nil); err != nil {
		return nil, err
	}
	return &out, nil
}

// PreferenceLinksInput names the message that preference links are for:
// the property the company writes from, the communication topics it is
// about, and optionally the page's language and the channel the message
// is sent by (the one-click link withdraws the topics by that channel
// only; email when empty, as List-Unsubscribe is an email header).
type PreferenceLinksInput struct {
	Property string       `json:"property"`
	Topics   []string     `json:"topics"`
	Language string       `json:"language,omitempty"`
	Channel  TopicChannel `json:"channel,omitempty"`
}

// PreferenceLinks are what the company's mailer puts in one message: the
// preference page's URL for its footer, and the values of its
// List-Unsubscribe and List-Unsubscribe-Post headers (RFC 8058; sign both
// with DKIM).
type PreferenceLinks struct {
	PreferencesURL       string    `json:"preferences_url"`
	PreferencesExpiresAt time.Time `json:"preferences_expires_at"`
	ListUnsubscribe      string    `json:"list_unsubscribe"`
	ListUnsubscribePost  string    `json:"list_unsubscribe_post"`
	UnsubscribeURL       string    `json:"unsubscribe_url"`
	UnsubscribeExpiresAt time.Time `json:"unsubscribe_expires_at"`
}

// PreferenceLinks makes the preference centre's links of one message to
// subject. It needs a record key.
func (c *Client) PreferenceLinks(ctx context.Context, subject string, in PreferenceLinksInput) (*PreferenceLinks, error) {
	if subject == "" {
		return nil, errEmpty("subject")
	}
	var out PreferenceLinks
	if err := c.do(ctx, http.MethodPost, path("/v1/subjects/", subject, "/preference-links"), nil, in, &out, nil); err != nil {
		return nil, err
	}
	return &out, nil
}

// MaxQuestions is the most questions one Decide call may ask.
const MaxQuestions = 1000

// Question asks whether a subject's or device's data may be used for a
// purpose, optionally by a vendor. Give exactly one of Subject and Device.
// Property selects the jurisdiction rules (the default rules when empty);
// Jurisdiction is a code such as "DE" or "US-CA" (the property's default
// when empty). GPC carries a Global Privacy Control signal for this
// question alone.
type Question struct {
	Subject string `json:"subject,omitempty"`
	Device  string `json:"device,omitempty"`
	Purpose string `json:"purpose"`
	// Channel, for a communication topic, is the channel the company means
	// to use; one the topic is not sent by is refused.
	Channel      TopicChannel `json:"channel,omitempty"`
	Vendor       string       `json:"vendor,omitempty"`
	Jurisdiction string       `json:"jurisdiction,omitempty"`
	Property     string       `json:"property,omitempty"`
	GPC          bool         `json:"gpc,omitempty"`
}

// Reason explains a decision.
type Reason string

// The reasons a decision gives.
const (
	ReasonNecessary          Reason = "necessary"
	ReasonConsentGranted     Reason = "consent_granted"
	ReasonConsentDenied      Reason = "consent_denied"
	ReasonConsentWithdrawn   Reason = "consent_withdrawn"
	ReasonNoConsentRecorded  Reason = "no_consent_recorded"
	ReasonLegitimateInterest Reason = "legitimate_interest"
	ReasonGPCOptOut          Reason = "gpc_opt_out"
	ReasonNoticeOutdated     Reason = "notice_outdated"
	ReasonVendorNotDeclared  Reason = "vendor_not_declared"
	// ReasonVendorNotAssessed: the vendor has no current passing security
	// assessment, so it may receive nothing, whatever the consent.
	ReasonVendorNotAssessed Reason = "vendor_not_assessed"
	// ReasonRestricted: the subject's processing is restricted (GDPR Art.
	// 18) until the restriction is lifted.
	ReasonRestricted Reason = "restricted"
	// ReasonObjected: the subject objected to the purpose (Art. 21); only
	// their own grant in the portal ends it.
	ReasonObjected Reason = "objected"
	// ReasonPurposeNotAssessed: the purpose has no approved ethics
	// assessment in force, so no data is used for it, whatever the consent.
	ReasonPurposeNotAssessed Reason = "purpose_not_assessed"
)

// Answer is a decision with its reason and the ledger sequence number of
// the event it rests on (0 when none does).
type Answer struct {
	Allowed bool   `json:"allowed"`
	Reason  Reason `json:"reason"`
	Event   int64  `json:"event"`
}

// DecideOption adjusts a Decide call.
type DecideOption func(*decideSettings)

type decideSettings struct {
	gpc bool
}

// WithGPCHeader sends "Sec-GPC: 1" when on: the person's browser sent a
// Global Privacy Control signal, which applies to every question of the
// call and opts out of every sale or sharing purpose. Forward it from the
// request you are serving.
func WithGPCHeader(on bool) DecideOption {
	return func(s *decideSettings) { s.gpc = on }
}

// Decide answers 1 to MaxQuestions questions, in order, from the server's
// memory. An unknown purpose, vendor or property is an *Error naming the
// question ("questions[2].vendor"). It needs a decide or admin key.
func (c *Client) Decide(ctx context.Context, questions []Question, opts ...DecideOption) ([]Answer, error) {
	var settings decideSettings
	for _, opt := range opts {
		opt(&settings)
	}
	var header http.Header
	if settings.gpc {
		header = http.Header{"Sec-Gpc": {"1"}}
	}
	in := struct {
		Questions []Question `json:"questions"`
	}{questions}
	var out struct {
		Answers []Answer `json:"answers"`
	}
	if err := c.do(ctx, http.MethodPost, "/v1/decisions", nil, in, &out, header); err != nil {
		return nil, err
	}
	return out.Answers, nil
}
