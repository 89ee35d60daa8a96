// Package consent is Steward's consent core: the catalog (properties,
// purposes, vendors, privacy notices), the append-only consent ledger, the
// in-memory index of the latest decision per subject or device, purpose and
// vendor, and the rules that answer "may we use this customer's data for
// this purpose, with this vendor?".
//
// A Service ties them together:
//
//	svc, err := consent.Open(ctx, consent.Config{DB: store, Signer: signer})
//	defer svc.Close()
//	results, err := svc.Append(ctx, events)          // durable, group-committed
//	answers, err := svc.Decide(questions, false)     // from memory, no database round trip
package consent

import (
	"regexp"
	"time"

	"github.com/steward-dev/steward/internal/consentrules"
)

// LegalBasis is the GDPR Article 6 basis a purpose relies on.
type LegalBasis string

// The legal bases.
const (
	BasisConsent            LegalBasis = "consent"
	BasisLegitimateInterest LegalBasis = "legitimate_interest"
	BasisContract           LegalBasis = "contract"
	BasisLegalObligation    LegalBasis = "legal_obligation"
)

// Valid reports whether b is a known legal basis.
func (b LegalBasis) Valid() bool {
	switch b {
	case BasisConsent, BasisLegitimateInterest, BasisContract, BasisLegalObligation:
		return true
	}
	return false
}

// Action is what a consent event records.
type Action string

// The actions.
const (
	ActionGrant    Action = "grant"
	ActionDeny     Action = "deny"
	ActionWithdraw Action = "withdraw"
	// ActionObject records the subject's objection (GDPR Art. 21) to a
	// legitimate-interest purpose or to direct marketing. It holds against
	// every later grant but the subject's own (source portal).
	ActionObject Action = "object"
)

// Source says where a consent event came from.
type Source string

// The sources.
const (
	SourceBanner Source = "banner"
	SourcePortal Source = "portal"
	SourceAPI    Source = "api"
	SourceGPC    Source = "gpc"
	SourceImport Source = "import"
	// SourcePreferences is the preference centre: the page a signed link
	// in one of the company's emails opens, and the one-click unsubscribe
	// of RFC 8058 (package preference). It records communication choices
	// of the link's subject only.
	SourcePreferences Source = "preferences"
)

// Regime is how a jurisdiction treats consent purposes.
type Regime = consentrules.Regime

// The regimes: opt-in needs a grant before use; opt-out allows use until
// the person objects.
const (
	OptIn  = consentrules.OptIn
	OptOut = consentrules.OptOut
)

// Property is a website or app of the company.
type Property struct {
	Key                 string            `json:"key"`
	Name                string            `json:"name"`
	Domains             []string          `json:"domains"`
	JurisdictionRules   JurisdictionRules `json:"jurisdiction_rules"`
	DefaultJurisdiction string            `json:"default_jurisdiction"`
	PolicyURL           string            `json:"policy_url"`
	Banner              BannerSettings    `json:"banner"`
	CreatedAt           time.Time         `json:"created_at"`
	UpdatedAt           time.Time         `json:"updated_at"`
}

// Purpose is a reason for using personal data.
type Purpose struct {
	Key           string            `json:"key"`
	Names         map[string]string `json:"name"`
	Descriptions  map[string]string `json:"description"`
	LegalBasis    LegalBasis        `json:"legal_basis"`
	Necessary     bool              `json:"necessary"`
	SaleOrSharing bool              `json:"sale_or_sharing"`
	Position      int               `json:"position"`
	// Cookies are the name patterns ('*' wildcard) of the cookies the
	// purpose sets; the banner deletes them when consent is refused.
	Cookies []string `json:"cookies"`
	// RetentionDays keeps data used for this purpose this long at least,
	// when it is longer than its category's retention (the longer legal
	// need wins); 0 sets none.
	RetentionDays int `json:"retention_days"`
	// Kind is what the purpose is: the use of data (KindProcessing, the
	// default), or a communication topic (KindCommunication) the company
	// writes to the customer about, by Channels, about as often as
	// Frequency says. A topic never shows in the banner, is never
	// necessary, rests on consent, and is not allowed until the subject
	// opts in, whatever the jurisdiction's regime.
	Kind      PurposeKind `json:"kind"`
	Channels  []Channel   `json:"channels"`
	Frequency Frequency   `json:"frequency"`
	CreatedAt time.Time   `json:"created_at"`
	UpdatedAt time.Time   `json:"updated_at"`
}

// Communication reports whether the purpose is a communication topic.
func (p *Purpose) Communication() bool { return p.Kind == KindCommunication }

// PurposeKind is what a purpose is for.
type PurposeKind string

// The kinds of purpose.
const (
	KindProcessing    PurposeKind = "processing"
	KindCommunication PurposeKind = "communication"
)

// Channel is a way the company reaches a customer about a communication
// topic. A topic declares its channels; the customer's choice is of the
// topic, by every channel it declares.
type Channel string

// The channels, in the order pages list them.
const (
	ChannelEmail Channel = "email"
	ChannelSMS   Channel = "sms"
	ChannelPost  Channel = "post"
)

// Channels lists every channel.
var Channels = []Channel{ChannelEmail, ChannelSMS, ChannelPost}

// channelIndex returns the channel's place in Channels, or -1.
func channelIndex(c Channel) int { return consentrules.ChannelIndex(string(c)) }

// Frequency is about how often a topic's messages come.
type Frequency string

// The frequencies.
const (
	FrequencyDaily      Frequency = "daily"
	FrequencyWeekly     Frequency = "weekly"
	FrequencyMonthly    Frequency = "monthly"
	FrequencyQuarterly  Frequency = "quarterly"
	FrequencyOccasional Frequency = "occasional"
)

// Frequencies lists every frequency.
var Frequencies = []Frequency{FrequencyDaily, FrequencyWeekly, FrequencyMonthly, FrequencyQuarterly, FrequencyOccasional}

// Vendor is a third party that may receive data.
type Vendor struct {
	Key            string   `json:"key"`
	Name           string   `json:"name"`
	Purposes       []string `json:"purposes"`
	DataCategories []string `json:"data_categories"`
	Country        string   `json:"country"`
	PrivacyURL     string   `json:"privacy_url"`
	// TransferSafeguard is what makes a transfer to the vendor's country
	// lawful when it lies outside the property's region (GDPR Chapter V).
	TransferSafeguard TransferSafeguard `json:"transfer_safeguard"`
	CreatedAt         time.Time         `json:"created_at"`
	UpdatedAt         time.Time         `json:"updated_at"`
}

// TransferSafeguard is the recorded ground for sending data to a vendor in
// a third country.
type TransferSafeguard string

// The safeguards; SafeguardNone records none.
const (
	SafeguardNone TransferSafeguard = ""
	// SafeguardAdequacy: the country has an adequacy decision (Art. 45).
	SafeguardAdequacy TransferSafeguard = "adequacy"
	// SafeguardSCC: standard contractual clauses (Art. 46(2)(c)).
	SafeguardSCC TransferSafeguard = "scc"
	// SafeguardBCR: binding corporate rules (Art. 47).
	SafeguardBCR TransferSafeguard = "bcr"
)

// Valid reports whether t is a known safeguard or none.
func (t TransferSafeguard) Valid() bool {
	switch t {
	case SafeguardNone, SafeguardAdequacy, SafeguardSCC, SafeguardBCR:
		return true
	}
	return false
}

// Category is a data category of the data map's vocabulary: what a vault
// field, a connected system's column or a vendor's declared data is.
type Category struct {
	Key          string            `json:"key"`
	Names        map[string]string `json:"name"`
	Descriptions map[string]string `json:"description"`
	// Special marks a special category of personal data (GDPR Art. 9).
	Special bool `json:"special"`
	// InHouse data is never disclosed to a vendor, whatever the consent.
	InHouse bool `json:"in_house"`
	// RetentionDays is how long data of the category is kept after it was
	// collected or last needed; 0 sets none.
	RetentionDays int       `json:"retention_days"`
	Position      int       `json:"position"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
}

// Notice is a version of the privacy notice. Once published it never
// changes; a material version asks every opt-in consent again.
type Notice struct {
	Version     string            `json:"version"`
	Texts       map[string]string `json:"text"`
	Material    bool              `json:"material"`
	ContentHash string            `json:"content_hash"`
	PublishedAt *time.Time        `json:"published_at"`
	// Ordinal is the notice's place in publication order, from 1; 0 while a draft.
	Ordinal   int       `json:"ordinal"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Event is one entry of the consent ledger.
type Event struct {
	ID            string `json:"id"`
	Property      string `json:"property"`
	Device        string `json:"device,omitempty"`
	Subject       string `json:"subject,omitempty"`
	Purpose       string `json:"purpose"`
	Vendor        string `json:"vendor,omitempty"`
	Action        Action `json:"action"`
	Source        Source `json:"source"`
	NoticeVersion string `json:"notice_version"`
	Jurisdiction  string `json:"jurisdiction"`
	GPC           bool   `json:"gpc"`
	DNT           bool   `json:"dnt"`
	TCString      string `json:"tc_string,omitempty"`
	// GPPString is the IAB Global Privacy Platform string the banner
	// reported with the choice (US visitors of properties that enable GPP).
	GPPString string    `json:"gpp_string,omitempty"`
	At        time.Time `json:"at"`
	// Set by the ledger.
	Seq        int64     `json:"seq"`
	RecordedAt time.Time `json:"recorded_at"`
	// Receipt is the signed receipt as issued when the event was appended
	// (set by Append and Event; "" once its subject was erased, and for
	// events recorded before receipts were stored). It is never signed
	// again from a row.
	Receipt string `json:"-"`
}

// Link records that a device belongs to a subject.
type Link struct {
	Device   string    `json:"device"`
	Subject  string    `json:"subject"`
	Seq      int64     `json:"seq"`
	LinkedAt time.Time `json:"linked_at"`
}

var (
	keyPattern  = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,63}$`)
	idPattern   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:@+=-]{0,127}$`)
	langPattern = regexp.MustCompile(`^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$`)
)

// ValidKey reports whether s is a valid catalog key: lowercase letters,
// digits, '_', '.', '-', starting with a letter or digit, at most 64 long.
func ValidKey(s string) bool { return keyPattern.MatchString(s) }

// ValidID reports whether s is a valid subject, device or event id: 1 to 128
// characters of letters, digits and ._:@+=- .
func ValidID(s string) bool { return idPattern.MatchString(s) }
