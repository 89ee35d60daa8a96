package gpp

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/steward-dev/steward/internal/errs"
)

// fuzzSeeds are the strings of the specification and of iabgpp-es's tests,
// and some broken ones.
var fuzzSeeds = []string{
	"DBABM~CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA",
	"DBACNY~CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA~1YNN",
	"DBABjw~CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA~1YNN",
	"DBAA", "DBABLA~CVVVkkkkkpFY.YA", "DBABLA~BAAAVVVVUQA.QA", "DBABLA~CAAAVVVVAFBA.QA", "DBABLA~CVQqAAAACg",
	"DBABBg~BVWSSSVY.YA", "DBABRg~BVWSSVY", "DBABJg~BVWSSVg.YA", "DBABFg~BVVkklWA", "DBABVg~BVWSSZFg.YA",
	"DBACOcGA~CPSG_8APSG_8ANwAAAENAAFgAAAAAAAAAAAAAAAAAAAA.IAAA.YAAAAAAAAAAA~BPSG_8APSG_8AAAAAAENAACAAAAAAAAAAAAAAAAAAA.YAAAAAAAAAA~1---~BAAAAAAAAABA.QA~BAAAAABA.QA~BAAAABA~BAAAAEA.QA~BAAAAAQA~BAAAAAEA.QA~BAAAAABA~BAAAAABA.QA~BAAAAAABAA.QA~BAAAAAQA.QA~BAAAAAABAA.QA~BAAAAAQA.QA~BAAAAAQA.QA~BAAAAABA.QA~BAAAAAAAQA.QA~BAAAAAQA.QA~BAAAAAQA.QA~BQAA.QA~BQAA.AAA~BQAA.AAA~BQAA.AAA",
	"DBABMA~CPSG_8APSG_8AAAAAAENAAFgAAAAAAAAAAAAFpQAwAAgCtAWkAAAAAAA.IFpQBQAAwAKAAsADoArQFpAA.YAAAAAAAAAAA",
	"CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA",
	"", "~", "D", "DBABLA~", "DBACOeA~~1YNN", "DBABLA~z", "DBABLA==~CAAAAAAAAABA.QA=", "DBABLA~CAAAAAAAAABA.AA",
}

// FuzzDecode checks that Decode never panics, that its errors are single
// lines naming a field, and that a decoded string re-encodes (as itself
// section by section, and afresh from its fields) to strings that decode to
// the same value.
func FuzzDecode(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := Decode(s)
		if err != nil {
			if d != nil {
				t.Fatal("Decode returned a value and an error")
			}
			var e *errs.Error
			if msg := err.Error(); !strings.HasPrefix(msg, "gpp: ") || strings.Contains(msg, "\n") || !errors.As(err, &e) || len(e.Fields) != 1 {
				t.Fatalf("bad error %q", msg)
			}
			return
		}
		again, err := Encode(d)
		if err != nil {
			t.Fatalf("Encode of a decoded string: %v", err)
		}
		d2, err := Decode(again)
		if err != nil {
			t.Fatalf("Decode(Encode(Decode(s))) = %v for %s", err, again)
		}
		if !sameJSON(t, d, d2) {
			t.Fatalf("decode → encode → decode changed the value: %s", again)
		}
		if again2, err := Encode(d2); err != nil || again2 != again {
			t.Fatalf("encoding not stable: %q, %v, want %q", again2, err, again)
		}
		js, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		var sb strings.Builder
		if err := EncodeCommand(&sb, strings.NewReader(string(js))); err != nil || sb.String() != again+"\n" {
			t.Fatalf("JSON round trip: %q, %v, want %q", sb.String(), err, again)
		}

		// Written afresh from the fields alone.
		bare := withoutRaw(t, d)
		fresh, err := Encode(bare)
		if err != nil {
			if !refusable(d) {
				t.Fatalf("Encode of the fields: %v", err)
			}
			return
		}
		d3, err := Decode(fresh)
		if err != nil {
			t.Fatalf("Decode(%s): %v", fresh, err)
		}
		if !sameJSON(t, withoutRaw(t, d3), bare) {
			t.Fatalf("fields → encode → decode changed the value: %s", fresh)
		}
	})
}

// refusable reports whether Encode may refuse to write d's fields afresh:
// a US section with values outside the specification (3 in a 2-bit field,
// MspaCoveredTransaction 0), or a TC string internal/tcf does not write.
func refusable(d *String) bool {
	for i := range d.Sections {
		sec := &d.Sections[i]
		if sec.TCFEUv2 != nil && sec.TCFEUv2.Validate() != nil {
			return true
		}
		if v, n := sec.typed(); n == 1 && sec.TCFEUv2 == nil && validateUS(v.(usSection)) != nil {
			return true
		}
	}
	return false
}
