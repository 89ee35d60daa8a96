package tcf_test

import (
	"fmt"
	"time"

	"github.com/steward-dev/steward/internal/tcf"
)

func ExampleEncode() {
	tc := &tcf.TCString{
		Version:              2,
		Created:              time.Date(2025, 9, 1, 10, 0, 0, 0, time.UTC),
		LastUpdated:          time.Date(2025, 9, 1, 10, 0, 0, 500_000_000, time.UTC),
		CmpID:                7,
		CmpVersion:           3,
		ConsentScreen:        1,
		ConsentLanguage:      "EN",
		VendorListVersion:    150,
		PolicyVersion:        5,
		IsServiceSpecific:    true,
		PublisherCountryCode: "FR",
		PurposeConsents:      []int{1, 2},
		VendorConsents:       []int{755},
		DisclosedVendors:     []int{1, 755},
	}
	s, err := tcf.Encode(tc)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(s)
	// Output: CQXFlJAQXFlJFAHADBENCWFgAMAAAAAAAAqIF5wAQF5gAAAA.IF5wAgAAgLzA
}

func ExampleDecode() {
	tc, err := tcf.Decode("CQXFlJAQXFlJFAHADBENCWFgAMAAAAAAAAqIF5wAQF5gAAAA.IF5wAgAAgLzA")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(tc.CmpID, tc.ConsentLanguage, tc.PolicyVersion, tc.LastUpdated.Format(time.RFC3339Nano))
	fmt.Println(tc.PurposeConsents, tc.VendorConsents, tc.DisclosedVendors)

	_, err = tcf.Decode("CQXFlJAQXFlJFAHADBENCWFgAMAAAAAAAAqI")
	fmt.Println(err)
	// Output:
	// 7 EN 5 2025-09-01T10:00:00.5Z
	// [1 2] [755] [1 755]
	// tcf: core segment truncated at bit 213 (vendor consents max vendor id)
}
