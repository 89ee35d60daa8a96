package consentrules

import (
	"slices"
	"strings"
)

var (
	// EUCountries are the EU's member states (ISO 3166-1 alpha-2).
	EUCountries = []string{"AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE"}
	// EEACountries are the EU's and Iceland, Liechtenstein and Norway.
	EEACountries = append(slices.Clone(EUCountries), "IS", "LI", "NO")
	// Groups are the names jurisdiction rules may use for several countries.
	Groups = map[string][]string{"EU": EUCountries, "EEA": EEACountries, "UK": {"GB"}}
)

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

// Regimes answer Regime without allocating: jurisdiction rules compiled.
type Regimes struct {
	exact    map[string]Regime // countries and subdivisions
	fallback Regime
}

// Compile compiles jurisdiction rules: entries are countries ("DE"),
// subdivisions ("US-CA") or Groups; the most specific wins, then def (opt-in
// when empty).
func Compile(optIn, optOut []string, def Regime) Regimes {
	c := Regimes{exact: map[string]Regime{}, fallback: def}
	if c.fallback == "" {
		c.fallback = OptIn
	}
	// Groups first, then explicit entries, so that a country listed on its own
	// overrides its group.
	for _, pass := range []bool{true, false} {
		for _, list := range []struct {
			entries []string
			regime  Regime
		}{{optIn, OptIn}, {optOut, OptOut}} {
			for _, e := range list.entries {
				members, isGroup := Groups[e]
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

// Regime returns the regime for a jurisdiction code such as "DE" or "US-CA".
func (c Regimes) Regime(jurisdiction string) Regime {
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
