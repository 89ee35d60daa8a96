package errs_test

import (
	"maps"
	"reflect"
	"testing"

	"github.com/steward-dev/steward/internal/errs"
)

// TestKeyedFieldsSayTheServicesEnglish: a keyed field problem gives the
// API and the CLI the same message and field text as the English it
// replaces, and keeps its key and arguments for the pages.
func TestKeyedFieldsSayTheServicesEnglish(t *testing.T) {
	cases := []struct {
		name    string
		keyed   *errs.Error
		english *errs.Error // the same problems, worded as before
		keys    map[string]errs.Problem
	}{
		{
			name:    "one field",
			keyed:   errs.InvalidKeyed("name", "too_long", "max", 200),
			english: errs.Invalid("name", "must be at most %d characters", 200),
			keys:    map[string]errs.Problem{"name": {Key: "too_long", Args: []any{"max", 200}}},
		},
		{
			name: "several fields",
			keyed: errs.FieldsKeyed(errs.Problems{
				"domains[1]":  {Key: "domain_name"},
				"purposes[0]": {Key: "unknown_purpose", Args: []any{"purpose", `"ads"`}},
			}),
			english: errs.Fields(map[string]string{
				"domains[1]":  "must be a lowercase host name such as shop.example or *.shop.example",
				"purposes[0]": `unknown purpose "ads"`,
			}),
			keys: map[string]errs.Problem{
				"domains[1]":  {Key: "domain_name"},
				"purposes[0]": {Key: "unknown_purpose", Args: []any{"purpose", `"ads"`}},
			},
		},
		{
			name:    "a placeholder twice over",
			keyed:   errs.InvalidKeyed("position", "between", "min", 0, "max", 10000),
			english: errs.Invalid("position", "must be between 0 and 10000"),
			keys:    map[string]errs.Problem{"position": {Key: "between", Args: []any{"min", 0, "max", 10000}}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.keyed.Code != errs.CodeInvalid {
				t.Errorf("code %s", tc.keyed.Code)
			}
			if tc.keyed.Message != tc.english.Message {
				t.Errorf("message %q, want %q", tc.keyed.Message, tc.english.Message)
			}
			if !maps.Equal(tc.keyed.Fields, tc.english.Fields) {
				t.Errorf("fields %v, want %v", tc.keyed.Fields, tc.english.Fields)
			}
			if !reflect.DeepEqual(tc.keyed.FieldKeys, tc.keys) {
				t.Errorf("keys %v, want %v", tc.keyed.FieldKeys, tc.keys)
			}
			if tc.keyed.Key != "" {
				t.Errorf("a field error has the whole-error key %q", tc.keyed.Key)
			}
		})
	}
}

// TestProblemsCollect: Add records a field, a later Add replaces it, and
// the error does not share the validator's map.
func TestProblemsCollect(t *testing.T) {
	p := errs.Problems{}
	if p.Has("name") {
		t.Fatal("empty problems have name")
	}
	p.Add("name", "required")
	p.Add("name", "too_long", "max", 10)
	if !p.Has("name") || len(p) != 1 || p["name"].Key != "too_long" {
		t.Fatalf("problems %v", p)
	}
	e := errs.FieldsKeyed(p)
	p.Add("other", "required")
	if _, shared := e.FieldKeys["other"]; shared {
		t.Error("the error shares the validator's map")
	}
	if got := e.Fields["name"]; got != "must be at most 10 characters" {
		t.Errorf("English %q", got)
	}
	if got := e.WithCode(errs.CodeNotFound); got.Code != errs.CodeNotFound || got.FieldKeys["name"].Key != "too_long" {
		t.Errorf("WithCode lost the keys: %+v", got)
	}
}
