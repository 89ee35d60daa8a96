package tcf

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// TCString is the decoded form of a TC string. Id sets are sorted ascending
// and contain no duplicates.
type TCString struct {
	Version                    int       `json:"version"`
	Created                    time.Time `json:"created"` // RFC 3339 in JSON, UTC, decisecond precision
	LastUpdated                time.Time `json:"lastUpdated"`
	CmpID                      int       `json:"cmpId"`
	CmpVersion                 int       `json:"cmpVersion"`
	ConsentScreen              int       `json:"consentScreen"`
	ConsentLanguage            string    `json:"consentLanguage"` // two uppercase letters, e.g. "EN"
	VendorListVersion          int       `json:"vendorListVersion"`
	PolicyVersion              int       `json:"policyVersion"`
	IsServiceSpecific          bool      `json:"isServiceSpecific"`
	UseNonStandardTexts        bool      `json:"useNonStandardTexts"`
	SpecialFeatureOptins       []int     `json:"specialFeatureOptins"` // sorted id sets, never null in JSON
	PurposeConsents            []int     `json:"purposeConsents"`
	PurposeLegitimateInterests []int     `json:"purposeLegitimateInterests"`
	PurposeOneTreatment        bool      `json:"purposeOneTreatment"`
	PublisherCountryCode       string    `json:"publisherCountryCode"`
	VendorConsents             []int     `json:"vendorConsents"`
	VendorLegitimateInterests  []int     `json:"vendorLegitimateInterests"`
	// PublisherRestrictions keeps the order of the string; each
	// (purposeId, restrictionType) pair may appear only once.
	PublisherRestrictions []PublisherRestriction `json:"publisherRestrictions"`
	DisclosedVendors      []int                  `json:"disclosedVendors"`
	// Publisher TC segment.
	PublisherConsents                []int `json:"publisherConsents"`
	PublisherLegitimateInterests     []int `json:"publisherLegitimateInterests"`
	CustomPurposeConsents            []int `json:"customPurposeConsents"`
	CustomPurposeLegitimateInterests []int `json:"customPurposeLegitimateInterests"`
	// NumCustomPurposes is the number of custom purposes the publisher
	// defined (custom purpose ids run from 1 to NumCustomPurposes). Decode
	// sets it from the string. When encoding, 0 means "the highest custom
	// purpose id used", so it only needs setting to record custom purposes
	// that were disclosed but got neither consent nor legitimate interest.
	NumCustomPurposes int `json:"numCustomPurposes"`
}

// PublisherRestriction is one publisher restriction entry of the core segment.
type PublisherRestriction struct {
	PurposeID int `json:"purposeId"`
	// RestrictionType is 0 (purpose flatly not allowed), 1 (require
	// consent) or 2 (require legitimate interest).
	RestrictionType int   `json:"restrictionType"`
	Vendors         []int `json:"vendors"`
}

// Limits of the format and of this implementation.
const (
	tcVersion           = 2
	minPolicyVersion    = 4  // TCF v2.2 and later
	numSpecialFeatures  = 12 // SpecialFeatureOptIns bits
	numPurposes         = 24 // PurposesConsent / PurposesLITransparency bits
	maxCustomPurposes   = 63 // NumCustomPurposes is 6 bits
	maxVendorID         = 65535
	maxRangeEntries     = 4095 // NumEntries is 12 bits
	maxRestrictionType  = 2    // 3 is undefined
	maxRestrictionCount = 4095 // NumPubRestrictions is 12 bits
	// maxRestrictionIDs bounds the total number of vendor ids across all
	// publisher restrictions, so a short string cannot expand into a huge
	// allocation (72 restrictions of 65535 vendors each would be 4.7M ids).
	maxRestrictionIDs = 1 << 20
	maxDeciseconds    = 1<<36 - 1
)

// Validate reports the first reason tc cannot be encoded as a TCF v2.3 TC
// string, or nil.
func (tc *TCString) Validate() error {
	if tc == nil {
		return errors.New("tcf: nil tc string")
	}
	if tc.Version != tcVersion {
		return fmt.Errorf("tcf: version %d is not supported (want %d)", tc.Version, tcVersion)
	}
	if _, err := toDeciseconds(tc.Created, "created"); err != nil {
		return err
	}
	if _, err := toDeciseconds(tc.LastUpdated, "lastUpdated"); err != nil {
		return err
	}
	for _, f := range []struct {
		name  string
		v     int
		width int
	}{
		{"cmpId", tc.CmpID, 12},
		{"cmpVersion", tc.CmpVersion, 12},
		{"consentScreen", tc.ConsentScreen, 6},
		{"vendorListVersion", tc.VendorListVersion, 12},
	} {
		if err := checkWidth(f.name, f.v, f.width); err != nil {
			return err
		}
	}
	if tc.PolicyVersion < minPolicyVersion || tc.PolicyVersion > 63 {
		return fmt.Errorf("tcf: policyVersion %d out of range (%d-63; tcf v2.2 and later use policy version 4 or higher)", tc.PolicyVersion, minPolicyVersion)
	}
	if err := checkLetters("consentLanguage", tc.ConsentLanguage); err != nil {
		return err
	}
	if err := checkLetters("publisherCountryCode", tc.PublisherCountryCode); err != nil {
		return err
	}
	sets := []struct {
		name string
		ids  []int
		max  int
	}{
		{"specialFeatureOptins", tc.SpecialFeatureOptins, numSpecialFeatures},
		{"purposeConsents", tc.PurposeConsents, numPurposes},
		{"purposeLegitimateInterests", tc.PurposeLegitimateInterests, numPurposes},
		{"vendorConsents", tc.VendorConsents, maxVendorID},
		{"vendorLegitimateInterests", tc.VendorLegitimateInterests, maxVendorID},
		{"disclosedVendors", tc.DisclosedVendors, maxVendorID},
		{"publisherConsents", tc.PublisherConsents, numPurposes},
		{"publisherLegitimateInterests", tc.PublisherLegitimateInterests, numPurposes},
		{"customPurposeConsents", tc.CustomPurposeConsents, maxCustomPurposes},
		{"customPurposeLegitimateInterests", tc.CustomPurposeLegitimateInterests, maxCustomPurposes},
	}
	for _, s := range sets {
		if err := checkIDs(s.name, s.ids, s.max); err != nil {
			return err
		}
	}
	if tc.NumCustomPurposes < 0 || tc.NumCustomPurposes > maxCustomPurposes {
		return fmt.Errorf("tcf: numCustomPurposes %d out of range (0-%d)", tc.NumCustomPurposes, maxCustomPurposes)
	}
	if tc.NumCustomPurposes > 0 {
		if m := maxCustomID(tc); m > tc.NumCustomPurposes {
			return fmt.Errorf("tcf: custom purpose id %d exceeds numCustomPurposes %d", m, tc.NumCustomPurposes)
		}
	}
	return validateRestrictions(tc.PublisherRestrictions)
}

func validateRestrictions(prs []PublisherRestriction) error {
	if len(prs) > maxRestrictionCount {
		return fmt.Errorf("tcf: too many publisher restrictions (%d, limit %d)", len(prs), maxRestrictionCount)
	}
	seen := make(map[[2]int]int, len(prs))
	total := 0
	for i, pr := range prs {
		name := fmt.Sprintf("publisherRestrictions[%d]", i)
		if pr.PurposeID < 1 || pr.PurposeID > numPurposes {
			return fmt.Errorf("tcf: %s: purposeId %d out of range (1-%d)", name, pr.PurposeID, numPurposes)
		}
		if pr.RestrictionType < 0 || pr.RestrictionType > maxRestrictionType {
			return fmt.Errorf("tcf: %s: restrictionType %d out of range (0-%d)", name, pr.RestrictionType, maxRestrictionType)
		}
		key := [2]int{pr.PurposeID, pr.RestrictionType}
		if j, dup := seen[key]; dup {
			return fmt.Errorf("tcf: %s repeats purposeId %d with restrictionType %d of publisherRestrictions[%d]", name, pr.PurposeID, pr.RestrictionType, j)
		}
		seen[key] = i
		if err := checkIDs(name+".vendors", pr.Vendors, maxVendorID); err != nil {
			return err
		}
		if n := len(toRanges(pr.Vendors)); n > maxRangeEntries {
			return fmt.Errorf("tcf: %s.vendors needs %d ranges (limit %d)", name, n, maxRangeEntries)
		}
		total += len(pr.Vendors)
		if total > maxRestrictionIDs {
			return fmt.Errorf("tcf: publisher restrictions list more than %d vendor ids in total", maxRestrictionIDs)
		}
	}
	return nil
}

func checkWidth(name string, v, width int) error {
	if max := 1<<uint(width) - 1; v < 0 || v > max {
		return fmt.Errorf("tcf: %s %d out of range (0-%d)", name, v, max)
	}
	return nil
}

func checkLetters(name, s string) error {
	if len(s) != 2 || s[0] < 'A' || s[0] > 'Z' || s[1] < 'A' || s[1] > 'Z' {
		return fmt.Errorf("tcf: %s %q must be two uppercase letters A-Z", name, s)
	}
	return nil
}

// checkIDs requires ids to be strictly ascending values in 1..max.
func checkIDs(name string, ids []int, max int) error {
	prev := 0
	for _, id := range ids {
		if id < 1 || id > max {
			return fmt.Errorf("tcf: %s: id %d out of range (1-%d)", name, id, max)
		}
		if id <= prev {
			return fmt.Errorf("tcf: %s: id %d follows %d (ids must be sorted and unique)", name, id, prev)
		}
		prev = id
	}
	return nil
}

func toDeciseconds(t time.Time, name string) (uint64, error) {
	if t.IsZero() {
		return 0, fmt.Errorf("tcf: %s is not set", name)
	}
	sec := t.Unix()
	var ds int64 = -1
	if sec >= 0 && sec <= maxDeciseconds/10+1 {
		ds = sec*10 + int64(t.Nanosecond()+50_000_000)/100_000_000 // round to the nearest decisecond
	}
	if ds < 0 || ds > maxDeciseconds {
		return 0, fmt.Errorf("tcf: %s %s out of range (1970-01-01T00:00:00Z to %s)", name, t.UTC().Format(time.RFC3339Nano), fromDeciseconds(maxDeciseconds).Format(time.RFC3339Nano))
	}
	return uint64(ds), nil
}

func fromDeciseconds(ds uint64) time.Time {
	return time.UnixMilli(int64(ds) * 100).UTC()
}

func maxCustomID(tc *TCString) int {
	m := 0
	if n := len(tc.CustomPurposeConsents); n > 0 {
		m = tc.CustomPurposeConsents[n-1]
	}
	if n := len(tc.CustomPurposeLegitimateInterests); n > 0 && tc.CustomPurposeLegitimateInterests[n-1] > m {
		m = tc.CustomPurposeLegitimateInterests[n-1]
	}
	return m
}

// MarshalJSON writes times in UTC and id sets as arrays, never null.
func (tc TCString) MarshalJSON() ([]byte, error) {
	type plain TCString // same fields, no methods
	p := plain(tc)
	p.Created = p.Created.UTC()
	p.LastUpdated = p.LastUpdated.UTC()
	for _, s := range []*[]int{
		&p.SpecialFeatureOptins, &p.PurposeConsents, &p.PurposeLegitimateInterests,
		&p.VendorConsents, &p.VendorLegitimateInterests, &p.DisclosedVendors,
		&p.PublisherConsents, &p.PublisherLegitimateInterests,
		&p.CustomPurposeConsents, &p.CustomPurposeLegitimateInterests,
	} {
		if *s == nil {
			*s = []int{}
		}
	}
	prs := make([]PublisherRestriction, len(p.PublisherRestrictions))
	for i, pr := range p.PublisherRestrictions {
		if pr.Vendors == nil {
			pr.Vendors = []int{}
		}
		prs[i] = pr
	}
	p.PublisherRestrictions = prs
	return json.Marshal(p)
}
