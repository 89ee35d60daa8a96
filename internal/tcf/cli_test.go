package tcf

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// cliString was produced by Encode (and checked bit by bit against an
// independent decoder); cliJSON is its decoded form.
const cliString = "CQXFlJAQXFlJFAHADBENCWFgAMAAAAAAAAqIF5wAQF5gAAABCQAQF5g.IF5wAgAAgLzA.cAAAAAAAAMA"

const cliJSON = `{
  "version": 2,
  "created": "2025-09-01T10:00:00Z",
  "lastUpdated": "2025-09-01T10:00:00.5Z",
  "cmpId": 7,
  "cmpVersion": 3,
  "consentScreen": 1,
  "consentLanguage": "EN",
  "vendorListVersion": 150,
  "policyVersion": 5,
  "isServiceSpecific": true,
  "useNonStandardTexts": false,
  "specialFeatureOptins": [],
  "purposeConsents": [
    1,
    2
  ],
  "purposeLegitimateInterests": [],
  "purposeOneTreatment": false,
  "publisherCountryCode": "FR",
  "vendorConsents": [
    755
  ],
  "vendorLegitimateInterests": [],
  "publisherRestrictions": [
    {
      "purposeId": 2,
      "restrictionType": 1,
      "vendors": [
        755
      ]
    }
  ],
  "disclosedVendors": [
    1,
    755
  ],
  "publisherConsents": [
    1
  ],
  "publisherLegitimateInterests": [],
  "customPurposeConsents": [
    1
  ],
  "customPurposeLegitimateInterests": [],
  "numCustomPurposes": 1
}
`

func TestDecodeCommand(t *testing.T) {
	var out bytes.Buffer
	if err := DecodeCommand(&out, "  "+cliString+"\n"); err != nil {
		t.Fatal(err)
	}
	if out.String() != cliJSON {
		t.Errorf("DecodeCommand output:\n%s\nwant:\n%s", out.String(), cliJSON)
	}

	out.Reset()
	err := DecodeCommand(&out, "CLcV")
	checkErr(t, err, "core segment truncated at bit 6 (created)")
	if out.Len() != 0 {
		t.Errorf("DecodeCommand wrote %q on error", out.String())
	}
}

func TestEncodeCommand(t *testing.T) {
	var out bytes.Buffer
	if err := EncodeCommand(&out, strings.NewReader(cliJSON)); err != nil {
		t.Fatal(err)
	}
	if out.String() != cliString+"\n" {
		t.Errorf("EncodeCommand output %q, want %q", out.String(), cliString+"\n")
	}

	// Omitted and null id sets are empty sets; numCustomPurposes may be
	// left out; times may carry any offset.
	out.Reset()
	compact := `{"version":2,"created":"2025-09-01T12:00:00+02:00","lastUpdated":"2025-09-01T10:00:00.5Z",
		"cmpId":7,"cmpVersion":3,"consentScreen":1,"consentLanguage":"EN","vendorListVersion":150,
		"policyVersion":5,"isServiceSpecific":true,"publisherCountryCode":"FR","purposeConsents":[1,2],
		"vendorConsents":[755],"vendorLegitimateInterests":null,"disclosedVendors":[1,755],
		"publisherRestrictions":[{"purposeId":2,"restrictionType":1,"vendors":[755]}],
		"publisherConsents":[1],"customPurposeConsents":[1]}`
	if err := EncodeCommand(&out, strings.NewReader(compact)); err != nil {
		t.Fatal(err)
	}
	if out.String() != cliString+"\n" {
		t.Errorf("EncodeCommand output %q, want %q", out.String(), cliString+"\n")
	}
}

func TestEncodeCommandErrors(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty input", "", "invalid json input: empty input"},
		{"not json", "CQXF", "invalid json input"},
		{"unknown field", strings.Replace(cliJSON, `"cmpId"`, `"cmpID2": 1, "cmpId"`, 1), `unknown field "cmpID2"`},
		{"trailing data", cliJSON + "{}", "unexpected data after the object"},
		{"wrong type", strings.Replace(cliJSON, `"cmpId": 7`, `"cmpId": "7"`, 1), "invalid json input"},
		{"bad time", strings.Replace(cliJSON, `"2025-09-01T10:00:00Z"`, `"yesterday"`, 1), "invalid json input"},
		{"invalid value", strings.Replace(cliJSON, `"policyVersion": 5`, `"policyVersion": 3`, 1), "policyVersion 3 out of range"},
		{"unsorted ids", strings.Replace(cliJSON, "1,\n    755", "755,\n    1", 1), "disclosedVendors: id 1 follows 755"},
		{"missing version", "{}", "version 0 is not supported"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := EncodeCommand(&out, strings.NewReader(tt.in))
			checkErr(t, err, tt.want)
			if out.Len() != 0 {
				t.Errorf("EncodeCommand wrote %q on error", out.String())
			}
		})
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestCommandsReportWriteErrors(t *testing.T) {
	if err := DecodeCommand(failingWriter{}, cliString); err == nil {
		t.Error("DecodeCommand ignored a write error")
	}
	if err := EncodeCommand(failingWriter{}, strings.NewReader(cliJSON)); err == nil {
		t.Error("EncodeCommand ignored a write error")
	}
}

// The JSON written by DecodeCommand is accepted by EncodeCommand for every
// known string whose policy version allows encoding.
func TestCommandsRoundTrip(t *testing.T) {
	in := baseTC()
	in.VendorConsents = seq(1, 300)
	in.DisclosedVendors = cat(seq(1, 300), []int{4000})
	in.PublisherRestrictions = []PublisherRestriction{{PurposeID: 4, RestrictionType: 0, Vendors: []int{}}}
	in.NumCustomPurposes = 3
	s, err := Encode(in)
	if err != nil {
		t.Fatal(err)
	}
	var js bytes.Buffer
	if err := DecodeCommand(&js, s); err != nil {
		t.Fatal(err)
	}
	if !json.Valid(js.Bytes()) {
		t.Fatalf("invalid JSON: %s", js.String())
	}
	var out bytes.Buffer
	if err := EncodeCommand(&out, &js); err != nil {
		t.Fatal(err)
	}
	if out.String() != s+"\n" {
		t.Errorf("got %q, want %q", out.String(), s+"\n")
	}
}
