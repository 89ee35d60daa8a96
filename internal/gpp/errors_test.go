package gpp

import (
	"strings"
	"testing"

	"github.com/steward-dev/steward/internal/tcf"
)

// TestHeader writes the headers of iabgpp-es's HeaderV1.test.ts and
// GppModel.test.ts from their section ids.
func TestHeader(t *testing.T) {
	tests := []struct {
		ids  []int
		want string
	}{
		{nil, "DBAA"},
		{[]int{2}, "DBABMA"},
		{[]int{2, 6}, "DBACNYA"},
		{[]int{7}, "DBABLA"},
		{[]int{5, 6}, "DBABjw"},
		{append([]int{2, 5, 6}, seq(7, 27)...), "DBACOcGA"},
	}
	for _, tt := range tests {
		var w bitWriter
		w.write(headerType, 6)
		w.write(Version, 6)
		writeRange(&w, tt.ids)
		if got := w.String(); got != tt.want {
			t.Errorf("header of %v = %s, want %s", tt.ids, got, tt.want)
		}
		ids, err := decodeHeader(tt.want, len(tt.ids))
		if err != nil || len(ids) != len(tt.ids) || (len(ids) > 0 && ids[len(ids)-1] != tt.ids[len(tt.ids)-1]) {
			t.Errorf("decodeHeader(%s) = %v, %v; want %v", tt.want, ids, err, tt.ids)
		}
	}
}

func seq(from, to int) []int {
	var l []int
	for i := from; i <= to; i++ {
		l = append(l, i)
	}
	return l
}

// TestDecodeErrors: malformed strings fail with the section and field at
// fault.
func TestDecodeErrors(t *testing.T) {
	// A header listing ids 1 to 1000 as one group: 000011 000001, count 1,
	// group, offset 1 ("11"), length 999 (Fibonacci 0010010000011+"1"...).
	var big bitWriter
	big.write(headerType, 6)
	big.write(Version, 6)
	big.write(1, 12)
	big.writeBit(true)
	big.writeFibonacci(1)
	big.writeFibonacci(999)
	var long bitWriter // a Fibonacci code word of 40 zeros
	long.write(headerType, 6)
	long.write(Version, 6)
	long.write(1, 12)
	long.write(0, 41)
	tests := []struct {
		name, in, field, want string
	}{
		{"empty", "", "string", "empty"},
		{"not ascii", "DBABTA~1Y\xffN", "string", "byte 0xff at 10 is not printable ASCII"},
		{"space", "DBABTA~1Y N", "string", "byte 0x20 at 10"},
		{"too long", "DBABLA~" + strings.Repeat("A", maxInputLen), "string", "too long"},
		{"not a header", "EBABLA~CAAAAAAAAABA.QA", "header.Type", "type 4 is not 3"},
		{"header version", "DCABLA~CAAAAAAAAABA.QA", "header.Version", "version 2 is not supported"},
		{"header bad character", "DB*BLA~CAAAAAAAAABA.QA", "header", "bad character at 3"},
		{"header truncated", "DBAB", "header.SectionIds", "entry 1 truncated at bit 24"},
		{"header lists more than the string has", "DBABLA", "header.SectionIds", "lists more sections than the string's 0"},
		{"header lists fewer than the string has", "DBABLA~CAAAAAAAAABA.QA~1YNN", "header.SectionIds", "lists 1 sections, the string has 2"},
		{"header range past the sections", big.String() + "~A", "header.SectionIds", "lists more sections than the string's 1"},
		{"header Fibonacci code too long", long.String() + "~A", "header.SectionIds", "too long"},
		// GppModel.test.ts "should fail to decode blank sections".
		{"blank section", "DBACOeA~~1YNN", "header.SectionIds", "lists more sections than the string's 2"},
		{"blank last section", "DBABLA~", "usnat", "section 1 of the string is empty"},
		// UsNat.test.ts "should throw Error on garbage".
		{"usnat garbage", "DBABLA~z", "usnat.Version", "version 51 is not supported"},
		{"usnat one character", "DBABLA~C", "usnat.SharingNotice", "truncated at bit 6"},
		{"usnat truncated", "DBABLA~CAAAAA", "usnat.SensitiveDataProcessing", "truncated at bit 36"},
		{"usnat bad character", "DBABLA~CAAAAAAAAABA.Q!", "usnat.GpcSegmentIncluded", "bad character at 2"},
		{"usnat core bad character", "DBABLA~CA$AAAAAAABA", "usnat", "bad character at 3"},
		{"usnat version 3", "DBABLA~DAAAAAAAAABA.QA", "usnat.Version", "version 3 is not supported (want 1 to 2)"},
		{"usnat version 0", "DBABLA~AAAAAAAAAABA.QA", "usnat.Version", "version 0 is not supported"},
		{"usnat empty gpc", "DBABLA~CAAAAAAAAABA.", "usnat.GpcSegmentIncluded", "gpc sub-section is empty"},
		{"usnat sub-section type 0", "DBABLA~CAAAAAAAAABA.AA", "usnat.GpcSegmentIncluded", "sub-section type 0 is not 1"},
		{"usnat empty core", "DBABLA~.QA", "usnat", "core segment is empty"},
		{"usca version 2", "DBABBg~CAAAAABA.QA", "usca.Version", "version 2 is not supported (want 1)"},
		{"usca truncated", "DBABBg~BAAAA", "usca.SensitiveDataProcessing", "truncated at bit 30"},
		{"usva truncated", "DBABRg~BAAA", "usva.SensitiveDataProcessing", "truncated at bit 24"},
		{"usco truncated", "DBABJg~BAAAAE", "usco.MspaServiceProviderMode", "truncated at bit 36"},
		{"usut truncated", "DBABFg~B", "usut.SharingNotice", "truncated at bit 6"},
		{"usct truncated gpc", "DBABVg~BAAAAAEA.Q", "usct.GpcSegmentIncluded", ""},
		{"tcf eu truncated", "DBABMA~CPSG", "tcfeuv2", "tcf: core segment truncated"},
		{"bare tc string truncated", "CPSG", "tcfeuv2", "tcf: core segment truncated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Decode(tt.in)
			if tt.name == "usct truncated gpc" {
				// "Q" holds 6 bits: type 1 and Gpc 0, which is enough.
				if err != nil || !s.Sections[0].USCT.GpcSegmentIncluded {
					t.Fatalf("Decode = %v", err)
				}
				return
			}
			if s != nil {
				t.Errorf("Decode returned a value with the error")
			}
			checkErr(t, err, tt.field, tt.want)
		})
	}
}

// TestEncodeErrors: values Encode cannot write are refused, naming the
// section (by its index in String.Sections) and the field.
func TestEncodeErrors(t *testing.T) {
	nat := func(f func(v *USNat)) *String {
		v := *usnatDefault
		v.SensitiveDataProcessing = rep(0, 16)
		v.KnownChildSensitiveDataConsents = rep(0, 3)
		f(&v)
		return &String{Version: 1, Sections: []Section{{ID: 6, Raw: "1YNN"}, {ID: IDUSNat, USNat: &v}}}
	}
	tests := []struct {
		name  string
		in    *String
		field string
		want  string
	}{
		{"nil", nil, "string", "nil"},
		{"gpp version", &String{Version: 2}, "version", "version 2 is not supported"},
		{"2-bit value 3", nat(func(v *USNat) { v.SaleOptOut = 3 }), "sections[1].usnat.SaleOptOut", "value 3 out of range (0-2)"},
		{"negative value", nat(func(v *USNat) { v.SharingNotice = -1 }), "sections[1].usnat.SharingNotice", "value -1 out of range"},
		{"mspa covered 0", nat(func(v *USNat) { v.MspaCoveredTransaction = 0 }), "sections[1].usnat.MspaCoveredTransaction", "value 0 out of range (1-2)"},
		{"list entry 3", nat(func(v *USNat) { v.SensitiveDataProcessing[4] = 3 }), "sections[1].usnat.SensitiveDataProcessing[4]", "value 3"},
		{"v1 lists in v2", nat(func(v *USNat) { v.SensitiveDataProcessing = rep(0, 12) }), "sections[1].usnat.SensitiveDataProcessing", "has 12 entries, version 2 has 16"},
		{"v2 lists in v1", nat(func(v *USNat) { v.Version = 1 }), "sections[1].usnat.SensitiveDataProcessing", "has 16 entries, version 1 has 12"},
		{"usnat version 3", nat(func(v *USNat) { v.Version = 3 }), "sections[1].usnat.Version", "version 3 is not supported"},
		{"gpc without sub-section", nat(func(v *USNat) { v.GpcSegmentIncluded = false; v.Gpc = true }), "sections[1].usnat.Gpc", "the signal would be lost"},
		{"state list length", &String{Version: 1, Sections: []Section{{ID: IDUSCA, USCA: &USCA{Version: 1, MspaCoveredTransaction: 1,
			SensitiveDataProcessing: rep(0, 8), KnownChildSensitiveDataConsents: rep(0, 2)}}}}, "sections[0].usca.SensitiveDataProcessing", "has 8 entries, version 1 has 9"},
		{"duplicate id", &String{Version: 1, Sections: []Section{{ID: 6, Raw: "1YNN"}, {ID: 6, Raw: "1NNN"}}}, "sections[1].id", "appears twice"},
		{"id 0", &String{Version: 1, Sections: []Section{{ID: 0, Raw: "x"}}}, "sections[0].id", "out of range"},
		{"no content", &String{Version: 1, Sections: []Section{{ID: 6}}}, "sections[0].raw", "neither raw text nor decoded fields"},
		{"raw not ascii", &String{Version: 1, Sections: []Section{{ID: 6, Raw: "1YNé"}}}, "sections[0].raw", "not printable ASCII"},
		{"raw with separator", &String{Version: 1, Sections: []Section{{ID: 6, Raw: "1YNN~DBAA"}}}, "sections[0].raw", "separator"},
		{"raw of a known section checked", &String{Version: 1, Sections: []Section{{ID: IDUSVA, Raw: "BAA"}}}, "sections[0].usva.SensitiveDataProcessing", "truncated"},
		{"fields of another section", &String{Version: 1, Sections: []Section{{ID: IDUSNat, USCA: uscaAll}}}, "sections[0].id", "cannot carry"},
		{"fields of an unknown section", &String{Version: 1, Sections: []Section{{ID: 6, USVA: usvaAll}}}, "sections[0].id", "cannot carry"},
		{"two typed values", &String{Version: 1, Sections: []Section{{ID: IDUSVA, USVA: usvaAll, USUT: usutAll}}}, "sections[0]", "more than one"},
		{"name of another section", &String{Version: 1, Sections: []Section{{ID: IDUSVA, Name: "usca", USVA: usvaAll}}}, "sections[0].name", `"usca" does not name section 9`},
		{"tcf refuses old policy", &String{Version: 1, Sections: []Section{{ID: IDTCFEUv2, TCFEUv2: &tcf.TCString{Version: 2, PolicyVersion: 2}}}}, "sections[0].tcfeuv2", "tcf: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := Encode(tt.in)
			if out != "" {
				t.Errorf("Encode returned %q with the error", out)
			}
			checkErr(t, err, tt.field, tt.want)
		})
	}
}

// TestEncodeSortsAndKeepsRaw: sections come out in id order, unknown ones
// as given, and a raw text that no longer matches its fields is replaced.
func TestEncodeSortsAndKeepsRaw(t *testing.T) {
	changed := *usvaAll
	changed.SaleOptOut = 2
	s := &String{Version: 1, Sections: []Section{
		{ID: IDUSVA, Raw: "BVWSSVY", USVA: &changed},
		{ID: 6, Raw: "1YNN"},
		{ID: IDUSNat, Raw: "CAAAAAAAAABA.QA=", USNat: usnatDefault},
	}}
	got, err := Encode(s)
	if err != nil {
		t.Fatal(err)
	}
	const want = "DBACzzA~1YNN~CAAAAAAAAABA.QA=~BVmSSVY"
	if got != want {
		t.Errorf("Encode = %s, want %s", got, want)
	}
	d, err := Decode(got)
	if err != nil || d.Section(IDUSVA).USVA.SaleOptOut != 2 {
		t.Fatalf("Decode = %v, %v", d, err)
	}
}
