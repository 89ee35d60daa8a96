package connector

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"

	"github.com/steward-dev/steward/internal/errs"
)

// FuzzParse checks the dataset file parser on any bytes: it never panics;
// a refused file is an *errs.Error of code invalid wrapping Problems, each
// naming a field and in one line; an accepted file marshals to YAML that
// parses again to the same dataset (the parser keeps nothing it did not
// validate, and validates what it keeps).
func FuzzParse(f *testing.F) {
	shop, err := os.ReadFile("testdata/shop.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(shop)
	for _, seed := range []string{
		"connector: a\nengine: sqlite\ndsn_env: A\ntables:\n  - name: t\n    identifier: {column: id, kind: external_id}\n    columns:\n      - {name: email, category: contact, erase: null}\n",
		"connector: a\nengine: mysql\ndsn_env: A\nhmac_key_env: K\ntables:\n  - name: t\n    identifier:\n      via: [{table: u, column: uid, references: id}]\n      column: mail\n      kind: email\n    erase: delete_row\n    columns: []\n",
		"connector: a\nengine: postgres\ndsn_env: A\ntables:\n  - name: t\n    identifier: {column: id, kind: external_id}\n    retention: {after: 3y, column: created_at, then: delete_row}\n    columns:\n      - {name: note, category: other, erase: mask, mask: \"***\"}\n",
		"", "connector: [", "connector: &a x\nengine: *a\n", "tables: !!binary aGk=\n", "a: 'unterminated\n",
		strings.Repeat("- ", 40) + "x\n", strings.Repeat("[", 40), "connector: a\nunknown: 1\n", "\t- x", "connector: a\nconnector: b\n",
		"connector: a\nengine: sqlite\ndsn_env: A\ntables:\n  - name: \"bad name\"\n    identifier: {column: id, kind: nope}\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ds, err := Parse("f.yaml", data)
		if err != nil {
			checkProblems(t, ds != nil, err)
			return
		}
		if ds.File != "f.yaml" {
			t.Fatalf("File = %q", ds.File)
		}
		again, err := yaml.Marshal(ds)
		if err != nil {
			t.Fatalf("marshal an accepted dataset: %v", err)
		}
		ds2, err := Parse("f.yaml", again)
		if err != nil {
			t.Fatalf("an accepted dataset, written again, is refused: %v\n%s", err, again)
		}
		again2, err := yaml.Marshal(ds2)
		if err != nil || !bytes.Equal(again, again2) {
			t.Fatalf("dataset changed on a round trip (%v):\n%s\n----\n%s", err, again, again2)
		}
	})
}

// checkProblems asserts what a refusal of a dataset file must be.
func checkProblems(t *testing.T, gotValue bool, err error) {
	t.Helper()
	if gotValue {
		t.Fatal("Parse returned a dataset and an error")
	}
	var e *errs.Error
	var ps Problems
	if !errors.As(err, &e) || e.Code != errs.CodeInvalid || len(e.Fields) == 0 || !errors.As(err, &ps) || len(ps) == 0 {
		t.Fatalf("refusal is not an invalid error with problems: %#v", err)
	}
	for _, p := range ps {
		if p.Field == "" || p.Message == "" || strings.Contains(p.String(), "\n") || p.Line < 0 {
			t.Fatalf("problem %#v names no field or is not one line", p)
		}
		if _, ok := e.Fields[p.Field]; !ok {
			t.Fatalf("problem of field %q missing from the error's fields %v", p.Field, e.Fields)
		}
	}
}
