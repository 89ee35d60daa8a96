package inventory

import (
	"slices"
	"strings"
)

// eea are the member states of the European Economic Area (the 27 EU
// states, Iceland, Liechtenstein and Norway), as ISO 3166-1 alpha-2 codes,
// sorted. Greece is "GR" in ISO 3166 (the EU's own "EL" is accepted too).
var eea = []string{
	"AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IS", "IT",
	"LI", "LT", "LU", "LV", "MT", "NL", "NO", "PL", "PT", "RO", "SE", "SI", "SK",
}

// InEEA reports whether country (an ISO 3166-1 alpha-2 code, any case) is
// a member state of the European Economic Area. A transfer to any other
// country is a transfer to a third country (GDPR Chapter V); an empty
// country is unknown, not in the EEA.
func InEEA(country string) bool {
	c := strings.ToUpper(strings.TrimSpace(country))
	if c == "EL" {
		c = "GR"
	}
	_, found := slices.BinarySearch(eea, c)
	return found
}

// EEACountries returns the codes of the EEA's member states, sorted.
func EEACountries() []string { return slices.Clone(eea) }
