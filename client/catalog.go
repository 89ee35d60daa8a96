package client

import (
	"context"
	"net/http"
	"time"
)

// Regime says how a jurisdiction treats consent purposes.
type Regime string

// The regimes: opt-in needs a grant before use; opt-out allows use until the
// person objects.
const (
	OptIn  Regime = "opt_in"
	OptOut Regime = "opt_out"
)

// JurisdictionRules say which regime applies where. Entries are ISO 3166-1
// alpha-2 country codes ("DE"), ISO 3166-2 subdivisions ("US-CA"), or the
// groups "EU", "EEA" and "UK"; the most specific entry wins, then Default.
type JurisdictionRules struct {
	OptIn   []string `json:"opt_in"`
	OptOut  []string `json:"opt_out"`
	Default Regime   `json:"default"`
}

// Property is a website or app of the company.
type Property struct {
	Key                 string            `json:"key"`
	Name                string            `json:"name"`
	Domains             []string          `json:"domains"`
	JurisdictionRules   JurisdictionRules `json:"jurisdiction_rules"`
	DefaultJurisdiction string            `json:"default_jurisdiction"`
	PolicyURL           string            `json:"policy_url"`
	// Banner configures the property's consent banner, with the defaults
	// filled in.
	Banner    BannerSettings `json:"banner"`
	CreatedAt time.Time      `json:"created_at"`
	UpdatedAt time.Time      `json:"updated_at"`
}

// BannerSettings configure a property's consent banner (see
// docs/banner.md). Every field is optional on input; zero values take the
// defaults.
type BannerSettings struct {
	// Languages the banner may speak, the first being the fallback (default
	// en, de, fr, es); the visitor's browser languages choose among them.
	Languages []string `json:"languages"`
	// Texts override the built-in wording: language → text key → text.
	Texts map[string]map[string]string `json:"texts"`
	Theme BannerTheme                  `json:"theme"`
	// JurisdictionHeader names the request header in which the company's
	// CDN or proxy gives the visitor's country (such as CF-IPCountry), and
	// RegionHeader the one with the subdivision ("CA" for California);
	// without them the property's default jurisdiction applies.
	JurisdictionHeader string `json:"jurisdiction_header"`
	RegionHeader       string `json:"region_header"`
	// HonourDNT treats "DNT: 1" like Global Privacy Control.
	HonourDNT bool `json:"honour_dnt"`
	// MaxAgeDays is the number of days after which the banner asks again
	// (default 365, at most 395).
	MaxAgeDays int `json:"max_age_days"`
	// CookieName is the first-party consent cookie's name (default
	// stw_consent); CookieDomain its Domain attribute, to share it across
	// subdomains (empty: the page's host).
	CookieName   string `json:"cookie_name"`
	CookieDomain string `json:"cookie_domain"`
	// ConsentMode sets up Google Consent Mode v2.
	ConsentMode ConsentMode `json:"consent_mode"`
	// TCF enables the IAB Transparency and Consent Framework v2.3.
	TCF TCFSettings `json:"tcf"`
	// GPP enables the IAB Global Privacy Platform for US visitors.
	GPP GPPSettings `json:"gpp"`
}

// BannerTheme is the banner's look: colours as "#rrggbb".
type BannerTheme struct {
	Background string `json:"background"`
	Text       string `json:"text"`
	Accent     string `json:"accent"`
	AccentText string `json:"accent_text"`
	// Position is "bottom" (a panel along the bottom edge) or "center".
	Position string `json:"position"`
	// Radius is the corner radius in pixels, 0 to 32.
	Radius int `json:"radius"`
}

// ConsentMode maps purposes to Google Consent Mode v2 types.
type ConsentMode struct {
	Enabled bool `json:"enabled"`
	// WaitForUpdate is passed as wait_for_update, in milliseconds
	// (default 500).
	WaitForUpdate int `json:"wait_for_update"`
	// Types maps a purpose key to the consent types its grant grants, such
	// as "analytics": ["analytics_storage"].
	Types map[string][]string `json:"types"`
}

// TCFSettings enable IAB TCF v2.3 on a property with the company's own
// registered CMP id.
type TCFSettings struct {
	Enabled    bool `json:"enabled"`
	CmpID      int  `json:"cmp_id"`
	CmpVersion int  `json:"cmp_version"`
	// PublisherCC is the publisher's country code, such as "DE".
	PublisherCC string `json:"publisher_cc"`
	// VendorIDs, PurposeIDs and SpecialFeatureIDs are the Global Vendor
	// List ids the banner asks for.
	VendorIDs         []int `json:"vendor_ids"`
	PurposeIDs        []int `json:"purpose_ids"`
	SpecialFeatureIDs []int `json:"special_feature_ids"`
	// PurposeMap maps a Steward purpose key to the TCF purpose ids it
	// stands for.
	PurposeMap map[string][]int `json:"purpose_map"`
}

// GPPSettings enable the IAB Global Privacy Platform (the __gpp API and a
// GPP string in every banner event) for visitors in a US jurisdiction under
// opt-out; nobody else downloads any of it.
type GPPSettings struct {
	Enabled bool `json:"enabled"`
	// CmpID is the CMP id the IAB registered, 0 while there is none.
	CmpID int `json:"cmp_id"`
	// Sections are "usnat" and state sections ("usca", "usva", "usco",
	// "usut", "usct"): a visitor in a listed state gets its section, any
	// other US visitor "usnat" when listed; at least one when enabled.
	Sections []string `json:"sections"`
	// SalePurposes, SharingPurposes and TargetedAdvertisingPurposes are the
	// purposes whose refusal opts out of sale, sharing and targeted
	// advertising; empty means the purposes marked sale or sharing.
	SalePurposes                []string `json:"sale_purposes"`
	SharingPurposes             []string `json:"sharing_purposes"`
	TargetedAdvertisingPurposes []string `json:"targeted_advertising_purposes"`
	// MspaCoveredTransaction and MspaMode ("opt_out_option",
	// "service_provider" or "") set the MSPA fields of the sections.
	MspaCoveredTransaction bool   `json:"mspa_covered_transaction"`
	MspaMode               string `json:"mspa_mode"`
}

// PropertyInput creates or replaces a property. Without JurisdictionRules
// the property gets the default rules: opt-in in the EU, the EEA and the UK,
// opt-out in the United States, opt-in elsewhere. Without Banner, the
// banner's defaults.
type PropertyInput struct {
	Key                 string             `json:"key"`
	Name                string             `json:"name"`
	Domains             []string           `json:"domains,omitempty"`
	JurisdictionRules   *JurisdictionRules `json:"jurisdiction_rules,omitempty"`
	DefaultJurisdiction string             `json:"default_jurisdiction,omitempty"`
	PolicyURL           string             `json:"policy_url,omitempty"`
	Banner              *BannerSettings    `json:"banner,omitempty"`
}

// Input returns the writable fields of p, for a read-modify-write update:
// the banner settings are kept, not reset to the defaults.
func (p *Property) Input() PropertyInput {
	rules, banner := p.JurisdictionRules, p.Banner
	return PropertyInput{Key: p.Key, Name: p.Name, Domains: p.Domains, JurisdictionRules: &rules,
		DefaultJurisdiction: p.DefaultJurisdiction, PolicyURL: p.PolicyURL, Banner: &banner}
}

// ListProperties lists the properties by key. It needs an admin key.
func (c *Client) ListProperties(ctx context.Context) ([]Property, error) {
	var out list[Property]
	err := c.do(ctx, http.MethodGet, "/v1/properties", nil, nil, &out, nil)
	return out.Items, err
}

// GetProperty returns one property. It needs an admin key.
func (c *Client) GetProperty(ctx context.Context, key string) (*Property, error) {
	if key == "" {
		return nil, errEmpty("property key")
	}
	var out Property
	if err := c.do(ctx, http.MethodGet, path("/v1/properties/", key), nil, nil, &out, nil); err != nil {
		return nil, err
	}
	return &out, nil
}

// CreateProperty creates a property; an existing key is a conflict (409).
// It needs an admin key.
func (c *Client) CreateProperty(ctx context.Context, in PropertyInput) (*Property, error) {
	var out Property
	if err := c.do(ctx, http.MethodPost, "/v1/properties", nil, in, &out, nil); err != nil {
		return nil, err
	}
	return &out, nil
}

// UpdateProperty replaces the property in.Key. It needs an admin key.
func (c *Client) UpdateProperty(ctx context.Context, in PropertyInput) (*Property, error) {
	if in.Key == "" {
		return nil, errEmpty("property key")
	}
	var out Property
	if err := c.do(ctx, http.MethodPut, path("/v1/properties/", in.Key), nil, in, &out, nil); err != nil {
		return nil, err
	}
	return &out, nil
}

// LegalBasis is the GDPR Article 6 basis a purpose relies on.
type LegalBasis string

// The legal bases.
const (
	BasisConsent            LegalBasis = "consent"
	BasisLegitimateInterest LegalBasis = "legitimate_interest"
	BasisContract           LegalBasis = "contract"
	BasisLegalObligation    LegalBasis = "legal_obligation"
)

// Purpose is a reason for using personal data, with its texts by language.
type Purpose struct {
	Key         string            `json:"key"`
	Name        map[string]string `json:"name"`
	Description map[string]string `json:"description"`
	LegalBasis  LegalBasis        `json:"legal_basis"`
	Necessary   bool              `json:"necessary"`
	// SaleOrSharing marks a purpose that a Global Privacy Control signal opts out of.
	SaleOrSharing bool `json:"sale_or_sharing"`
	Position      int  `json:"position"`
	// Cookies are the name patterns ('*' wildcard) of the cookies the
	// purpose sets; the banner deletes them when consent is refused or
	// withdrawn.
	Cookies []string `json:"cookies"`
	// RetentionDays keeps data used for the purpose at least this long when
	// it is longer than its category's retention; 0 sets none.
	RetentionDays int `json:"retention_days"`
	// Kind is KindProcessing, or KindCommunication for a topic the company
	// writes to customers about (a newsletter), sent by Channels about as
	// often as Frequency says; customers choose topics in the preference
	// centre (Client.PreferenceLinks), and none is allowed before they opt
	// in.
	Kind      PurposeKind    `json:"kind"`
	Channels  []TopicChannel `json:"channels"`
	Frequency Frequency      `json:"frequency"`
	CreatedAt time.Time      `json:"created_at"`
	UpdatedAt time.Time      `json:"updated_at"`
}

// PurposeKind is what a purpose is for.
type PurposeKind string

// The kinds of purpose.
const (
	KindProcessing    PurposeKind = "processing"
	KindCommunication PurposeKind = "communication"
)

// TopicChannel is a way a communication topic is sent.
type TopicChannel string

// The channels of topics.
const (
	TopicEmail TopicChannel = "email"
	TopicSMS   TopicChannel = "sms"
	TopicPost  TopicChannel = "post"
)

// Frequency is about how often a communication topic's messages come.
type Frequency string

// The frequencies.
const (
	FrequencyDaily      Frequency = "daily"
	FrequencyWeekly     Frequency = "weekly"
	FrequencyMonthly    Frequency = "monthly"
	FrequencyQuarterly  Frequency = "quarterly"
	FrequencyOccasional Frequency = "occasional"
)

// PurposeInput creates or replaces a purpose.
type PurposeInput struct {
	Key           string            `json:"key"`
	Name          map[string]string `json:"name"`
	Description   map[string]string `json:"description,omitempty"`
	LegalBasis    LegalBasis        `json:"legal_basis"`
	Necessary     bool              `json:"necessary,omitempty"`
	SaleOrSharing bool              `json:"sale_or_sharing,omitempty"`
	Position      int               `json:"position,omitempty"`
	Cookies       []string          `json:"cookies,omitempty"`
	RetentionDays int               `json:"retention_days,omitempty"`
	// Kind is KindProcessing when empty.
	Kind      PurposeKind    `json:"kind,omitempty"`
	Channels  []TopicChannel `json:"channels,omitempty"`
	Frequency Frequency      `json:"frequency,omitempty"`
}

// Input returns the writable fields of p, for a read-modify-write update.
func (p *Purpose) Input() PurposeInput {
	return PurposeInput{Key: p.Key, Name: p.Name, Description: p.Description, LegalBasis: p.LegalBasis,
		Necessary: p.Necessary, SaleOrSharing: p.SaleOrSharing, Position: p.Position, Cookies: p.Cookies,
		RetentionDays: p.RetentionDays, Kind: p.Kind, Channels: p.Channels, Frequency: p.Frequency}
}

// ListPurposes lists the purposes by position, then key. It needs an admin key.
func (c *Client) ListPurposes(ctx context.Context) ([]Purpose, error) {
	var out list[Purpose]
	err := c.do(ctx, http.MethodGet, "/v1/purposes", nil, nil, &out, nil)
	return out.Items, err
}

// GetPurpose returns one purpose. It needs an admin key.
func (c *Client) GetPurpose(ctx context.Context, key string) (*Purpose, error) {
	if key == "" {
		return nil, errEmpty("purpose key")
	}
	var out Purpose
	if err := c.do(ctx, http.MethodGet, path("/v1/purposes/", key), nil, nil, &out, nil); err != nil {
		return nil, err
	}
	return &out, nil
}

// CreatePurpose creates a purpose. It needs an admin key.
func (c *Client) CreatePurpose(ctx context.Context, in PurposeInput) (*Purpose, error) {
	var out Purpose
	if err := c.do(ctx, http.MethodPost, "/v1/purposes", nil, in, &out, nil); err != nil {
		return nil, err
	}
	return &out, nil
}

// UpdatePurpose replaces the purpose in.Key. It needs an admin key.
func (c *Client) UpdatePurpose(ctx context.Context, in PurposeInput) (*Purpose, error) {
	if in.Key == "" {
		return nil, errEmpty("purpose key")
	}
	var out Purpose
	if err := c.do(ctx, http.MethodPut, path("/v1/purposes/", in.Key), nil, in, &out, nil); err != nil {
		return nil, err
	}
	return &out, nil
}

// Category is a data category of the data map's vocabulary: what a vault
// field, a connected system's column or a vendor's declared data is.
type Category struct {
	Key         string            `json:"key"`
	Name        map[string]string `json:"name"`
	Description map[string]string `json:"description"`
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

// CategoryInput creates or replaces a data category. Name needs English
// ("en"), the fallback of every language.
type CategoryInput struct {
	Key           string            `json:"key"`
	Name          map[string]string `json:"name"`
	Description   map[string]string `json:"description,omitempty"`
	Special       bool              `json:"special,omitempty"`
	InHouse       bool              `json:"in_house,omitempty"`
	RetentionDays int               `json:"retention_days,omitempty"`
	Position      int               `json:"position,omitempty"`
}

// Input returns the writable fields of c, for a read-modify-write update.
func (c *Category) Input() CategoryInput {
	return CategoryInput{Key: c.Key, Name: c.Name, Description: c.Description, Special: c.Special, InHouse: c.InHouse,
		RetentionDays: c.RetentionDays, Position: c.Position}
}

// ListCategories lists the data categories by position, then key. It needs
// an admin key.
func (c *Client) ListCategories(ctx context.Context) ([]Category, error) {
	var out list[Category]
	err := c.do(ctx, http.MethodGet, "/v1/categories", nil, nil, &out, nil)
	return out.Items, err
}

// GetCategory returns one data category. It needs an admin key.
func (c *Client) GetCategory(ctx context.Context, key string) (*Category, error) {
	if key == "" {
		return nil, errEmpty("category key")
	}
	var out Category
	if err := c.do(ctx, http.MethodGet, path("/v1/categories/", key), nil, nil, &out, nil); err != nil {
		return nil, err
	}
	return &out, nil
}

// CreateCategory creates a data category. It needs an admin key.
func (c *Client) CreateCategory(ctx context.Context, in CategoryInput) (*Category, error) {
	var out Category
	if err := c.do(ctx, http.MethodPost, "/v1/categories", nil, in, &out, nil); err != nil {
		return nil, err
	}
	return &out, nil
}

// UpdateCategory replaces the data category in.Key. It needs an admin key.
func (c *Client) UpdateCategory(ctx context.Context, in CategoryInput) (*Category, error) {
	if in.Key == "" {
		return nil, errEmpty("category key")
	}
	var out Category
	if err := c.do(ctx, http.MethodPut, path("/v1/categories/", in.Key), nil, in, &out, nil); err != nil {
		return nil, err
	}
	return &out, nil
}

// Vendor is a third party that may receive data, for the purposes it is
// declared for.
type Vendor struct {
	Key            string   `json:"key"`
	Name           string   `json:"name"`
	Purposes       []string `json:"purposes"`
	DataCategories []string `json:"data_categories"`
	Country        string   `json:"country"`
	PrivacyURL     string   `json:"privacy_url"`
	// TransferSafeguard is what makes a transfer to a vendor outside the
	// property's region lawful: "adequacy", "scc", "bcr", or "" for none.
	TransferSafeguard string    `json:"transfer_safeguard"`
	CreatedAt         time.Time `json:"created_at"`
	UpdatedAt         time.Time `json:"updated_at"`
}

// VendorInput creates or replaces a vendor.
type VendorInput struct {
	Key            string   `json:"key"`
	Name           string   `json:"name"`
	Purposes       []string `json:"purposes"`
	DataCategories []string `json:"data_categories,omitempty"`
	Country        string   `json:"country,omitempty"`
	PrivacyURL     string   `json:"privacy_url,omitempty"`
	// TransferSafeguard: "adequacy", "scc", "bcr", or "" for none.
	TransferSafeguard string `json:"transfer_safeguard,omitempty"`
}

// Input returns the writable fields of v, for a read-modify-write update.
func (v *Vendor) Input() VendorInput {
	return VendorInput{Key: v.Key, Name: v.Name, Purposes: v.Purposes, DataCategories: v.DataCategories,
		Country: v.Country, PrivacyURL: v.PrivacyURL, TransferSafeguard: v.TransferSafeguard}
}

// ListVendors lists the vendors by key. It needs an admin key.
func (c *Client) ListVendors(ctx context.Context) ([]Vendor, error) {
	var out list[Vendor]
	err := c.do(ctx, http.MethodGet, "/v1/vendors", nil, nil, &out, nil)
	return out.Items, err
}

// GetVendor returns one vendor. It needs an admin key.
func (c *Client) GetVendor(ctx context.Context, key string) (*Vendor, error) {
	if key == "" {
		return nil, errEmpty("vendor key")
	}
	var out Vendor
	if err := c.do(ctx, http.MethodGet, path("/v1/vendors/", key), nil, nil, &out, nil); err != nil {
		return nil, err
	}
	return &out, nil
}

// CreateVendor creates a vendor. It needs an admin key.
func (c *Client) CreateVendor(ctx context.Context, in VendorInput) (*Vendor, error) {
	var out Vendor
	if err := c.do(ctx, http.MethodPost, "/v1/vendors", nil, in, &out, nil); err != nil {
		return nil, err
	}
	return &out, nil
}

// UpdateVendor replaces the vendor in.Key. It needs an admin key.
func (c *Client) UpdateVendor(ctx context.Context, in VendorInput) (*Vendor, error) {
	if in.Key == "" {
		return nil, errEmpty("vendor key")
	}
	var out Vendor
	if err := c.do(ctx, http.MethodPut, path("/v1/vendors/", in.Key), nil, in, &out, nil); err != nil {
		return nil, err
	}
	return &out, nil
}

// Notice is a version of the privacy notice. Once published it never
// changes; a material version asks every opt-in consent again.
type Notice struct {
	Version     string            `json:"version"`
	Text        map[string]string `json:"text"`
	Material    bool              `json:"material"`
	ContentHash string            `json:"content_hash"`
	// PublishedAt is nil while the notice is a draft.
	PublishedAt *time.Time `json:"published_at"`
	// Ordinal is the notice's place in publication order, from 1; 0 while a draft.
	Ordinal   int       `json:"ordinal"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// NoticeInput creates or replaces a draft notice; Publish publishes it in
// the same step.
type NoticeInput struct {
	Version  string            `json:"version"`
	Text     map[string]string `json:"text"`
	Material bool              `json:"material,omitempty"`
	Publish  bool              `json:"publish,omitempty"`
}

// ListNotices lists the notices, published ones first in publication order.
// It needs an admin key.
func (c *Client) ListNotices(ctx context.Context) ([]Notice, error) {
	var out list[Notice]
	err := c.do(ctx, http.MethodGet, "/v1/notices", nil, nil, &out, nil)
	return out.Items, err
}

// GetNotice returns one notice, draft or published. It needs an admin key.
func (c *Client) GetNotice(ctx context.Context, version string) (*Notice, error) {
	if version == "" {
		return nil, errEmpty("notice version")
	}
	var out Notice
	if err := c.do(ctx, http.MethodGet, path("/v1/notices/", version), nil, nil, &out, nil); err != nil {
		return nil, err
	}
	return &out, nil
}

// CreateNotice creates a notice (and publishes it when in.Publish is set).
// It needs an admin key.
func (c *Client) CreateNotice(ctx context.Context, in NoticeInput) (*Notice, error) {
	var out Notice
	if err := c.do(ctx, http.MethodPost, "/v1/notices", nil, in, &out, nil); err != nil {
		return nil, err
	}
	return &out, nil
}

// UpdateNotice replaces the draft notice in.Version; a published notice is
// a conflict (409). It needs an admin key.
func (c *Client) UpdateNotice(ctx context.Context, in NoticeInput) (*Notice, error) {
	if in.Version == "" {
		return nil, errEmpty("notice version")
	}
	var out Notice
	if err := c.do(ctx, http.MethodPut, path("/v1/notices/", in.Version), nil, in, &out, nil); err != nil {
		return nil, err
	}
	return &out, nil
}

// PublishNotice publishes a draft notice; publishing again is a conflict
// (409). It needs an admin key.
func (c *Client) PublishNotice(ctx context.Context, version string) (*Notice, error) {
	if version == "" {
		return nil, errEmpty("notice version")
	}
	var out Notice
	if err := c.do(ctx, http.MethodPost, path("/v1/notices/", version, "/publish"), nil, nil, &out, nil); err != nil {
		return nil, err
	}
	return &out, nil
}
