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
// Countries are looked up in an array by their two letters, which costs a
// decision no string hash; subdivisions ("US-CA"), which rules name less
// often, in a map.
type Regimes struct {
	countries [26 * 26]uint8    // by countryIndex: 0 none, else regimeCodes
	exact     map[string]Regime // subdivisions, and entries that are no country code
	fallback  Regime
}

// regimeCodes are the regimes by their code in Regimes.countries.
var regimeCodes = [...]Regime{1: OptIn, 2: OptOut}

// countryIndex is the place of a country code ("DE") in Regimes.countries,
// or -1 when s is no two capital letters.
func countryIndex(s string) int {
	if len(s) != 2 || s[0] < 'A' || s[0] > 'Z' || s[1] < 'A' || s[1] > 'Z' {
		return -1
	}
	return int(s[0]-'A')*26 + int(s[1]-'A')
}

// set records the regime of one country or subdivision.
func (c *Regimes) set(code string, r Regime) {
	if i := countryIndex(code); i >= 0 {
		for n, rc := range regimeCodes {
			if rc == r && n > 0 {
				c.countries[i] = uint8(n)
				return
			}
		}
	}
	c.exact[code] = r
}

// country returns the regime of a country code ("DE"), or "" when the
// rules name none.
func (c *Regimes) country(code string) Regime {
	if i := countryIndex(code); i >= 0 {
		return regimeCodes[c.countries[i]]
	}
	r := c.exact[code]
	return r
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
						c.set(m, list.regime)
					}
				} else {
					c.set(e, list.regime)
				}
			}
		}
	}
	return c
}

// Regime returns the regime for a jurisdiction code such as "DE" or "US-CA".
func (c *Regimes) Regime(jurisdiction string) Regime {
	if jurisdiction == "" {
		return c.fallback
	}
	if len(jurisdiction) > 2 {
		if r, ok := c.exact[jurisdiction]; ok {
			return r
		}
		if country, _, found := strings.Cut(jurisdiction, "-"); found {
			jurisdiction = country
		}
	}
	if r := c.country(jurisdiction); r != "" {
		return r
	}
	return c.fallback
}
