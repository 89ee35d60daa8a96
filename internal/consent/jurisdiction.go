package consent

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/steward-dev/steward/internal/consentrules"
	"github.com/steward-dev/steward/internal/errs"
)

// JurisdictionRules say which regime applies where. Entries are ISO 3166-1
// alpha-2 country codes ("DE"), ISO 3166-2 subdivisions ("US-CA"), or the
// groups "EU", "EEA" and "UK". The most specific entry wins: subdivision,
// then country, then group, then Default.
type JurisdictionRules struct {
	OptIn   []string `json:"opt_in"`
	OptOut  []string `json:"opt_out"`
	Default Regime   `json:"default"`
}

// DefaultRules are the rules of a property that sets none: opt-in in the
// EU, the EEA and the UK, opt-out in the United States, opt-in elsewhere
// (deny by default where the law is not known).
func DefaultRules() JurisdictionRules {
	return JurisdictionRules{OptIn: []string{"EU", "EEA", "UK"}, OptOut: []string{"US"}, Default: OptIn}
}

var (
	eeaCountries = consentrules.EEACountries
	groups       = consentrules.Groups
)

// UnderGDPR reports whether the GDPR (or the UK GDPR) applies in a
// jurisdiction: the EEA and the United Kingdom. Without a jurisdiction it
// follows the regime: opt-in is taken to mean the GDPR applies.
func UnderGDPR(jurisdiction string, regime Regime) bool {
	if jurisdiction == "" {
		return regime == OptIn
	}
	country, _, _ := strings.Cut(jurisdiction, "-")
	return country == "GB" || slices.Contains(eeaCountries, country)
}

// ValidJurisdiction reports whether s is a country (ISO 3166-1 alpha-2,
// "DE") or subdivision (ISO 3166-2, "US-CA") code.
func ValidJurisdiction(s string) bool { return consentrules.ValidJurisdiction(s) }

// Validate checks the rules and returns field problems keyed by path.
func (r JurisdictionRules) Validate(prefix string) errs.Problems {
	problems := errs.Problems{}
	seen := map[string]string{}
	check := func(list string, entries []string) {
		for i, e := range entries {
			field := fmt.Sprintf("%s.%s[%d]", prefix, list, i)
			if _, isGroup := groups[e]; !isGroup && !ValidJurisdiction(e) {
				problems.Add(field, "jurisdiction_or_group", "value", strconv.Quote(e))
				continue
			}
			if other, dup := seen[e]; dup {
				problems.Add(field, "listed_twice", "value", strconv.Quote(e), "list", other)
			}
			seen[e] = list
		}
	}
	check("opt_in", r.OptIn)
	check("opt_out", r.OptOut)
	if r.Default != OptIn && r.Default != OptOut {
		problems.Add(prefix+".default", "regime_default")
	}
	return problems
}

// compiledRules answer Regime without allocating.
type compiledRules = consentrules.Regimes

func (r JurisdictionRules) compile() compiledRules {
	return consentrules.Compile(r.OptIn, r.OptOut, r.Default)
}
