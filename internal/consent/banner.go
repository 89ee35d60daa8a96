package consent

import (
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/wcag"
)

// BannerSettings configure a property's consent banner.
type BannerSettings struct {
	// Languages the banner may speak, the first being the fallback; the
	// visitor's browser languages choose among them.
	Languages []string `json:"languages"`
	// Texts override the built-in wording: language → string key → text.
	Texts map[string]map[string]string `json:"texts"`
	Theme Theme                        `json:"theme"`
	// JurisdictionHeader names the request header in which the company's CDN
	// or proxy gives the visitor's country (for example CF-IPCountry), and
	// RegionHeader the one with the subdivision (for example "CA" for
	// California); without them the property's default jurisdiction applies.
	JurisdictionHeader string `json:"jurisdiction_header"`
	RegionHeader       string `json:"region_header"`
	// HonourDNT treats "DNT: 1" like Global Privacy Control.
	HonourDNT bool `json:"honour_dnt"`
	// MaxAgeDays after which the banner asks again (default 365).
	MaxAgeDays   int    `json:"max_age_days"`
	CookieName   string `json:"cookie_name"`
	CookieDomain string `json:"cookie_domain"`
	// ConsentMode sets up Google Consent Mode v2.
	ConsentMode ConsentMode `json:"consent_mode"`
	// TCF enables the IAB Transparency and Consent Framework v2.3.
	TCF TCFSettings `json:"tcf"`
	// GPP enables the IAB Global Privacy Platform for US visitors.
	GPP GPPSettings `json:"gpp"`
}

// Theme is the banner's look.
type Theme struct {
	Background string `json:"background"`
	Text       string `json:"text"`
	Accent     string `json:"accent"`
	AccentText string `json:"accent_text"`
	// Position is "bottom" (a panel along the bottom edge) or "center".
	Position string `json:"position"`
	Radius   int    `json:"radius"`
}

// ConsentMode maps purposes to Google Consent Mode v2 types.
type ConsentMode struct {
	Enabled bool `json:"enabled"`
	// WaitForUpdate is passed as wait_for_update, in milliseconds.
	WaitForUpdate int `json:"wait_for_update"`
	// Types maps a purpose key to the consent types its grant grants, such
	// as "analytics": ["analytics_storage"].
	Types map[string][]string `json:"types"`
}

// TCFSettings enable IAB TCF v2.3 on a property with the company's own
// registered CMP id.
type TCFSettings struct {
	Enabled           bool             `json:"enabled"`
	CmpID             int              `json:"cmp_id"`
	CmpVersion        int              `json:"cmp_version"`
	PublisherCC       string           `json:"publisher_cc"`
	VendorIDs         []int            `json:"vendor_ids"`
	PurposeIDs        []int            `json:"purpose_ids"`
	SpecialFeatureIDs []int            `json:"special_feature_ids"`
	PurposeMap        map[string][]int `json:"purpose_map"`
}

// ConsentModeTypes are the seven Google Consent Mode v2 types.
var ConsentModeTypes = []string{"ad_storage", "analytics_storage", "ad_user_data", "ad_personalization",
	"functionality_storage", "personalization_storage", "security_storage"}

var (
	colorPattern      = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)
	headerNamePattern = regexp.MustCompile(`^[A-Za-z0-9-]{1,64}$`)
	cookieNamePattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	cookieGlobPattern = regexp.MustCompile(`^[A-Za-z0-9_.*-]{1,128}$`)
)

// withDefaults fills what a property leaves unset.
func (b BannerSettings) withDefaults() BannerSettings {
	if len(b.Languages) == 0 {
		b.Languages = []string{"en", "de", "fr", "es"}
	}
	if b.Texts == nil {
		b.Texts = map[string]map[string]string{}
	}
	if b.MaxAgeDays == 0 {
		b.MaxAgeDays = 365
	}
	if b.CookieName == "" {
		b.CookieName = "stw_consent"
	}
	t := &b.Theme
	if t.Background == "" {
		t.Background = "#ffffff"
	}
	if t.Text == "" {
		t.Text = "#1f2328"
	}
	if t.Accent == "" {
		t.Accent = "#0b57d0"
	}
	if t.AccentText == "" {
		t.AccentText = "#ffffff"
	}
	if t.Position == "" {
		t.Position = "bottom"
	}
	if t.Radius == 0 {
		t.Radius = 8
	}
	if b.ConsentMode.WaitForUpdate == 0 {
		b.ConsentMode.WaitForUpdate = 500
	}
	if b.ConsentMode.Types == nil {
		b.ConsentMode.Types = map[string][]string{}
	}
	b.TCF.VendorIDs = nonNil(b.TCF.VendorIDs)
	b.TCF.PurposeIDs = nonNil(b.TCF.PurposeIDs)
	b.TCF.SpecialFeatureIDs = nonNil(b.TCF.SpecialFeatureIDs)
	if b.TCF.PurposeMap == nil {
		b.TCF.PurposeMap = map[string][]int{}
	}
	if b.TCF.CmpVersion == 0 {
		b.TCF.CmpVersion = 1
	}
	b.GPP = b.GPP.withDefaults()
	return b
}

// validate puts the settings' problems under "banner.".
func (b *BannerSettings) validate(problems errs.Problems, purposes map[string]*purposeEntry) {
	if len(b.Languages) > 50 {
		problems.Add("banner.languages", "at_most", "max", 50)
	}
	for i, l := range b.Languages {
		if !langPattern.MatchString(l) {
			problems.Add(fmt.Sprintf("banner.languages[%d]", i), "language_tag")
		}
	}
	for lang, texts := range b.Texts {
		if !langPattern.MatchString(lang) {
			problems.Add("banner.texts."+lang, "language_tag")
		}
		for k, v := range texts {
			if !ValidKey(k) {
				problems.Add("banner.texts."+lang+"."+k, "text_key")
			}
			checkText(problems, "banner.texts."+lang+"."+k, v, 1, 2000)
		}
	}
	for field, c := range map[string]string{"theme.background": b.Theme.Background, "theme.text": b.Theme.Text,
		"theme.accent": b.Theme.Accent, "theme.accent_text": b.Theme.AccentText} {
		if !colorPattern.MatchString(c) {
			problems.Add("banner."+field, "colour")
		}
	}
	// The banner must stay readable: WCAG 2.2 AA asks 4.5:1 for text.
	for _, pair := range [][3]string{{"theme.text", b.Theme.Text, b.Theme.Background}, {"theme.accent_text", b.Theme.AccentText, b.Theme.Accent}} {
		if colorPattern.MatchString(pair[1]) && colorPattern.MatchString(pair[2]) {
			if ratio := wcag.Contrast(pair[1], pair[2]); ratio < wcag.AA {
				problems.Add("banner."+pair[0], "contrast", "ratio", strconv.FormatFloat(ratio, 'f', 2, 64))
			}
		}
	}
	if b.Theme.Position != "bottom" && b.Theme.Position != "center" {
		problems.Add("banner.theme.position", "banner_position")
	}
	if b.Theme.Radius < 0 || b.Theme.Radius > 32 {
		problems.Add("banner.theme.radius", "between", "min", 0, "max", 32)
	}
	for field, h := range map[string]string{"jurisdiction_header": b.JurisdictionHeader, "region_header": b.RegionHeader} {
		if h != "" && !headerNamePattern.MatchString(h) {
			problems.Add("banner."+field, "header_name")
		}
	}
	if b.MaxAgeDays < 1 || b.MaxAgeDays > 395 {
		problems.Add("banner.max_age_days", "max_age_days")
	}
	if !cookieNamePattern.MatchString(b.CookieName) {
		problems.Add("banner.cookie_name", "cookie_name")
	}
	if b.CookieDomain != "" && !domainPattern.MatchString(b.CookieDomain) {
		problems.Add("banner.cookie_domain", "cookie_domain")
	}
	if b.ConsentMode.WaitForUpdate < 0 || b.ConsentMode.WaitForUpdate > 10000 {
		problems.Add("banner.consent_mode.wait_for_update", "milliseconds_between", "min", 0, "max", 10000)
	}
	known := map[string]bool{}
	for _, t := range ConsentModeTypes {
		known[t] = true
	}
	for purpose, types := range b.ConsentMode.Types {
		if _, ok := purposes[purpose]; !ok {
			problems.Add("banner.consent_mode.types."+purpose, "unknown_purpose", "purpose", strconv.Quote(purpose))
		}
		for i, t := range types {
			if !known[t] {
				problems.Add(fmt.Sprintf("banner.consent_mode.types.%s[%d]", purpose, i), "consent_mode_type")
			}
		}
	}
	if b.TCF.Enabled {
		if b.TCF.CmpID < 2 || b.TCF.CmpID > 4095 {
			problems.Add("banner.tcf.cmp_id", "tcf_cmp_id")
		}
		if b.TCF.CmpVersion < 1 || b.TCF.CmpVersion > 4095 {
			problems.Add("banner.tcf.cmp_version", "between", "min", 1, "max", 4095)
		}
		if !countryPattern.MatchString(b.TCF.PublisherCC) {
			problems.Add("banner.tcf.publisher_cc", "country_code")
		}
	}
	checkIDs := func(field string, ids []int, max int) {
		for i, id := range ids {
			if id < 1 || id > max {
				problems.Add(fmt.Sprintf("banner.tcf.%s[%d]", field, i), "between", "min", 1, "max", max)
			}
		}
	}
	checkIDs("vendor_ids", b.TCF.VendorIDs, 65535)
	checkIDs("purpose_ids", b.TCF.PurposeIDs, 24)
	checkIDs("special_feature_ids", b.TCF.SpecialFeatureIDs, 12)
	for purpose, ids := range b.TCF.PurposeMap {
		if _, ok := purposes[purpose]; !ok {
			problems.Add("banner.tcf.purpose_map."+purpose, "unknown_purpose", "purpose", strconv.Quote(purpose))
		}
		checkIDs("purpose_map."+purpose, ids, 24)
	}
	b.GPP.validate(problems, purposes)
}

// validCookiePatterns checks a purpose's cookie name patterns.
func validCookiePatterns(problems errs.Problems, patterns []string) {
	if len(patterns) > 100 {
		problems.Add("cookies", "at_most_patterns", "max", 100)
	}
	for i, p := range patterns {
		if !cookieGlobPattern.MatchString(p) {
			problems.Add(fmt.Sprintf("cookies[%d]", i), "cookie_pattern")
		}
	}
}

// Regime returns the regime that the property's rules give a jurisdiction
// (the property's default jurisdiction when empty).
func (s *Service) Regime(property, jurisdiction string) (Regime, error) {
	p, ok := s.catalog.load().properties[property]
	if !ok {
		return "", errs.NotFound("property", property)
	}
	if jurisdiction == "" {
		jurisdiction = p.DefaultJurisdiction
	}
	return p.rules.Regime(jurisdiction), nil
}

// CatalogVersion changes whenever the catalog does; caches of rendered
// configuration key on it.
func (s *Service) CatalogVersion() int64 { return s.catalog.load().version }

// AllowsOrigin reports whether a browser origin ("https://shop.example")
// belongs to the property's domains: the same host, a subdomain for a
// "*." entry, and any port of "localhost".
func (p *Property) AllowsOrigin(origin string) bool {
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return false
	}
	host := strings.ToLower(u.Hostname())
	for _, d := range p.Domains {
		if wildcard, ok := strings.CutPrefix(d, "*."); ok {
			if strings.HasSuffix(host, "."+wildcard) {
				return true
			}
		} else if host == d {
			return true
		}
	}
	return false
}
