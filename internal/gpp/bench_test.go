package gpp

import "testing"

// BenchmarkDecodeUSNat decodes a GPP string holding a usnat section with
// its GPC sub-section (goal: ≤ 2 µs per decode).
func BenchmarkDecodeUSNat(b *testing.B) {
	const s = "DBABLA~CVVVkkkkkpFY.YA"
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(s); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncodeUSNat writes the same string from its fields.
func BenchmarkEncodeUSNat(b *testing.B) {
	s := &String{Version: 1, Sections: []Section{{ID: IDUSNat, USNat: usnatAll}}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Encode(s); err != nil {
			b.Fatal(err)
		}
	}
}
