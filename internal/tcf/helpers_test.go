package tcf

import (
	"encoding/base64"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// baseTC returns a valid TCF v2.3 value with empty id sets.
func baseTC() *TCString {
	return &TCString{
		Version:              2,
		Created:              time.Date(2025, 7, 1, 12, 0, 0, 0, time.UTC),
		LastUpdated:          time.Date(2025, 7, 2, 8, 30, 15, 300_000_000, time.UTC),
		CmpID:                300,
		CmpVersion:           12,
		ConsentScreen:        3,
		ConsentLanguage:      "FR",
		VendorListVersion:    120,
		PolicyVersion:        5,
		IsServiceSpecific:    true,
		PublisherCountryCode: "DE",
	}
}

func seq(from, to int) []int {
	var ids []int
	for i := from; i <= to; i++ {
		ids = append(ids, i)
	}
	return ids
}

func cat(parts ...[]int) []int {
	var ids []int
	for _, p := range parts {
		ids = append(ids, p...)
	}
	return ids
}

// normalized returns a copy with nil id sets replaced by empty ones and the
// times cleared (compare them separately with Equal).
func normalized(tc *TCString) TCString {
	c := *tc
	c.Created, c.LastUpdated = time.Time{}, time.Time{}
	for _, s := range []*[]int{
		&c.SpecialFeatureOptins, &c.PurposeConsents, &c.PurposeLegitimateInterests,
		&c.VendorConsents, &c.VendorLegitimateInterests, &c.DisclosedVendors,
		&c.PublisherConsents, &c.PublisherLegitimateInterests,
		&c.CustomPurposeConsents, &c.CustomPurposeLegitimateInterests,
	} {
		if *s == nil {
			*s = []int{}
		}
	}
	prs := []PublisherRestriction{}
	for _, pr := range c.PublisherRestrictions {
		if pr.Vendors == nil {
			pr.Vendors = []int{}
		}
		prs = append(prs, pr)
	}
	c.PublisherRestrictions = prs
	return c
}

// diffTC describes the first difference between want and got, or "".
func diffTC(want, got *TCString) string {
	if !want.Created.Equal(got.Created) {
		return fmt.Sprintf("created: want %v, got %v", want.Created, got.Created)
	}
	if !want.LastUpdated.Equal(got.LastUpdated) {
		return fmt.Sprintf("lastUpdated: want %v, got %v", want.LastUpdated, got.LastUpdated)
	}
	w, g := normalized(want), normalized(got)
	wv, gv := reflect.ValueOf(w), reflect.ValueOf(g)
	for i := 0; i < wv.NumField(); i++ {
		if !reflect.DeepEqual(wv.Field(i).Interface(), gv.Field(i).Interface()) {
			return fmt.Sprintf("%s: want %v, got %v", wv.Type().Field(i).Name, wv.Field(i).Interface(), gv.Field(i).Interface())
		}
	}
	return ""
}

// checkErr asserts err is a single-line error of this package containing want.
func checkErr(t *testing.T, err error, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("want error containing %q, got nil", want)
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "tcf: ") || strings.Contains(msg, "\n") {
		t.Errorf("error %q is not a single line starting with \"tcf: \"", msg)
	}
	if !strings.Contains(msg, want) {
		t.Errorf("error %q does not contain %q", msg, want)
	}
}

// rawCore hand-writes a core segment: a fixed valid header up to and
// including PublisherCC (213 bits, language given as raw 6-bit values),
// followed by whatever tail writes.
func rawCoreLang(l0, l1 uint64, tail func(w *bitWriter)) string {
	w := &bitWriter{}
	w.writeInt(2, 6)               // Version
	w.writeInt(17_500_000_000, 36) // Created
	w.writeInt(17_500_000_000, 36) // LastUpdated
	w.writeInt(10, 12)             // CmpId
	w.writeInt(1, 12)              // CmpVersion
	w.writeInt(1, 6)               // ConsentScreen
	w.writeInt(l0, 6)              // ConsentLanguage
	w.writeInt(l1, 6)              //
	w.writeInt(100, 12)            // VendorListVersion
	w.writeInt(4, 6)               // TcfPolicyVersion
	w.writeBool(true)              // IsServiceSpecific
	w.writeBool(false)             // UseNonStandardTexts
	w.writeInt(0, 12)              // SpecialFeatureOptIns
	w.writeInt(0, 24)              // PurposesConsent
	w.writeInt(0, 24)              // PurposesLITransparency
	w.writeBool(false)             // PurposeOneTreatment
	w.writeInt(3, 6)               // PublisherCC "DE"
	w.writeInt(4, 6)               //
	tail(w)
	return base64.RawURLEncoding.EncodeToString(w.buf)
}

func rawCore(tail func(w *bitWriter)) string { return rawCoreLang(4, 13, tail) }

// emptyVendorSet writes MaxVendorId 0 with bit field encoding.
func emptyVendorSet(w *bitWriter) {
	w.writeInt(0, 16)
	w.writeBool(false)
}

// restrictionsTail writes empty vendor sections and then the restrictions.
func restrictionsTail(restrictions func(w *bitWriter)) func(w *bitWriter) {
	return func(w *bitWriter) {
		emptyVendorSet(w)
		emptyVendorSet(w)
		restrictions(w)
	}
}

func rawSegment(f func(w *bitWriter)) string {
	w := &bitWriter{}
	f(w)
	return base64.RawURLEncoding.EncodeToString(w.buf)
}
