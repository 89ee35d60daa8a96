package banner

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/steward-dev/steward/internal/consent"
)

// config is the configuration the script receives inline (CONTRACT.md).
type config struct {
	API          string                       `json:"api"`
	Property     string                       `json:"property"`
	Key          string                       `json:"key"`
	Notice       notice                       `json:"notice"`
	Jurisdiction string                       `json:"jurisdiction"`
	Regime       consent.Regime               `json:"regime"`
	ServerGPC    bool                         `json:"serverGpc,omitempty"`
	HonourDNT    bool                         `json:"honourDnt,omitempty"`
	MaxAgeDays   int                          `json:"maxAgeDays"`
	Cookie       cookie                       `json:"cookie"`
	Lang         string                       `json:"lang,omitempty"`
	Languages    []string                     `json:"languages"`
	Texts        map[string]map[string]string `json:"texts,omitempty"`
	Theme        *theme                       `json:"theme,omitempty"`
	Purposes     []purpose                    `json:"purposes"`
	GCM          *gcm                         `json:"gcm,omitempty"`
	TCF          *tcfConfig                   `json:"tcf,omitempty"`
	GPP          *gppConfig                   `json:"gpp,omitempty"`
}

type notice struct {
	Version  string `json:"version"`
	URL      string `json:"url"`
	Material bool   `json:"material"`
}

type cookie struct {
	Name     string `json:"name"`
	Domain   string `json:"domain,omitempty"`
	SameSite string `json:"sameSite,omitempty"` // Lax when empty
}

// theme carries only what differs from the script's defaults (white,
// #1f2328 text, #0b57d0 accent with white text, bottom, radius 8): every
// visitor downloads it.
type theme struct {
	Background string `json:"background,omitempty"`
	Text       string `json:"text,omitempty"`
	Accent     string `json:"accent,omitempty"`
	AccentText string `json:"accentText,omitempty"`
	Position   string `json:"position,omitempty"`
	Radius     int    `json:"radius,omitempty"`
}

func themeOf(t consent.Theme) *theme {
	differs := func(v, def string) string {
		if strings.EqualFold(v, def) {
			return ""
		}
		return v
	}
	out := theme{Background: differs(t.Background, "#ffffff"), Text: differs(t.Text, "#1f2328"), Accent: differs(t.Accent, "#0b57d0"),
		AccentText: differs(t.AccentText, "#ffffff"), Position: differs(t.Position, "bottom")}
	if t.Radius != 8 {
		out.Radius = t.Radius
	}
	if out == (theme{}) {
		return nil
	}
	return &out
}

type purpose struct {
	Key           string             `json:"key"`
	Necessary     bool               `json:"necessary,omitempty"`
	SaleOrSharing bool               `json:"saleOrSharing,omitempty"`
	LegalBasis    consent.LegalBasis `json:"-"`
	Name          map[string]string  `json:"name"`
	Description   map[string]string  `json:"description,omitempty"`
	Vendors       []vendor           `json:"vendors,omitempty"`
	Cookies       []string           `json:"cookies,omitempty"`
	GCM           []string           `json:"gcm,omitempty"`
}

type vendor struct {
	Key        string `json:"-"`
	Name       string `json:"name"`
	Country    string `json:"country,omitempty"`
	PrivacyURL string `json:"privacyUrl,omitempty"`
}

type gcm struct {
	Enabled       bool `json:"enabled"`
	WaitForUpdate int  `json:"waitForUpdate"`
}

type tcfConfig struct {
	CmpID             int              `json:"cmpId"`
	CmpVersion        int              `json:"cmpVersion"`
	PublisherCC       string           `json:"publisherCC"`
	GVLURL            string           `json:"gvlUrl"`
	Script            string           `json:"script"`
	VendorIDs         []int            `json:"vendorIds"`
	PurposeIDs        []int            `json:"purposeIds"`
	SpecialFeatureIDs []int            `json:"specialFeatureIds"`
	PurposeMap        map[string][]int `json:"purposeMap"`
	ConsentLanguage   string           `json:"consentLanguage"`
	// GDPRApplies says whether the visitor's jurisdiction is under the GDPR
	// (the EEA and the United Kingdom), which TCF reports as gdprApplies.
	GDPRApplies bool `json:"gdprApplies"`
}

// config assembles a property's banner configuration for one visitor class.
func (s *Server) config(ctx context.Context, ck cacheKey, p *consent.Property) (*config, error) {
	regime, err := s.Consent.Regime(p.Key, ck.jurisdiction)
	if err != nil {
		return nil, err
	}
	key, err := s.Keys.BannerKey(ctx, p.Key)
	if err != nil {
		return nil, fmt.Errorf("banner key: %w", err)
	}
	b := p.Banner
	cfg := &config{
		API: s.PublicURL, Property: p.Key, Key: key, Jurisdiction: ck.jurisdiction, Regime: regime,
		ServerGPC: ck.gpc, HonourDNT: b.HonourDNT, MaxAgeDays: b.MaxAgeDays,
		Cookie:    cookie{Name: b.CookieName, Domain: b.CookieDomain, SameSite: "Lax"},
		Languages: b.Languages, Texts: b.Texts, // no lang: the visitor's browser chooses
		Theme:    themeOf(b.Theme),
		Purposes: []purpose{},
	}
	if b.ConsentMode.Enabled {
		cfg.GCM = &gcm{Enabled: true, WaitForUpdate: b.ConsentMode.WaitForUpdate}
	}
	if n, ok := s.Consent.CurrentNotice(); ok {
		cfg.Notice = notice{Version: n.Version, URL: p.PolicyURL, Material: n.Material}
	} else {
		cfg.Notice = notice{URL: p.PolicyURL}
	}
	vendorsOf := map[string][]vendor{}
	for _, v := range s.Consent.Vendors() {
		// A vendor without a current passing security assessment is not
		// offered: no consent is asked for what it may not receive.
		if !s.Consent.VendorAssessed(v.Key) {
			continue
		}
		for _, pk := range v.Purposes {
			vendorsOf[pk] = append(vendorsOf[pk], vendor{Key: v.Key, Name: v.Name, Country: v.Country, PrivacyURL: v.PrivacyURL})
		}
	}
	for _, pu := range s.Consent.Purposes() {
		if pu.Communication() {
			continue // chosen in the preference centre, never in the banner
		}
		// A purpose without an approved ethics assessment is not offered:
		// no consent is asked for what data may not be used for.
		if !s.Consent.PurposeAssessed(pu.Key) {
			continue
		}
		types := slices.Clone(b.ConsentMode.Types[pu.Key])
		if types == nil {
			types = []string{}
		}
		vendors := vendorsOf[pu.Key]
		if vendors == nil {
			vendors = []vendor{}
		}
		cfg.Purposes = append(cfg.Purposes, purpose{
			Key: pu.Key, Necessary: pu.Necessary || pu.LegalBasis == consent.BasisContract || pu.LegalBasis == consent.BasisLegalObligation,
			SaleOrSharing: pu.SaleOrSharing, LegalBasis: pu.LegalBasis,
			Name: onlyLanguages(pu.Names, b.Languages), Description: onlyLanguages(pu.Descriptions, b.Languages),
			Vendors: vendors, Cookies: pu.Cookies, GCM: types,
		})
	}
	if b.TCF.Enabled {
		lang := "EN"
		if len(b.Languages) > 0 && len(b.Languages[0]) >= 2 {
			lang = upper2(b.Languages[0])
		}
		cfg.TCF = &tcfConfig{CmpID: b.TCF.CmpID, CmpVersion: b.TCF.CmpVersion, PublisherCC: b.TCF.PublisherCC,
			GVLURL: "/tcf/vendor-list.json", Script: s.TCFScriptPath(), VendorIDs: b.TCF.VendorIDs,
			PurposeIDs: b.TCF.PurposeIDs, SpecialFeatureIDs: b.TCF.SpecialFeatureIDs, PurposeMap: b.TCF.PurposeMap,
			ConsentLanguage: lang, GDPRApplies: consent.UnderGDPR(ck.jurisdiction, regime)}
	}
	if cfg.GPP, err = s.gppConfigFor(&b.GPP, ck.jurisdiction, regime, cfg.Purposes); err != nil {
		return nil, err
	}
	return cfg, nil
}

// onlyLanguages keeps the texts of the property's languages (every visitor
// downloads them), or, when none is among them, one text to fall back on.
func onlyLanguages(texts map[string]string, languages []string) map[string]string {
	out := map[string]string{}
	for _, l := range languages {
		if t, ok := texts[l]; ok {
			out[l] = t
		}
	}
	if len(out) == 0 && len(texts) > 0 {
		if t, ok := texts["en"]; ok {
			out["en"] = t
		} else {
			keys := slices.Sorted(maps.Keys(texts))
			out[keys[0]] = texts[keys[0]]
		}
	}
	return out
}

func upper2(lang string) string {
	b := []byte(lang[:2])
	for i := range b {
		if b[i] >= 'a' && b[i] <= 'z' {
			b[i] -= 'a' - 'A'
		}
	}
	return string(b)
}
