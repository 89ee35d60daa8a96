// Package tcf encodes and decodes IAB Transparency and Consent Framework v2 TC strings.
//
// A TC string is a dot-separated list of segments, each a bit string encoded
// as base64url without padding. The first segment is always the core segment;
// the others start with a 3-bit segment type: 1 for disclosed vendors and 3
// for the publisher purposes (publisher TC) segment. Times are stored as
// deciseconds since the Unix epoch in 36 bits, two-letter codes as two 6-bit
// letters (A=0 … Z=25), and vendor sets as either a bit field or a list of
// ranges, whichever is shorter.
//
// Decode accepts any version 2 TC string, including strings written under
// older policy versions and strings without a disclosed vendors segment.
// Encode writes TCF v2.3 strings: it refuses policy versions below 4 and
// always emits the disclosed vendors segment, which TCF v2.3 makes mandatory.
//
// Usage:
//
//	tc, err := tcf.Decode("CQXFlJAQXFlJFAHADBENCWFgAMAAAAAAAAqIF5wAQF5gAAAA.IF5wAgAAgLzA")
//	if err != nil {
//		return err
//	}
//	fmt.Println(tc.CmpID, tc.VendorConsents, tc.DisclosedVendors) // 7 [755] [1 755]
//
//	tc.VendorConsents = append(tc.VendorConsents, 1000) // id sets stay sorted
//	tc.DisclosedVendors = append(tc.DisclosedVendors, 1000)
//	tc.LastUpdated = time.Now()
//	s, err := tcf.Encode(tc) // validates, then encodes
//
// Decode errors are single lines such as
// "tcf: core segment truncated at bit 213 (vendor consents max vendor id)".
//
// The JSON form produced by DecodeCommand and read by EncodeCommand uses the
// lowerCamelCase field names of TCString; id sets are sorted arrays and are
// never null.
package tcf
