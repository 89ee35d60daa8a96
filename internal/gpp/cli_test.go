package gpp

import (
	"bytes"
	"strings"
	"testing"
)

// usvaJSON is the JSON form of "DBABRg~BVWSSVY" (iabgpp-es UsVa.test.ts).
const usvaJSON = `{
  "version": 1,
  "sections": [
    {
      "id": 9,
      "name": "usva",
      "raw": "BVWSSVY",
      "usva": {
        "Version": 1,
        "SharingNotice": 1,
        "SaleOptOutNotice": 1,
        "TargetedAdvertisingOptOutNotice": 1,
        "SaleOptOut": 1,
        "TargetedAdvertisingOptOut": 1,
        "SensitiveDataProcessing": [
          2,
          1,
          0,
          2,
          1,
          0,
          2,
          1
        ],
        "KnownChildSensitiveDataConsents": 1,
        "MspaCoveredTransaction": 1,
        "MspaOptOutOptionMode": 1,
        "MspaServiceProviderMode": 2
      }
    }
  ]
}
`

func TestDecodeCommand(t *testing.T) {
	var out bytes.Buffer
	if err := DecodeCommand(&out, " DBABRg~BVWSSVY\n"); err != nil {
		t.Fatal(err)
	}
	if out.String() != usvaJSON {
		t.Errorf("DecodeCommand output:\n%s\nwant:\n%s", out.String(), usvaJSON)
	}
	out.Reset()
	checkErr(t, DecodeCommand(&out, "DBABRg~BVW"), "usva.SensitiveDataProcessing", "truncated at bit 18")
	if out.Len() != 0 {
		t.Errorf("DecodeCommand wrote %q on error", out.String())
	}
}

func TestEncodeCommand(t *testing.T) {
	tests := []struct {
		name, in, want, field, wantErr string
	}{
		{"decoded form", usvaJSON, "DBABRg~BVWSSVY\n", "", ""},
		{"fields changed, raw text replaced", strings.Replace(usvaJSON, `"SaleOptOut": 1`, `"SaleOptOut": 2`, 1), "DBABRg~BVmSSVY\n", "", ""},
		{"raw text alone", `{"version":1,"sections":[{"id":6,"raw":"1YNN"},{"id":9,"raw":"BVWSSVY"}]}`, "DBACTGA~1YNN~BVWSSVY\n", "", ""},
		{"no sections", `{"version":1,"sections":[]}`, "DBAA\n", "", ""},
		{"empty input", "", "", "json", "empty input"},
		{"not json", "DBAA", "", "json", "invalid character"},
		{"unknown field", `{"version":1,"sections":[{"id":9,"usva":{"Versionn":1}}]}`, "", "json", `unknown field "Versionn"`},
		{"trailing data", `{"version":1,"sections":[]} {}`, "", "json", "unexpected data after the object"},
		{"too large", `{"version":1,"sections":[{"id":6,"raw":"` + strings.Repeat("A", maxJSONInput) + `"}]}`, "", "json", "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := EncodeCommand(&out, strings.NewReader(tt.in))
			if tt.wantErr != "" {
				checkErr(t, err, tt.field, tt.wantErr)
				return
			}
			if err != nil || out.String() != tt.want {
				t.Errorf("EncodeCommand = %q, %v; want %q", out.String(), err, tt.want)
			}
		})
	}
}
