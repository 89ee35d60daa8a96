// IAB Global Privacy Platform settings of a property: which GPP sections
// its banner writes for US visitors, and what the opt-outs of those
// sections mean in the property's purposes.

package consent

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/steward-dev/steward/internal/errs"
)

// GPPSettings enable the IAB Global Privacy Platform CMP API (__gpp) on a
// property. The banner serves it only to visitors in a US jurisdiction
// whose regime is opt-out, and only when one of Sections applies to them
// (GPPSection).
type GPPSettings struct {
	Enabled bool `json:"enabled"`
	// CmpID is the CMP id the IAB registered for the company, reported by
	// __gpp('ping'); 0 while there is none, as the CMP API allows.
	CmpID int `json:"cmp_id"`
	// Sections are the GPP sections the banner may write: "usnat" (the MSPA
	// US National section) and the state sections of GPPStateSections.
	// A visitor in a state whose section is listed gets that section, any
	// other US visitor "usnat" when it is listed, else no GPP at all.
	Sections []string `json:"sections"`
	// SalePurposes, SharingPurposes and TargetedAdvertisingPurposes are the
	// purposes a visitor turns off to opt out of the sale of personal data,
	// its sharing (cross-context behavioural advertising) and targeted
	// advertising. Empty means the purposes marked sale or sharing.
	SalePurposes                []string `json:"sale_purposes"`
	SharingPurposes             []string `json:"sharing_purposes"`
	TargetedAdvertisingPurposes []string `json:"targeted_advertising_purposes"`
	// MspaCoveredTransaction says the property's sales and sharing are
	// transactions covered by the IAB Multi-State Privacy Agreement, and
	// MspaMode in which mode: "opt_out_option" or "service_provider"; ""
	// leaves both mode fields at "not applicable".
	MspaCoveredTransaction bool   `json:"mspa_covered_transaction"`
	MspaMode               string `json:"mspa_mode"`
}

// The MSPA modes of GPPSettings.MspaMode.
const (
	MspaOptOutOption    = "opt_out_option"
	MspaServiceProvider = "service_provider"
)

// GPPNational is the MSPA US National section's API prefix.
const GPPNational = "usnat"

// GPPStateSections maps a US state (the subdivision of a jurisdiction such
// as US-CA) to its GPP section, for the states whose sections Steward
// writes (internal/gpp decodes the same ones).
var GPPStateSections = map[string]string{"CA": "usca", "VA": "usva", "CO": "usco", "UT": "usut", "CT": "usct"}

// GPPSections lists the sections a property may enable, in the order the
// console shows them.
var GPPSections = []string{GPPNational, "usca", "usva", "usco", "usut", "usct"}

func (g GPPSettings) withDefaults() GPPSettings {
	g.Sections = nonNil(g.Sections)
	g.SalePurposes = nonNil(g.SalePurposes)
	g.SharingPurposes = nonNil(g.SharingPurposes)
	g.TargetedAdvertisingPurposes = nonNil(g.TargetedAdvertisingPurposes)
	return g
}

// GPPSection returns the GPP section the banner writes for a visitor of
// jurisdiction under regime: the visitor's state's section when the
// property enables it, else "usnat" when it enables that; "" when GPP is
// off, the visitor is outside the United States or under opt-in.
func (g *GPPSettings) GPPSection(jurisdiction string, regime Regime) string {
	country, state, _ := strings.Cut(jurisdiction, "-")
	if !g.Enabled || country != "US" || regime != OptOut {
		return ""
	}
	if s, ok := GPPStateSections[state]; ok && slices.Contains(g.Sections, s) {
		return s
	}
	if slices.Contains(g.Sections, GPPNational) {
		return GPPNational
	}
	return ""
}

// validate puts the settings' problems under "banner.gpp.".
func (g *GPPSettings) validate(problems errs.Problems, purposes map[string]*purposeEntry) {
	if g.Enabled && len(g.Sections) == 0 {
		problems.Add("banner.gpp.sections", "gpp_sections")
	}
	for i, s := range g.Sections {
		if !slices.Contains(GPPSections, s) {
			problems.Add(fmt.Sprintf("banner.gpp.sections[%d]", i), "gpp_section", "section", strconv.Quote(s))
		} else if slices.Index(g.Sections, s) < i {
			problems.Add(fmt.Sprintf("banner.gpp.sections[%d]", i), "gpp_section_twice", "section", s)
		}
	}
	if g.CmpID < 0 || g.CmpID > 4095 {
		problems.Add("banner.gpp.cmp_id", "between", "min", 0, "max", 4095)
	}
	for field, keys := range map[string][]string{"sale_purposes": g.SalePurposes, "sharing_purposes": g.SharingPurposes,
		"targeted_advertising_purposes": g.TargetedAdvertisingPurposes} {
		for i, k := range keys {
			if _, ok := purposes[k]; !ok {
				problems.Add(fmt.Sprintf("banner.gpp.%s[%d]", field, i), "unknown_purpose", "purpose", strconv.Quote(k))
			}
		}
	}
	switch g.MspaMode {
	case "":
	case MspaOptOutOption, MspaServiceProvider:
		if !g.MspaCoveredTransaction {
			problems.Add("banner.gpp.mspa_mode", "gpp_mspa_mode_uncovered")
		}
	default:
		problems.Add("banner.gpp.mspa_mode", "gpp_mspa_mode")
	}
}
