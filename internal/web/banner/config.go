package banner

import (
	"context"
	"fmt"
	"slices"

	"github.com/steward-dev/steward/internal/consent"
)

// config is the configuration the script receives inline (CONTRACT.md).
type config struct {
	V            int                          `json:"v"`
	API          string                       `json:"api"`
	Property     string                       `json:"property"`
	Key          string                       `json:"key"`
	Notice       notice                       `json:"notice"`
	Jurisdiction string                       `json:"jurisdiction"`
	Regime       consent.Regime               `json:"regime"`
	ServerGPC    bool                         `json:"serverGpc"`
	HonourDNT    bool                         `json:"honourDnt"`
	MaxAgeDays   int                          `json:"maxAgeDays"`
	Cookie       cookie                       `json:"cookie"`
	Lang         string                       `json:"lang"`
	Languages    []string                     `json:"languages"`
	Texts        map[string]map[string]string `json:"texts"`
	Theme        theme                        `json:"theme"`
	Purposes     []purpose                    `json:"purposes"`
	GCM          gcm                          `json:"gcm"`
	TCF          *tcfConfig                   `json:"tcf"`
}

type notice struct {
	Version  string `json:"version"`
	URL      string `json:"url"`
	Material bool   `json:"material"`
}

type cookie struct {
	Name     string `json:"name"`
	Domain   string `json:"domain"`
	SameSite string `json:"sameSite"`
}

type theme struct {
	Background string `json:"background"`
	Text       string `json:"text"`
	Accent     string `json:"accent"`
	AccentText string `json:"accentText"`
	Position   string `json:"position"`
	Radius     int    `json:"radius"`
}

type purpose struct {
	Key           string             `json:"key"`
	Necessary     bool               `json:"necessary"`
	SaleOrSharing bool               `json:"saleOrSharing"`
	LegalBasis    consent.LegalBasis `json:"legalBasis"`
	Name          map[string]string  `json:"name"`
	Description   map[string]string  `json:"description"`
	Vendors       []vendor           `json:"vendors"`
	Cookies       []string           `json:"cookies"`
	GCM           []string           `json:"gcm"`
}

type vendor struct {
	Key        string `json:"key"`
	Name       string `json:"name"`
	Country    string `json:"country"`
	PrivacyURL string `json:"privacyUrl"`
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
		V: 1, API: s.PublicURL, Property: p.Key, Key: key, Jurisdiction: ck.jurisdiction, Regime: regime,
		ServerGPC: ck.gpc, HonourDNT: b.HonourDNT, MaxAgeDays: b.MaxAgeDays,
		Cookie: cookie{Name: b.CookieName, Domain: b.CookieDomain, SameSite: "Lax"},
		Lang:   "auto", Languages: b.Languages, Texts: b.Texts,
		Theme: theme{Background: b.Theme.Background, Text: b.Theme.Text, Accent: b.Theme.Accent, AccentText: b.Theme.AccentText,
			Position: b.Theme.Position, Radius: b.Theme.Radius},
		GCM:      gcm{Enabled: b.ConsentMode.Enabled, WaitForUpdate: b.ConsentMode.WaitForUpdate},
		Purposes: []purpose{},
	}
	if n, ok := s.Consent.CurrentNotice(); ok {
		cfg.Notice = notice{Version: n.Version, URL: p.PolicyURL, Material: n.Material}
	} else {
		cfg.Notice = notice{URL: p.PolicyURL}
	}
	vendorsOf := map[string][]vendor{}
	for _, v := range s.Consent.Vendors() {
		for _, pk := range v.Purposes {
			vendorsOf[pk] = append(vendorsOf[pk], vendor{Key: v.Key, Name: v.Name, Country: v.Country, PrivacyURL: v.PrivacyURL})
		}
	}
	for _, pu := range s.Consent.Purposes() {
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
			Name: pu.Names, Description: pu.Descriptions, Vendors: vendors, Cookies: pu.Cookies, GCM: types,
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
	return cfg, nil
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
