package gpp_test

import (
	"fmt"

	"github.com/steward-dev/steward/internal/gpp"
)

// A visitor in California opts out of the sale and sharing of their data,
// with Global Privacy Control on; the CMP updates the usnat section and
// writes the string again.
func Example() {
	s, err := gpp.Decode("DBABLA~CAAAAAAAAABA.QA")
	if err != nil {
		fmt.Println(err)
		return
	}
	nat := s.Section(gpp.IDUSNat).USNat
	nat.SaleOptOutNotice, nat.SaleOptOut = 1, 1       // notice given, opted out
	nat.SharingOptOutNotice, nat.SharingOptOut = 1, 1 // notice given, opted out
	nat.Gpc = true
	out, err := gpp.Encode(s)
	fmt.Println(out, err)

	_, err = gpp.Decode("DBABLA~CAAAAA")
	fmt.Println(err)
	// Output:
	// DBABLA~CFAUAAAAAABA.YA <nil>
	// gpp: usnat.SensitiveDataProcessing: truncated at bit 36
}
