package banner

import (
	"bytes"
	"errors"
	"fmt"
	"slices"

	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/gpp"
)

// The IAB Global Privacy Platform part of the banner. Properties without GPP
// and visitors outside US opt-out jurisdictions must not pay for it, not a
// byte: the code banner.js needs for GPP (loading /banner-gpp.js, the
// __gpp stub, passing the GPP string into events) sits between the markers
// gppOpen and gppClose, and withoutGPP cuts those blocks out of the body
// the others get. What is left minifies to exactly what banner.js was
// before it had GPP blocks. Everything else of GPP is in assets/gpp.js.

var (
	gppOpen  = []byte("/*gpp{*/")
	gppClose = []byte("/*}gpp*/")
)

// withoutGPP returns src without its GPP blocks. Blocks do not nest; a
// marker without its partner is an error, which stops the server from
// starting.
func withoutGPP(src []byte) ([]byte, error) {
	var out []byte
	rest := src
	for {
		start := bytes.Index(rest, gppOpen)
		if end := bytes.Index(rest, gppClose); end >= 0 && (start < 0 || end < start) {
			return nil, errors.New("a GPP block closes that was not opened")
		}
		if start < 0 {
			if out == nil {
				return src, nil
			}
			return append(out, rest...), nil
		}
		out = append(out, rest[:start]...)
		rest = rest[start+len(gppOpen):]
		end := bytes.Index(rest, gppClose)
		if end < 0 {
			return nil, errors.New("a GPP block is not closed")
		}
		if bytes.Contains(rest[:end], gppOpen) {
			return nil, errors.New("GPP blocks do not nest")
		}
		rest = rest[end+len(gppClose):]
	}
}

// gppConfig is C.gpp (CONTRACT.md): present only for a visitor whose
// jurisdiction gets a GPP section (consent.GPPSettings.GPPSection).
type gppConfig struct {
	Script string `json:"script"`
	CmpID  int    `json:"cmpId"`
	// Section is the API prefix of the one section the banner writes, and
	// SectionID its id.
	Section   string `json:"section"`
	SectionID int    `json:"sectionId"`
	// Supported lists the sections the property enables as "id:prefix",
	// the form iabgpp-es reports in supportedAPIs.
	Supported []string `json:"supported"`
	// Sale, Sharing and Targeted are the purposes whose refusal opts out of
	// the sale of personal data, its sharing and targeted advertising.
	Sale     []string `json:"sale"`
	Sharing  []string `json:"sharing"`
	Targeted []string `json:"targeted"`
	// Mspa holds MspaCoveredTransaction, MspaOptOutOptionMode and
	// MspaServiceProviderMode.
	Mspa [3]int `json:"mspa"`
}

// gppSectionIDs are the ids of the sections consent.GPPSections names.
var gppSectionIDs = map[string]int{consent.GPPNational: gpp.IDUSNat, "usca": gpp.IDUSCA, "usva": gpp.IDUSVA,
	"usco": gpp.IDUSCO, "usut": gpp.IDUSUT, "usct": gpp.IDUSCT}

// gppConfigFor returns C.gpp for a visitor class, or nil when the visitor
// gets no GPP.
func (s *Server) gppConfigFor(settings *consent.GPPSettings, jurisdiction string, regime consent.Regime, purposes []purpose) (*gppConfig, error) {
	section := settings.GPPSection(jurisdiction, regime)
	if section == "" {
		return nil, nil
	}
	id, ok := gppSectionIDs[section]
	if !ok {
		return nil, fmt.Errorf("gpp section %q has no id", section)
	}
	var saleOrSharing []string
	for _, p := range purposes {
		if p.SaleOrSharing && !p.Necessary {
			saleOrSharing = append(saleOrSharing, p.Key)
		}
	}
	orDefault := func(keys []string) []string {
		if len(keys) == 0 {
			keys = saleOrSharing
		}
		return append([]string{}, keys...)
	}
	cfg := &gppConfig{Script: s.GPPScriptPath(), CmpID: settings.CmpID, Section: section, SectionID: id,
		Sale: orDefault(settings.SalePurposes), Sharing: orDefault(settings.SharingPurposes),
		Targeted: orDefault(settings.TargetedAdvertisingPurposes), Mspa: [3]int{2, 0, 0}}
	for _, name := range consent.GPPSections {
		if slices.Contains(settings.Sections, name) {
			cfg.Supported = append(cfg.Supported, fmt.Sprintf("%d:%s", gppSectionIDs[name], name))
		}
	}
	if settings.MspaCoveredTransaction {
		cfg.Mspa[0] = 1
		switch settings.MspaMode {
		case consent.MspaOptOutOption:
			cfg.Mspa[1], cfg.Mspa[2] = 1, 2
		case consent.MspaServiceProvider:
			cfg.Mspa[1], cfg.Mspa[2] = 2, 1
		}
	}
	return cfg, nil
}
