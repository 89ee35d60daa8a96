package httpsystem_test

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"

	"github.com/steward-dev/steward/internal/connector"
	"github.com/steward-dev/steward/internal/connector/httpsystem"
	"github.com/steward-dev/steward/internal/errs"
)

// FuzzParse checks the HTTP dataset parser on any bytes: it never panics;
// a refused file is an *errs.Error of code invalid wrapping
// connector.Problems that name their fields in one line; an accepted file,
// written again from its fields, parses to the same dataset.
func FuzzParse(f *testing.F) {
	crm, err := os.ReadFile("testdata/crm.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(crm)
	for _, seed := range []string{
		"connector: crm\nengine: http\nurl: https://crm.example/steward\nsecret_env: CRM_SECRET\noperations: [access, erase]\ncategories: [contact]\ntimeout: 90s\n",
		"connector: crm\nengine: http\nurl: https://crm.example/\nsecret_env: S\noperations: [access, correct]\ncategories: [contact]\nlegal_reason: tax law\ncorrectable:\n  - {field: contacts.phone, category: contact, auto_correct: true}\n",
		"connector: crm\nengine: http\nurl: http://localhost/\nsecret_env: S\noperations: []\ntimeout: -1s\n", "engine: http\n", "timeout: 1e9h\n",
		"", "engine: [", "engine: &x http\nurl: *x\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ds, err := httpsystem.Parse("f.yaml", data)
		if err != nil {
			if ds != nil {
				t.Fatal("Parse returned a dataset and an error")
			}
			var e *errs.Error
			var ps connector.Problems
			if !errors.As(err, &e) || e.Code != errs.CodeInvalid || !errors.As(err, &ps) || len(ps) == 0 {
				t.Fatalf("refusal is not an invalid error with problems: %#v", err)
			}
			for _, p := range ps {
				if _, ok := e.Fields[p.Field]; !ok || p.Field == "" || strings.Contains(p.String(), "\n") {
					t.Fatalf("problem %#v does not name a field in one line", p)
				}
			}
			return
		}
		if ds.Engine != httpsystem.EngineHTTP || ds.Timeout <= 0 {
			t.Fatalf("accepted engine %q, timeout %v", ds.Engine, ds.Timeout)
		}
		again := writeHTTPDataset(t, ds)
		ds2, err := httpsystem.Parse("f.yaml", again)
		if err != nil {
			t.Fatalf("an accepted dataset, written again, is refused: %v\n%s", err, again)
		}
		if again2 := writeHTTPDataset(t, ds2); !bytes.Equal(again, again2) {
			t.Fatalf("dataset changed on a round trip:\n%s\n----\n%s", again, again2)
		}
	})
}

// writeHTTPDataset writes ds as a dataset file.
func writeHTTPDataset(t *testing.T, ds *httpsystem.Dataset) []byte {
	t.Helper()
	out, err := yaml.Marshal(map[string]any{
		"connector": ds.Name, "engine": ds.Engine, "url": ds.URL, "secret_env": ds.SecretEnv,
		"operations": ds.Operations, "categories": ds.Categories, "timeout": ds.Timeout.String(),
		"legal_reason": ds.LegalReason, "correctable": ds.Correctable,
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
