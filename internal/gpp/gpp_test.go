package gpp

import (
	"cmp"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// Values and strings from iabgpp-es's own tests (IABTechLab/iabgpp-es,
// modules/cmpapi/test/encoder/section/Us*.test.ts, "should encode" cases,
// whose expectations that library enforces): the library writes each
// string from these values.
var (
	usnatAll = &USNat{Version: 2, SharingNotice: 1, SaleOptOutNotice: 1, SharingOptOutNotice: 1,
		TargetedAdvertisingOptOutNotice: 1, SensitiveDataProcessingOptOutNotice: 1, SensitiveDataLimitUseNotice: 1,
		SaleOptOut: 1, SharingOptOut: 1, TargetedAdvertisingOptOut: 1,
		SensitiveDataProcessing: cycle(16), KnownChildSensitiveDataConsents: []int{2, 1, 0},
		PersonalDataConsents: 1, MspaCoveredTransaction: 1, MspaOptOutOptionMode: 1, MspaServiceProviderMode: 2,
		GPC: GPC{GpcSegmentIncluded: true, Gpc: true}} // UsNat.test.ts: CVVVkkkkkpFY.YA
	usnatDefault = &USNat{Version: 2, SensitiveDataProcessing: rep(0, 16), KnownChildSensitiveDataConsents: rep(0, 3),
		MspaCoveredTransaction: 1, GPC: GPC{GpcSegmentIncluded: true}} // CAAAAAAAAABA.QA
	usnatV1 = &USNat{Version: 1, SensitiveDataProcessing: rep(1, 12), KnownChildSensitiveDataConsents: rep(1, 2),
		MspaCoveredTransaction: 1, GPC: GPC{GpcSegmentIncluded: true}} // BAAAVVVVUQA.QA
	usnatV2V1Values = &USNat{Version: 2, SensitiveDataProcessing: append(rep(1, 12), 0, 0, 0, 0),
		KnownChildSensitiveDataConsents: []int{1, 1, 0}, MspaCoveredTransaction: 1, GPC: GPC{GpcSegmentIncluded: true}} // CAAAVVVVAFBA.QA
	usnatV2 = &USNat{Version: 2, SensitiveDataProcessing: rep(1, 16), KnownChildSensitiveDataConsents: rep(1, 3),
		MspaCoveredTransaction: 1, GPC: GPC{GpcSegmentIncluded: true}} // CAAAVVVVVVRA.QA
	uscaAll = &USCA{Version: 1, SaleOptOutNotice: 1, SharingOptOutNotice: 1, SensitiveDataLimitUseNotice: 1,
		SaleOptOut: 1, SharingOptOut: 1, SensitiveDataProcessing: cycle(9), KnownChildSensitiveDataConsents: []int{2, 1},
		PersonalDataConsents: 1, MspaCoveredTransaction: 1, MspaOptOutOptionMode: 1, MspaServiceProviderMode: 2,
		GPC: GPC{GpcSegmentIncluded: true, Gpc: true}} // UsCa.test.ts: BVWSSSVY.YA
	usvaAll = &USVA{Version: 1, SharingNotice: 1, SaleOptOutNotice: 1, TargetedAdvertisingOptOutNotice: 1,
		SaleOptOut: 1, TargetedAdvertisingOptOut: 1, SensitiveDataProcessing: cycle(8), KnownChildSensitiveDataConsents: 1,
		MspaCoveredTransaction: 1, MspaOptOutOptionMode: 1, MspaServiceProviderMode: 2} // UsVa.test.ts: BVWSSVY
	uscoAll = &USCO{Version: 1, SharingNotice: 1, SaleOptOutNotice: 1, TargetedAdvertisingOptOutNotice: 1,
		SaleOptOut: 1, TargetedAdvertisingOptOut: 1, SensitiveDataProcessing: cycle(7), KnownChildSensitiveDataConsents: 1,
		MspaCoveredTransaction: 1, MspaOptOutOptionMode: 1, MspaServiceProviderMode: 2,
		GPC: GPC{GpcSegmentIncluded: true, Gpc: true}} // UsCo.test.ts: BVWSSVg.YA
	usutAll = &USUT{Version: 1, SharingNotice: 1, SaleOptOutNotice: 1, TargetedAdvertisingOptOutNotice: 1,
		SensitiveDataProcessingOptOutNotice: 1, SaleOptOut: 1, TargetedAdvertisingOptOut: 1,
		SensitiveDataProcessing: cycle(8), KnownChildSensitiveDataConsents: 1,
		MspaCoveredTransaction: 1, MspaOptOutOptionMode: 1, MspaServiceProviderMode: 2} // UsUt.test.ts: BVVkklWA
	usctAll = &USCT{Version: 1, SharingNotice: 1, SaleOptOutNotice: 1, TargetedAdvertisingOptOutNotice: 1,
		SaleOptOut: 1, TargetedAdvertisingOptOut: 1, SensitiveDataProcessing: cycle(8), KnownChildSensitiveDataConsents: []int{2, 1, 0},
		MspaCoveredTransaction: 1, MspaOptOutOptionMode: 1, MspaServiceProviderMode: 2,
		GPC: GPC{GpcSegmentIncluded: true, Gpc: true}} // UsCt.test.ts: BVWSSZFg.YA
)

// TestSectionExamples encodes the values of iabgpp-es's tests and expects
// its strings, and decodes its strings back to the values.
func TestSectionExamples(t *testing.T) {
	tests := []struct {
		name string
		sec  Section
		want string // the whole GPP string
	}{
		{"usnat all fields", Section{ID: IDUSNat, USNat: usnatAll}, "DBABLA~CVVVkkkkkpFY.YA"},
		{"usnat defaults", Section{ID: IDUSNat, USNat: usnatDefault}, "DBABLA~CAAAAAAAAABA.QA"},
		{"usnat without gpc", Section{ID: IDUSNat, USNat: &USNat{Version: 2, SensitiveDataProcessing: rep(0, 16),
			KnownChildSensitiveDataConsents: rep(0, 3), MspaCoveredTransaction: 1}}, "DBABLA~CAAAAAAAAABA"},
		// GppModel.test.ts "should encode usnat v1 with v1 values" etc.
		{"usnat v1", Section{ID: IDUSNat, USNat: usnatV1}, "DBABLA~BAAAVVVVUQA.QA"},
		{"usnat v2 with v1 values", Section{ID: IDUSNat, USNat: usnatV2V1Values}, "DBABLA~CAAAVVVVAFBA.QA"},
		{"usnat v2 with v2 values", Section{ID: IDUSNat, USNat: usnatV2}, "DBABLA~CAAAVVVVVVRA.QA"},
		{"usca all fields", Section{ID: IDUSCA, USCA: uscaAll}, "DBABBg~BVWSSSVY.YA"},
		{"usca defaults without gpc", Section{ID: IDUSCA, USCA: &USCA{Version: 1, SensitiveDataProcessing: rep(0, 9),
			KnownChildSensitiveDataConsents: rep(0, 2), MspaCoveredTransaction: 1}}, "DBABBg~BAAAAABA"},
		{"usva all fields", Section{ID: IDUSVA, USVA: usvaAll}, "DBABRg~BVWSSVY"},
		{"usva defaults", Section{ID: IDUSVA, USVA: &USVA{Version: 1, SensitiveDataProcessing: rep(0, 8),
			MspaCoveredTransaction: 1}}, "DBABRg~BAAAABA"},
		{"usco all fields", Section{ID: IDUSCO, USCO: uscoAll}, "DBABJg~BVWSSVg.YA"},
		{"usco defaults", Section{ID: IDUSCO, USCO: &USCO{Version: 1, SensitiveDataProcessing: rep(0, 7),
			MspaCoveredTransaction: 1, GPC: GPC{GpcSegmentIncluded: true}}}, "DBABJg~BAAAAEA.QA"},
		{"usut all fields", Section{ID: IDUSUT, USUT: usutAll}, "DBABFg~BVVkklWA"},
		{"usut defaults", Section{ID: IDUSUT, USUT: &USUT{Version: 1, SensitiveDataProcessing: rep(0, 8),
			MspaCoveredTransaction: 1}}, "DBABFg~BAAAAAQA"},
		{"usct all fields", Section{ID: IDUSCT, USCT: usctAll}, "DBABVg~BVWSSZFg.YA"},
		{"usct defaults", Section{ID: IDUSCT, USCT: &USCT{Version: 1, SensitiveDataProcessing: rep(0, 8),
			KnownChildSensitiveDataConsents: rep(0, 3), MspaCoveredTransaction: 1, GPC: GPC{GpcSegmentIncluded: true}}},
			"DBABVg~BAAAAAEA.QA"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Encode(&String{Version: 1, Sections: []Section{tt.sec}})
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			if got != tt.want {
				t.Errorf("Encode = %s, want %s", got, tt.want)
			}
			d, err := Decode(tt.want)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			want := tt.sec
			want.Name, want.Raw = SectionName(want.ID), tt.want[strings.Index(tt.want, "~")+1:]
			if len(d.Sections) != 1 || !reflect.DeepEqual(d.Sections[0], want) {
				t.Errorf("Decode = %+v, want %+v", d.Sections, want)
			}
		})
	}
}

// TestDecodeExamples decodes the strings of the GPP specification and of
// iabgpp-es's tests and checks what they say; each must encode to itself
// (section texts are copied, the header is written as iabgpp-es writes it)
// and, written afresh from its fields, to a string that decodes to the same
// value.
func TestDecodeExamples(t *testing.T) {
	const tcSpec = "CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA"
	tests := []struct {
		name  string
		in    string
		ids   []int
		check func(t *testing.T, s *String)
		again string // Encode(Decode(in)); "" when it is in
		fresh string // Encode of the fields alone; "" when it is again, "-" when Encode may refuse them
	}{
		// Core/Consent String Specification.md, "GPP String Examples" 1-3:
		// headers without iabgpp-es's padding character.
		{"spec example 1: tcf eu", "DBABM~" + tcSpec, []int{2}, func(t *testing.T, s *String) {
			if tc := s.Sections[0].TCFEUv2; tc == nil || tc.CmpID != 31 || tc.PolicyVersion != 2 {
				t.Errorf("tcfeuv2 = %+v", tc)
			}
		}, "DBABMA~" + tcSpec, "-"},
		{"spec example 2: tcf eu and us privacy", "DBACNY~" + tcSpec + "~1YNN", []int{2, 6}, func(t *testing.T, s *String) {
			if us := s.Section(6); us.Raw != "1YNN" || us.Name != "uspv1" {
				t.Errorf("uspv1 = %+v", us)
			}
		}, "DBACNYA~" + tcSpec + "~1YNN", "-"},
		{"spec example 3: tcf canada and us privacy, one range entry", "DBABjw~" + tcSpec + "~1YNN", []int{5, 6}, func(t *testing.T, s *String) {
			if ca := s.Section(5); ca.Raw != tcSpec || ca.TCFEUv2 != nil {
				t.Errorf("tcfcav1 = %+v", ca)
			}
		}, "", ""},
		// iabgpp-es modules/cmpapi/test/encoder/section/HeaderV1.test.ts.
		{"header only", "DBAA", []int{}, nil, "", ""},
		// iabgpp-es modules/cmpapi/test/GppModel.test.ts.
		{"usnat v1", "DBABLA~BAAAVVVVUQA.QA", []int{7}, func(t *testing.T, s *String) {
			if !reflect.DeepEqual(s.Sections[0].USNat, usnatV1) {
				t.Errorf("usnat = %+v", s.Sections[0].USNat)
			}
		}, "", ""},
		{"usnat v2, sensitive data 16 and child 3", "DBABLA~CAAAAAAAAQRA.QA", []int{7}, func(t *testing.T, s *String) {
			n := s.Sections[0].USNat
			if !slices.Equal(n.SensitiveDataProcessing, append(rep(0, 15), 1)) || !slices.Equal(n.KnownChildSensitiveDataConsents, []int{0, 0, 1}) {
				t.Errorf("usnat = %+v", n)
			}
		}, "", ""},
		{"usnat labelled v2 in the v1 layout, 11 characters", "DBABLA~CAAAAAABEQA.QA", []int{7}, func(t *testing.T, s *String) {
			n := s.Sections[0].USNat
			wantSDP := rep(0, 16)
			wantSDP[11] = 1
			if n.Version != 2 || !slices.Equal(n.SensitiveDataProcessing, wantSDP) || !slices.Equal(n.KnownChildSensitiveDataConsents, []int{0, 1, 0}) || n.MspaCoveredTransaction != 1 {
				t.Errorf("usnat = %+v", n)
			}
		}, "", "DBABLA~CAAAAAABABBA.QA"},
		{"usnat labelled v2 in the v1 layout, defaults", "DBABLA~CAAAAAAAAQA.QA", []int{7}, func(t *testing.T, s *String) {
			if !reflect.DeepEqual(s.Sections[0].USNat, usnatDefault) {
				t.Errorf("usnat = %+v", s.Sections[0].USNat)
			}
		}, "", "DBABLA~CAAAAAAAAABA.QA"},
		// UsNat.test.ts "should decode CVQqAAAACg": 10 characters, unpadded.
		{"usnat labelled v2 in the v1 layout, 10 characters", "DBABLA~CVQqAAAACg", []int{7}, func(t *testing.T, s *String) {
			n := s.Sections[0].USNat
			if n.SharingNotice != 1 || n.TargetedAdvertisingOptOutNotice != 1 || n.SensitiveDataProcessingOptOutNotice != 0 ||
				n.SaleOptOut != 2 || n.TargetedAdvertisingOptOut != 2 || n.PersonalDataConsents != 2 ||
				n.MspaCoveredTransaction != 2 || n.GpcSegmentIncluded || len(n.SensitiveDataProcessing) != 16 {
				t.Errorf("usnat = %+v", n)
			}
		}, "", "DBABLA~CVQqAAAAAAKA"},
		// GppModel.test.ts "should decode defaults from all sections": the
		// TCF sections of policy version 2, a version 1 usnat in the
		// version 2 layout, and every state section iabgpp-es knows.
		{"every section", "DBACOcGA~CPSG_8APSG_8ANwAAAENAAFgAAAAAAAAAAAAAAAAAAAA.IAAA.YAAAAAAAAAAA~BPSG_8APSG_8AAAAAAENAACAAAAAAAAAAAAAAAAAAA.YAAAAAAAAAA~1---~BAAAAAAAAABA.QA~BAAAAABA.QA~BAAAABA~BAAAAEA.QA~BAAAAAQA~BAAAAAEA.QA~BAAAAABA~BAAAAABA.QA~BAAAAAABAA.QA~BAAAAAQA.QA~BAAAAAABAA.QA~BAAAAAQA.QA~BAAAAAQA.QA~BAAAAABA.QA~BAAAAAAAQA.QA~BAAAAAQA.QA~BAAAAAQA.QA~BQAA.QA~BQAA.AAA~BQAA.AAA~BQAA.AAA",
			[]int{2, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27}, func(t *testing.T, s *String) {
				n := s.Section(IDUSNat).USNat
				if n.Version != 1 || n.MspaCoveredTransaction != 1 || len(n.SensitiveDataProcessing) != 12 || len(n.KnownChildSensitiveDataConsents) != 2 {
					t.Errorf("usnat = %+v", n)
				}
				for _, id := range []int{IDUSCA, IDUSVA, IDUSCO, IDUSUT, IDUSCT} {
					v, _ := s.Section(id).typed()
					if us := v.(usSection); *us.version() != 1 || mspaCovered(us) != 1 {
						t.Errorf("section %d = %+v", id, v)
					}
				}
				if sec := s.Section(27); sec.Name != "usri" || sec.Raw != "BQAA.AAA" {
					t.Errorf("usri = %+v", sec)
				}
			}, "", "-"},
		// GppModel.test.ts "should decode tcfeuv2 vendor consents [...]".
		{"tcf eu vendor consents [28]", "DBABMA~CPSG_8APSG_8AAAAAAENAAFgAAAAAAAAAAAAAOAAAABAAAAA.IAOABgAB.YAAAAAAAAAAA", []int{2}, func(t *testing.T, s *String) {
			tc := s.Sections[0].TCFEUv2
			if !slices.Equal(tc.VendorConsents, []int{28}) || !slices.Equal(tc.DisclosedVendors, []int{10, 11, 28}) {
				t.Errorf("tcfeuv2 = %+v", tc)
			}
		}, "", "-"},
		{"tcf eu vendor consents [1, 173, 722]", "DBABMA~CPSG_8APSG_8AAAAAAENAAFgAAAAAAAAAAAAFpQAwAAgCtAWkAAAAAAA.IFpQBQAAwAKAAsADoArQFpAA.YAAAAAAAAAAA", []int{2}, func(t *testing.T, s *String) {
			tc := s.Sections[0].TCFEUv2
			if !slices.Equal(tc.VendorConsents, []int{1, 173, 722}) || !slices.Equal(tc.DisclosedVendors, []int{1, 10, 11, 29, 173, 722}) {
				t.Errorf("tcfeuv2 = %+v", tc)
			}
		}, "", "-"},
		{"tcf eu fields", "DBABMA~CPSG_8APSG_8ANwAAAENDgCgAAAAAAAAAAAAAAAAAAAA.IAAA.YAAAAAAAAAAA", []int{2}, func(t *testing.T, s *String) {
			tc := s.Sections[0].TCFEUv2
			if tc.CmpID != 880 || tc.ConsentLanguage != "EN" || tc.VendorListVersion != 224 || tc.PolicyVersion != 2 ||
				!tc.IsServiceSpecific || tc.PublisherCountryCode != "AA" {
				t.Errorf("tcfeuv2 = %+v", tc)
			}
		}, "", "-"},
		// Padding written by other encoders, and sub-sections a section
		// does not define.
		{"trailing = padding", "DBABLA==~CAAAAAAAAABA.QA=", []int{7}, func(t *testing.T, s *String) {
			if !reflect.DeepEqual(s.Sections[0].USNat, usnatDefault) {
				t.Errorf("usnat = %+v", s.Sections[0].USNat)
			}
		}, "DBABLA~CAAAAAAAAABA.QA=", "DBABLA~CAAAAAAAAABA.QA"},
		{"virginia sub-section ignored", "DBABRg~BVWSSVY.YA", []int{9}, func(t *testing.T, s *String) {
			if !reflect.DeepEqual(s.Sections[0].USVA, usvaAll) {
				t.Errorf("usva = %+v", s.Sections[0].USVA)
			}
		}, "", "DBABRg~BVWSSVY"},
		{"bare tc string", tcSpec, []int{2}, nil, "DBABMA~" + tcSpec, "-"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Decode(tt.in)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if ids := s.SectionIDs(); !slices.Equal(ids, tt.ids) {
				t.Fatalf("section ids %v, want %v", ids, tt.ids)
			}
			if tt.check != nil {
				tt.check(t, s)
			}
			again, err := Encode(s)
			wantAgain := cmp.Or(tt.again, tt.in)
			if err != nil || again != wantAgain {
				t.Errorf("Encode = %s, %v; want %s", again, err, wantAgain)
			}
			fresh, err := Encode(withoutRaw(t, s))
			if err != nil {
				if tt.fresh == "-" {
					return // e.g. TCF policy version 2, which internal/tcf does not write
				}
				t.Fatalf("Encode of the fields: %v", err)
			}
			if wantFresh := cmp.Or(tt.fresh, wantAgain); tt.fresh != "-" && fresh != wantFresh {
				t.Errorf("Encode of the fields = %s, want %s", fresh, wantFresh)
			}
			back, err := Decode(fresh)
			if err != nil {
				t.Fatalf("Decode(%s): %v", fresh, err)
			}
			if !sameJSON(t, withoutRaw(t, back), withoutRaw(t, s)) {
				t.Errorf("decode → encode → decode changed the value:\n%+v\n%+v", back.Sections, s.Sections)
			}
		})
	}
}

// mspaCovered returns the MspaCoveredTransaction of a US section.
func mspaCovered(v usSection) int {
	fields := v.fields(*v.version())
	for _, f := range fields.all() {
		if f.name == "MspaCoveredTransaction" {
			return *f.num
		}
	}
	return -1
}
