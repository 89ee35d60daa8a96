package tcf

import (
	"encoding/base64"
	"errors"
	"strings"
)

// Segment types of the non-core segments.
const (
	segDisclosedVendors = 1
	segAllowedVendors   = 2 // out-of-band signalling, removed from the framework
	segPublisherTC      = 3
)

// Encode validates tc and returns its TC string: the core segment, the
// disclosed vendors segment (always, as TCF v2.3 requires) and, when it has
// content, the publisher TC segment. Each vendor set is written as a bit
// field or as ranges, whichever is shorter (the bit field on a tie). Times
// are rounded to the nearest decisecond.
func Encode(tc *TCString) (string, error) {
	if tc == nil {
		return "", errors.New("tcf: nil tc string")
	}
	if err := tc.Validate(); err != nil {
		return "", err
	}
	segs := []string{
		encodeSegment(encodeCore(tc)),
		encodeSegment(encodeDisclosedVendors(tc)),
	}
	if numCustom := effectiveNumCustom(tc); len(tc.PublisherConsents) > 0 || len(tc.PublisherLegitimateInterests) > 0 || numCustom > 0 {
		segs = append(segs, encodeSegment(encodePublisherTC(tc, numCustom)))
	}
	return strings.Join(segs, "."), nil
}

func encodeSegment(w *bitWriter) string {
	return base64.RawURLEncoding.EncodeToString(w.buf)
}

func effectiveNumCustom(tc *TCString) int {
	if tc.NumCustomPurposes > 0 {
		return tc.NumCustomPurposes
	}
	return maxCustomID(tc)
}

func encodeCore(tc *TCString) *bitWriter {
	w := &bitWriter{}
	created, _ := toDeciseconds(tc.Created, "created") // checked by Validate
	updated, _ := toDeciseconds(tc.LastUpdated, "lastUpdated")
	w.writeInt(uint64(tc.Version), 6)
	w.writeInt(created, 36)
	w.writeInt(updated, 36)
	w.writeInt(uint64(tc.CmpID), 12)
	w.writeInt(uint64(tc.CmpVersion), 12)
	w.writeInt(uint64(tc.ConsentScreen), 6)
	writeLetters(w, tc.ConsentLanguage)
	w.writeInt(uint64(tc.VendorListVersion), 12)
	w.writeInt(uint64(tc.PolicyVersion), 6)
	w.writeBool(tc.IsServiceSpecific)
	w.writeBool(tc.UseNonStandardTexts)
	writeBitfield(w, tc.SpecialFeatureOptins, numSpecialFeatures)
	writeBitfield(w, tc.PurposeConsents, numPurposes)
	writeBitfield(w, tc.PurposeLegitimateInterests, numPurposes)
	w.writeBool(tc.PurposeOneTreatment)
	writeLetters(w, tc.PublisherCountryCode)
	writeVendorSet(w, tc.VendorConsents)
	writeVendorSet(w, tc.VendorLegitimateInterests)
	w.writeInt(uint64(len(tc.PublisherRestrictions)), 12)
	for _, pr := range tc.PublisherRestrictions {
		w.writeInt(uint64(pr.PurposeID), 6)
		w.writeInt(uint64(pr.RestrictionType), 2)
		writeRanges(w, toRanges(pr.Vendors))
	}
	return w
}

func encodeDisclosedVendors(tc *TCString) *bitWriter {
	w := &bitWriter{}
	w.writeInt(segDisclosedVendors, 3)
	writeVendorSet(w, tc.DisclosedVendors)
	return w
}

func encodePublisherTC(tc *TCString, numCustom int) *bitWriter {
	w := &bitWriter{}
	w.writeInt(segPublisherTC, 3)
	writeBitfield(w, tc.PublisherConsents, numPurposes)
	writeBitfield(w, tc.PublisherLegitimateInterests, numPurposes)
	w.writeInt(uint64(numCustom), 6)
	writeBitfield(w, tc.CustomPurposeConsents, numCustom)
	writeBitfield(w, tc.CustomPurposeLegitimateInterests, numCustom)
	return w
}

// writeLetters writes two uppercase letters as 6 bits each (A=0 … Z=25).
func writeLetters(w *bitWriter, s string) {
	w.writeInt(uint64(s[0]-'A'), 6)
	w.writeInt(uint64(s[1]-'A'), 6)
}

// writeBitfield writes width bits; bit i-1 is set when id i is in ids.
// ids must be sorted and within 1..width.
func writeBitfield(w *bitWriter, ids []int, width int) {
	next := 0
	for id := 1; id <= width; id++ {
		set := next < len(ids) && ids[next] == id
		if set {
			next++
		}
		w.writeBit(set)
	}
}

type idRange struct{ start, end int }

// toRanges turns sorted unique ids into maximal runs of consecutive ids.
func toRanges(ids []int) []idRange {
	var rs []idRange
	for _, id := range ids {
		if n := len(rs); n > 0 && rs[n-1].end+1 == id {
			rs[n-1].end = id
			continue
		}
		rs = append(rs, idRange{id, id})
	}
	return rs
}

func rangesBits(rs []idRange) int {
	bits := 12
	for _, r := range rs {
		bits += 17
		if r.end > r.start {
			bits += 16
		}
	}
	return bits
}

// writeVendorSet writes MaxVendorId, IsRangeEncoding and then whichever of
// the bit field or range section is shorter.
func writeVendorSet(w *bitWriter, ids []int) {
	maxID := 0
	if len(ids) > 0 {
		maxID = ids[len(ids)-1]
	}
	w.writeInt(uint64(maxID), 16)
	rs := toRanges(ids)
	if len(rs) <= maxRangeEntries && rangesBits(rs) < maxID {
		w.writeBool(true)
		writeRanges(w, rs)
		return
	}
	w.writeBool(false)
	writeBitfield(w, ids, maxID)
}

func writeRanges(w *bitWriter, rs []idRange) {
	w.writeInt(uint64(len(rs)), 12)
	for _, r := range rs {
		isRange := r.end > r.start
		w.writeBool(isRange)
		w.writeInt(uint64(r.start), 16)
		if isRange {
			w.writeInt(uint64(r.end), 16)
		}
	}
}
