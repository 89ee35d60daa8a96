package consent

import (
	"slices"
	"strings"
)

// Region is the area whose data protection law governs a property's
// transfers of personal data to vendors.
type Region string

// The regions. RegionOther sets no transfer rule.
const (
	// RegionEEA: the GDPR's Chapter V applies; data leaves the EEA (the EU,
	// Iceland, Liechtenstein, Norway) only with a safeguard.
	RegionEEA   Region = "EEA"
	RegionOther Region = ""
)

// InEEA reports whether country (ISO 3166-1 alpha-2, "DE") is in the
// European Economic Area: the 27 EU member states, Iceland, Liechtenstein
// and Norway. This list is the one place that says so; the jurisdiction
// groups "EU" and "EEA" use it too. An empty or unknown code is not.
func InEEA(country string) bool {
	c := strings.ToUpper(strings.TrimSpace(country))
	if c == "EL" { // the EU's own code for Greece, GR in ISO 3166
		c = "GR"
	}
	return slices.Contains(eeaCountries, c)
}

// PropertyRegion derives a property's region from its jurisdiction
// settings: a default jurisdiction in the EEA (a country, a subdivision of
// one, or the group "EU" or "EEA") makes it an EEA property; another
// default jurisdiction does not. Without a default jurisdiction, its rules
// decide: opting in for the EU, the EEA or an EEA country (as the default
// rules do) makes it an EEA property, the safe reading.
func PropertyRegion(p Property) Region {
	if j := p.DefaultJurisdiction; j != "" {
		country, _, _ := strings.Cut(j, "-")
		if j == "EU" || j == "EEA" || InEEA(country) {
			return RegionEEA
		}
		return RegionOther
	}
	rules := p.JurisdictionRules
	if len(rules.OptIn) == 0 && len(rules.OptOut) == 0 {
		rules = DefaultRules()
	}
	for _, e := range rules.OptIn {
		if country, _, _ := strings.Cut(e, "-"); e == "EU" || e == "EEA" || InEEA(country) {
			return RegionEEA
		}
	}
	return RegionOther
}

// NeedsTransferSafeguard reports whether sending data from a property of
// region to a vendor in vendorCountry needs a recorded safeguard (adequacy,
// standard contractual clauses, binding corporate rules). A vendor whose
// country is not recorded is taken to be in a third country: the safe
// choice, since nobody checked where the data goes.
func NeedsTransferSafeguard(region Region, vendorCountry string) bool {
	return region == RegionEEA && !InEEA(vendorCountry)
}
