package consent

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

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
	euCountries  = []string{"AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE"}
	eeaCountries = append(slices.Clone(euCountries), "IS", "LI", "NO")
	groups       = map[string][]string{"EU": euCountries, "EEA": eeaCountries, "UK": {"GB"}}
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
func ValidJurisdiction(s string) bool {
	upper := func(c byte) bool { return c >= 'A' && c <= 'Z' }
	if len(s) != 2 && (len(s) < 4 || len(s) > 6 || s[2] != '-') {
		return false
	}
	if !upper(s[0]) || !upper(s[1]) {
		return false
	}
	for i := 3; i < len(s); i++ {
		if c := s[i]; !upper(c) && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

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
type compiledRules struct {
	exact    map[string]Regime // countries and subdivisions
	fallback Regime
}

func (r JurisdictionRules) compile() compiledRules {
	c := compiledRules{exact: map[string]Regime{}, fallback: r.Default}
	if c.fallback == "" {
		c.fallback = OptIn
	}
	// Groups first, then explicit entries, so that a country listed on its own
	// overrides its group.
	for _, pass := range []bool{true, false} {
		for _, list := range []struct {
			entries []string
			regime  Regime
		}{{r.OptIn, OptIn}, {r.OptOut, OptOut}} {
			for _, e := range list.entries {
				members, isGroup := groups[e]
				if isGroup != pass {
					continue
				}
				if isGroup {
					for _, m := range members {
						c.exact[m] = list.regime
					}
				} else {
					c.exact[e] = list.regime
				}
			}
		}
	}
	return c
}

// regime returns the regime for a jurisdiction code such as "DE" or "US-CA".
func (c compiledRules) regime(jurisdiction string) Regime {
	if jurisdiction == "" {
		return c.fallback
	}
	if r, ok := c.exact[jurisdiction]; ok {
		return r
	}
	if country, _, found := strings.Cut(jurisdiction, "-"); found {
		if r, ok := c.exact[country]; ok {
			return r
		}
	}
	return c.fallback
}
