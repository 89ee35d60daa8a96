package consent

import (
	"fmt"
	"net/url"
	"regexp"
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
	return b
}

func (b *BannerSettings) validate(problems map[string]string, purposes map[string]*purposeEntry) {
	bad := func(field, format string, args ...any) { problems["banner."+field] = fmt.Sprintf(format, args...) }
	if len(b.Languages) > 50 {
		bad("languages", "at most 50")
	}
	for i, l := range b.Languages {
		if !langPattern.MatchString(l) {
			bad(fmt.Sprintf("languages[%d]", i), "not a language tag such as en or pt-BR")
		}
	}
	for lang, texts := range b.Texts {
		if !langPattern.MatchString(lang) {
			bad("texts."+lang, "not a language tag such as en or pt-BR")
		}
		for k, v := range texts {
			if !ValidKey(k) {
				bad("texts."+lang+"."+k, "not a text key")
			}
			checkText(problems, "banner.texts."+lang+"."+k, v, 1, 2000)
		}
	}
	for field, c := range map[string]string{"theme.background": b.Theme.Background, "theme.text": b.Theme.Text,
		"theme.accent": b.Theme.Accent, "theme.accent_text": b.Theme.AccentText} {
		if !colorPattern.MatchString(c) {
			bad(field, "must be a colour such as #0b57d0")
		}
	}
	// The banner must stay readable: WCAG 2.2 AA asks 4.5:1 for text.
	for _, pair := range [][3]string{{"theme.text", b.Theme.Text, b.Theme.Background}, {"theme.accent_text", b.Theme.AccentText, b.Theme.Accent}} {
		if colorPattern.MatchString(pair[1]) && colorPattern.MatchString(pair[2]) {
			if ratio := wcag.Contrast(pair[1], pair[2]); ratio < wcag.AA {
				bad(pair[0], "contrast with its background is %.2f:1; WCAG 2.2 AA needs at least 4.5:1", ratio)
			}
		}
	}
	if b.Theme.Position != "bottom" && b.Theme.Position != "center" {
		bad("theme.position", `must be "bottom" or "center"`)
	}
	if b.Theme.Radius < 0 || b.Theme.Radius > 32 {
		bad("theme.radius", "must be between 0 and 32")
	}
	for field, h := range map[string]string{"jurisdiction_header": b.JurisdictionHeader, "region_header": b.RegionHeader} {
		if h != "" && !headerNamePattern.MatchString(h) {
			bad(field, "must be an HTTP header name such as CF-IPCountry")
		}
	}
	if b.MaxAgeDays < 1 || b.MaxAgeDays > 395 {
		bad("max_age_days", "must be between 1 and 395 (13 months)")
	}
	if !cookieNamePattern.MatchString(b.CookieName) {
		bad("cookie_name", "letters, digits, '_' and '-' only")
	}
	if b.CookieDomain != "" && !domainPattern.MatchString(b.CookieDomain) {
		bad("cookie_domain", "must be a host name such as shop.example")
	}
	if b.ConsentMode.WaitForUpdate < 0 || b.ConsentMode.WaitForUpdate > 10000 {
		bad("consent_mode.wait_for_update", "must be between 0 and 10000 milliseconds")
	}
	known := map[string]bool{}
	for _, t := range ConsentModeTypes {
		known[t] = true
	}
	for purpose, types := range b.ConsentMode.Types {
		if _, ok := purposes[purpose]; !ok {
			bad("consent_mode.types."+purpose, "unknown purpose %q", purpose)
		}
		for i, t := range types {
			if !known[t] {
				bad(fmt.Sprintf("consent_mode.types.%s[%d]", purpose, i), "not a Google Consent Mode v2 type")
			}
		}
	}
	if b.TCF.Enabled {
		if b.TCF.CmpID < 2 || b.TCF.CmpID > 4095 {
			bad("tcf.cmp_id", "give the CMP id the IAB registered for your company (2 to 4095)")
		}
		if b.TCF.CmpVersion < 1 || b.TCF.CmpVersion > 4095 {
			bad("tcf.cmp_version", "must be between 1 and 4095")
		}
		if !countryPattern.MatchString(b.TCF.PublisherCC) {
			bad("tcf.publisher_cc", "must be an ISO 3166-1 alpha-2 code such as DE")
		}
	}
	checkIDs := func(field string, ids []int, max int) {
		for i, id := range ids {
			if id < 1 || id > max {
				bad(fmt.Sprintf("tcf.%s[%d]", field, i), "must be between 1 and %d", max)
			}
		}
	}
	checkIDs("vendor_ids", b.TCF.VendorIDs, 65535)
	checkIDs("purpose_ids", b.TCF.PurposeIDs, 24)
	checkIDs("special_feature_ids", b.TCF.SpecialFeatureIDs, 12)
	for purpose, ids := range b.TCF.PurposeMap {
		if _, ok := purposes[purpose]; !ok {
			bad("tcf.purpose_map."+purpose, "unknown purpose %q", purpose)
		}
		checkIDs("purpose_map."+purpose, ids, 24)
	}
}

// validCookiePatterns checks a purpose's cookie name patterns.
func validCookiePatterns(problems map[string]string, patterns []string) {
	if len(patterns) > 100 {
		problems["cookies"] = "at most 100 patterns"
	}
	for i, p := range patterns {
		if !cookieGlobPattern.MatchString(p) {
			problems[fmt.Sprintf("cookies[%d]", i)] = "a cookie name, '*' matching any characters, such as _ga_*"
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
	return p.rules.regime(jurisdiction), nil
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
