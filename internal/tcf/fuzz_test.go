package tcf

import (
	"encoding/json"
	"strings"
	"testing"
)

// FuzzDecode checks that Decode never panics, that its errors are single
// lines, and that any string that decodes to an encodable value is stable
// under decode → encode → decode (and encode → JSON → encode).
func FuzzDecode(f *testing.F) {
	seeds := []string{
		// Public examples (IAB specification, GDPR::IAB::TCFv2 tests).
		"CLcVDxRMWfGmWAVAHCENAXCkAKDAADnAABRgA5mdfCKZuYJez-NQm0TBMYA4oCAAGQYIAAAAAAEAIAEgAA.argAC0gAAAAAAAAAAAA",
		"CLcVDxRMWfGmWAVAHCENAXCkAKDAADnAABRgA5mdfCKZuYJez-NQm0TBMYA4oCAAGQYIAAAAAAEAIAEgAA.YAAAAAAAAXA",
		"COyfVVoOyfVVoADACHENAwCAAAAAAAAAAAAAE5QBgALgAqgD8AQACSwEygJyAnSAMABgAFkAgQCDASeAmYBOgAA",
		"COwAdDhOwAdDhN4ABAENAPCgAAQAAv___wAAAFP_AAp_4AI6ACACAA",
		"COxPe2TOxPe2TALABAENAPCgAAAAAAAAAAAAAFAAAAoAAA4IACACAIABgACAFA4ADACAAIygAGADwAQBIAIAIB0AEAEBSACACAA",
		"COvFyGBOvFyGBAbAAAENAPCAAOAAAAAAAAAAAEEUACCKAAA.IFoEUQQgAIQwgIwQABAEAAAAOIAACAIAAAAQAIAgEAACEAAAAAgAQBAAAAAAAGBAAgAAAAAAAFAAECAAAgAAQARAEQAAAAAJAAIAAgAAAYQEAAAQmAgBC3ZAYzUw",
		cliString,
		// Malformed.
		"", ".", "C", "CLcV", "BOEFEAyOEFEAyAHABDENAI4AAAB9vABAASA",
		cliString + ".oAAA",
	}
	for _, s := range seeds {
		f.Add(s)
	}
	// Strings produced by Encode for a range of shapes.
	for _, tc := range fuzzShapes() {
		s, err := Encode(tc)
		if err != nil {
			f.Fatalf("seed: %v", err)
		}
		f.Add(s)
	}

	f.Fuzz(func(t *testing.T, s string) {
		tc, err := Decode(s)
		if err != nil {
			if tc != nil {
				t.Fatal("Decode returned a value and an error")
			}
			if msg := err.Error(); !strings.HasPrefix(msg, "tcf: ") || strings.Contains(msg, "\n") {
				t.Fatalf("bad error message %q", msg)
			}
			return
		}
		if verr := tc.Validate(); verr != nil {
			// Decode accepts older policy versions, which Encode refuses;
			// nothing else Decode accepts may fail validation.
			if tc.PolicyVersion >= minPolicyVersion {
				t.Fatalf("decoded value fails validation: %v", verr)
			}
			if _, err := Encode(tc); err == nil {
				t.Fatal("Encode accepted a value Validate refuses")
			}
			return
		}
		s2, err := Encode(tc)
		if err != nil {
			t.Fatalf("Encode of decoded value: %v", err)
		}
		tc2, err := Decode(s2)
		if err != nil {
			t.Fatalf("Decode(Encode(Decode(s))) = %v for %s", err, s2)
		}
		if d := diffTC(tc, tc2); d != "" {
			t.Fatalf("decode → encode → decode changed the value: %s", d)
		}
		s3, err := Encode(tc2)
		if err != nil || s3 != s2 {
			t.Fatalf("encoding not stable: %q, %v, want %q", s3, err, s2)
		}
		js, err := json.Marshal(tc)
		if err != nil {
			t.Fatalf("json.Marshal: %v", err)
		}
		var sb strings.Builder
		if err := EncodeCommand(&sb, strings.NewReader(string(js))); err != nil {
			t.Fatalf("EncodeCommand(%s): %v", js, err)
		}
		if sb.String() != s2+"\n" {
			t.Fatalf("JSON round trip: got %q, want %q", sb.String(), s2+"\n")
		}
	})
}

func fuzzShapes() []*TCString {
	var out []*TCString
	add := func(f func(tc *TCString)) {
		tc := baseTC()
		f(tc)
		out = append(out, tc)
	}
	add(func(tc *TCString) {})
	add(func(tc *TCString) {
		tc.VendorConsents = oddIDs(200)
		tc.VendorLegitimateInterests = seq(10, 20)
		tc.DisclosedVendors = seq(1, 500)
	})
	add(func(tc *TCString) {
		tc.VendorConsents = []int{3, 60000}
		tc.PublisherRestrictions = []PublisherRestriction{
			{PurposeID: 2, RestrictionType: 0, Vendors: cat([]int{1}, seq(5, 9))},
			{PurposeID: 2, RestrictionType: 2, Vendors: []int{}},
		}
	})
	add(func(tc *TCString) {
		tc.SpecialFeatureOptins = []int{1, 2}
		tc.PurposeConsents = seq(1, 11)
		tc.PublisherConsents = []int{1, 2}
		tc.PublisherLegitimateInterests = []int{7}
		tc.NumCustomPurposes = 4
		tc.CustomPurposeConsents = []int{1, 4}
		tc.CustomPurposeLegitimateInterests = []int{2}
	})
	return out
}
