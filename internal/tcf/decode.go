package tcf

import (
	"encoding/base64"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// maxInputLen bounds the length of a TC string accepted by Decode. Real
// strings are a few kilobytes at most.
const maxInputLen = 1 << 20

// Decode parses a TC string. It accepts any version 2 string: the core
// segment followed, in any order, by at most one disclosed vendors segment
// and at most one publisher TC segment. The allowed vendors segment (type 2)
// belonged to out-of-band signalling, which the framework has removed, and
// is refused. Id sets in the result are sorted and never nil.
func Decode(s string) (*TCString, error) {
	if s == "" {
		return nil, errors.New("tcf: empty tc string")
	}
	if len(s) > maxInputLen {
		return nil, fmt.Errorf("tcf: tc string too long (%d bytes, limit %d)", len(s), maxInputLen)
	}
	parts := strings.Split(s, ".")
	tc := &TCString{
		SpecialFeatureOptins:             []int{},
		PurposeConsents:                  []int{},
		PurposeLegitimateInterests:       []int{},
		VendorConsents:                   []int{},
		VendorLegitimateInterests:        []int{},
		PublisherRestrictions:            []PublisherRestriction{},
		DisclosedVendors:                 []int{},
		PublisherConsents:                []int{},
		PublisherLegitimateInterests:     []int{},
		CustomPurposeConsents:            []int{},
		CustomPurposeLegitimateInterests: []int{},
	}
	data, err := decodeSegment(parts[0], 1)
	if err != nil {
		return nil, err
	}
	if err := decodeCore(newBitReader(data, "core"), tc); err != nil {
		return nil, err
	}
	seen := map[uint64]int{}
	for i, p := range parts[1:] {
		n := i + 2
		data, err := decodeSegment(p, n)
		if err != nil {
			return nil, err
		}
		r := newBitReader(data, fmt.Sprintf("segment %d", n))
		typ, err := r.readInt(3, "segment type")
		if err != nil {
			return nil, err
		}
		if prev, dup := seen[typ]; dup {
			return nil, fmt.Errorf("tcf: segment %d repeats segment type %d of segment %d", n, typ, prev)
		}
		seen[typ] = n
		switch typ {
		case segDisclosedVendors:
			r.segment = "disclosed vendors"
			if tc.DisclosedVendors, err = readVendorSet(r, "disclosed vendors"); err != nil {
				return nil, err
			}
		case segPublisherTC:
			r.segment = "publisher tc"
			if err := decodePublisherTC(r, tc); err != nil {
				return nil, err
			}
		case 0:
			return nil, fmt.Errorf("tcf: segment %d has segment type 0 (core), but only the first segment may be the core segment", n)
		case segAllowedVendors:
			return nil, fmt.Errorf("tcf: segment %d is an allowed vendors segment (type 2), which is no longer part of tcf v2", n)
		default:
			return nil, fmt.Errorf("tcf: segment %d has unknown segment type %d", n, typ)
		}
	}
	return tc, nil
}

// decodeSegment decodes one base64url segment (padding tolerated).
func decodeSegment(p string, n int) ([]byte, error) {
	if p == "" {
		return nil, fmt.Errorf("tcf: segment %d is empty", n)
	}
	trimmed := strings.TrimRight(p, "=")
	if len(p)-len(trimmed) > 2 {
		return nil, fmt.Errorf("tcf: segment %d is not valid base64url (too much padding)", n)
	}
	data, err := base64.RawURLEncoding.DecodeString(trimmed)
	if err != nil {
		var ce base64.CorruptInputError
		if errors.As(err, &ce) {
			return nil, fmt.Errorf("tcf: segment %d is not valid base64url (bad data at character %d)", n, int64(ce)+1)
		}
		return nil, fmt.Errorf("tcf: segment %d is not valid base64url", n)
	}
	return data, nil
}

func decodeCore(r *bitReader, tc *TCString) error {
	var err error
	pos := r.pos
	if tc.Version, err = r.readIntn(6, "version"); err != nil {
		return err
	}
	if tc.Version != tcVersion {
		return r.invalid(pos, "version", "version %d is not supported (want %d)", tc.Version, tcVersion)
	}
	ds, err := r.readInt(36, "created")
	if err != nil {
		return err
	}
	tc.Created = fromDeciseconds(ds)
	if ds, err = r.readInt(36, "last updated"); err != nil {
		return err
	}
	tc.LastUpdated = fromDeciseconds(ds)
	if tc.CmpID, err = r.readIntn(12, "cmp id"); err != nil {
		return err
	}
	if tc.CmpVersion, err = r.readIntn(12, "cmp version"); err != nil {
		return err
	}
	if tc.ConsentScreen, err = r.readIntn(6, "consent screen"); err != nil {
		return err
	}
	if tc.ConsentLanguage, err = readLetters(r, "consent language"); err != nil {
		return err
	}
	if tc.VendorListVersion, err = r.readIntn(12, "vendor list version"); err != nil {
		return err
	}
	if tc.PolicyVersion, err = r.readIntn(6, "policy version"); err != nil {
		return err
	}
	if tc.IsServiceSpecific, err = r.readBool("is service specific"); err != nil {
		return err
	}
	if tc.UseNonStandardTexts, err = r.readBool("use non-standard texts"); err != nil {
		return err
	}
	if tc.SpecialFeatureOptins, err = r.readBitfield(numSpecialFeatures, "special feature opt-ins"); err != nil {
		return err
	}
	if tc.PurposeConsents, err = r.readBitfield(numPurposes, "purpose consents"); err != nil {
		return err
	}
	if tc.PurposeLegitimateInterests, err = r.readBitfield(numPurposes, "purpose legitimate interests"); err != nil {
		return err
	}
	if tc.PurposeOneTreatment, err = r.readBool("purpose one treatment"); err != nil {
		return err
	}
	if tc.PublisherCountryCode, err = readLetters(r, "publisher country code"); err != nil {
		return err
	}
	if tc.VendorConsents, err = readVendorSet(r, "vendor consents"); err != nil {
		return err
	}
	if tc.VendorLegitimateInterests, err = readVendorSet(r, "vendor legitimate interests"); err != nil {
		return err
	}
	tc.PublisherRestrictions, err = readRestrictions(r)
	return err
}

func decodePublisherTC(r *bitReader, tc *TCString) error {
	var err error
	if tc.PublisherConsents, err = r.readBitfield(numPurposes, "publisher purpose consents"); err != nil {
		return err
	}
	if tc.PublisherLegitimateInterests, err = r.readBitfield(numPurposes, "publisher purpose legitimate interests"); err != nil {
		return err
	}
	if tc.NumCustomPurposes, err = r.readIntn(6, "number of custom purposes"); err != nil {
		return err
	}
	if tc.CustomPurposeConsents, err = r.readBitfield(tc.NumCustomPurposes, "custom purpose consents"); err != nil {
		return err
	}
	tc.CustomPurposeLegitimateInterests, err = r.readBitfield(tc.NumCustomPurposes, "custom purpose legitimate interests")
	return err
}

// readLetters reads two 6-bit letters (A=0 … Z=25).
func readLetters(r *bitReader, field string) (string, error) {
	var b [2]byte
	for i := range b {
		pos := r.pos
		v, err := r.readInt(6, field)
		if err != nil {
			return "", err
		}
		if v > 25 {
			return "", r.invalid(pos, field, "letter value %d out of range (0-25)", v)
		}
		b[i] = 'A' + byte(v)
	}
	return string(b[:]), nil
}

// readVendorSet reads MaxVendorId, IsRangeEncoding and a bit field or range
// section.
func readVendorSet(r *bitReader, field string) ([]int, error) {
	maxID, err := r.readIntn(16, field+" max vendor id")
	if err != nil {
		return nil, err
	}
	isRange, err := r.readBool(field + " encoding type")
	if err != nil {
		return nil, err
	}
	if !isRange {
		return r.readBitfield(maxID, field)
	}
	return readRanges(r, field, maxID)
}

// readRanges reads NumEntries and the range entries that follow. Every id
// must lie in 1..bound; overlapping or unordered entries are merged.
func readRanges(r *bitReader, field string, bound int) ([]int, error) {
	n, err := r.readIntn(12, field+" number of entries")
	if err != nil {
		return nil, err
	}
	rs := make([]idRange, 0, min(n, r.remaining()/17+1))
	for i := 1; i <= n; i++ {
		entry := fmt.Sprintf("%s range entry %d", field, i)
		isRange, err := r.readBool(entry)
		if err != nil {
			return nil, err
		}
		pos := r.pos
		start, err := r.readIntn(16, entry)
		if err != nil {
			return nil, err
		}
		end := start
		if isRange {
			if end, err = r.readIntn(16, entry); err != nil {
				return nil, err
			}
		}
		switch {
		case start == 0:
			return nil, r.invalid(pos, entry, "vendor id 0 is not valid")
		case end < start:
			return nil, r.invalid(pos, entry, "range end %d is before start %d", end, start)
		case end > bound:
			return nil, r.invalid(pos, entry, "vendor id %d exceeds max vendor id %d", end, bound)
		}
		rs = append(rs, idRange{start, end})
	}
	return expandRanges(rs), nil
}

// expandRanges merges the ranges and lists their ids in ascending order.
// The result has at most maxVendorID elements whatever the input.
func expandRanges(rs []idRange) []int {
	sort.Slice(rs, func(i, j int) bool { return rs[i].start < rs[j].start })
	ids := []int{}
	next := 1 // smallest id not yet emitted
	for _, r := range rs {
		for id := max(r.start, next); id <= r.end; id++ {
			ids = append(ids, id)
		}
		next = max(next, r.end+1)
	}
	return ids
}

func readRestrictions(r *bitReader) ([]PublisherRestriction, error) {
	n, err := r.readIntn(12, "number of publisher restrictions")
	if err != nil {
		return nil, err
	}
	prs := []PublisherRestriction{}
	seen := map[[2]int]int{}
	total := 0
	for i := 1; i <= n; i++ {
		field := fmt.Sprintf("publisher restriction %d", i)
		pos := r.pos
		purpose, err := r.readIntn(6, field+" purpose id")
		if err != nil {
			return nil, err
		}
		if purpose < 1 || purpose > numPurposes {
			return nil, r.invalid(pos, field, "purpose id %d out of range (1-%d)", purpose, numPurposes)
		}
		pos = r.pos
		typ, err := r.readIntn(2, field+" restriction type")
		if err != nil {
			return nil, err
		}
		if typ > maxRestrictionType {
			return nil, r.invalid(pos, field, "restriction type %d is undefined", typ)
		}
		key := [2]int{purpose, typ}
		if j, dup := seen[key]; dup {
			return nil, r.invalid(pos, field, "repeats purpose id %d with restriction type %d of publisher restriction %d", purpose, typ, j)
		}
		seen[key] = i
		vendors, err := readRanges(r, field, maxVendorID)
		if err != nil {
			return nil, err
		}
		total += len(vendors)
		if total > maxRestrictionIDs {
			return nil, r.invalid(pos, field, "publisher restrictions list more than %d vendor ids in total", maxRestrictionIDs)
		}
		prs = append(prs, PublisherRestriction{PurposeID: purpose, RestrictionType: typ, Vendors: vendors})
	}
	return prs, nil
}
