package httpsystem_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/connector"
	"github.com/steward-dev/steward/internal/connector/httpsystem"
	"github.com/steward-dev/steward/internal/errs"
)

const crmFile = `# the CRM, which is not a database we may reach
connector: crm
engine: http
url: https://crm.internal/steward
secret_env: CRM_WEBHOOK_SECRET
operations: [access, erasure]
categories: [contact, behavioural]
timeout: 48h
`

func TestParseExample(t *testing.T) {
	ds, err := httpsystem.ParseFile(filepath.Join("testdata", "crm.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if ds.Name != "crm" || ds.URL != "https://crm.internal/steward" || ds.SecretEnv != "CRM_WEBHOOK_SECRET" ||
		!ds.Supports(httpsystem.Access) || !ds.Supports(httpsystem.Erasure) || ds.Timeout != httpsystem.DefaultTimeout ||
		strings.Join(ds.Categories, ",") != "contact,behavioural,communications" || ds.File != filepath.Join("testdata", "crm.yaml") {
		t.Fatalf("parsed %+v", ds)
	}
	data, err := os.ReadFile(filepath.Join("testdata", "crm.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !httpsystem.IsHTTP(data) {
		t.Fatal("IsHTTP(crm.yaml) = false")
	}
	shop, err := os.ReadFile(filepath.Join("..", "testdata", "shop.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if httpsystem.IsHTTP(shop) {
		t.Fatal("IsHTTP(shop.yaml), an SQL dataset, = true")
	}
}

func TestParse(t *testing.T) {
	cases := []struct {
		name string
		edit func(string) string
		// field and line of the first problem; none for a valid file.
		field string
		line  int
		check func(t *testing.T, ds *httpsystem.Dataset)
	}{
		{name: "valid", edit: func(s string) string { return s }, check: func(t *testing.T, ds *httpsystem.Dataset) {
			if ds.Timeout != 48*time.Hour {
				t.Errorf("timeout = %s", ds.Timeout)
			}
		}},
		{name: "http on localhost", edit: replace("https://crm.internal/steward", "http://127.0.0.1:8081/steward")},
		{name: "http on localhost by name", edit: replace("https://crm.internal/steward", "http://localhost/steward")},
		{name: "access only, with a legal reason", edit: replace("[access, erasure]", "[access]\nlegal_reason: \"kept 10 years under tax law\"")},
		{name: "no timeout means the default", edit: replace("timeout: 48h\n", ""), check: func(t *testing.T, ds *httpsystem.Dataset) {
			if ds.Timeout != httpsystem.DefaultTimeout {
				t.Errorf("timeout = %s", ds.Timeout)
			}
		}},
		{name: "unknown key", edit: replace("timeout: 48h", "timeout: 48h\nretries: 3"), field: "yaml", line: 9},
		{name: "misspelt key", edit: replace("secret_env:", "secret:"), field: "yaml", line: 5},
		{name: "no name", edit: replace("connector: crm\n", ""), field: "connector", line: 1},
		{name: "bad name", edit: replace("connector: crm", "connector: CRM system"), field: "connector", line: 2},
		{name: "sql engine", edit: replace("engine: http", "engine: postgres"), field: "engine", line: 3},
		{name: "plain http to another host", edit: replace("https://crm.internal", "http://crm.internal"), field: "url", line: 4},
		{name: "relative url", edit: replace("https://crm.internal/steward", "/steward"), field: "url", line: 4},
		{name: "credentials in url", edit: replace("https://crm.internal", "https://steward:pw@crm.internal"), field: "url", line: 4},
		{name: "no url", edit: replace("url: https://crm.internal/steward\n", ""), field: "url", line: 1},
		{name: "secret in place of its variable", edit: replace("CRM_WEBHOOK_SECRET", "whsec_abc+/="), field: "secret_env", line: 5},
		{name: "unknown operation", edit: replace("[access, erasure]", "[access, rectify]"), field: "operations[1]", line: 6},
		{name: "operation twice", edit: replace("[access, erasure]", "[erasure, erasure]"), field: "operations[1]", line: 6},
		{name: "no operations", edit: replace("operations: [access, erasure]\n", ""), field: "operations", line: 1},
		{name: "no erasure and no legal reason", edit: replace("[access, erasure]", "[access]"), field: "legal_reason", line: 6},
		{name: "unknown category", edit: replace("behavioural", "behavior"), field: "categories[1]", line: 7},
		{name: "no categories", edit: replace("categories: [contact, behavioural]\n", ""), field: "categories", line: 1},
		{name: "timeout too short", edit: replace("48h", "10s"), field: "timeout", line: 8},
		{name: "timeout too long", edit: replace("48h", "4000h"), field: "timeout", line: 8},
		{name: "timeout in days", edit: replace("48h", "3d"), check: func(t *testing.T, ds *httpsystem.Dataset) {
			if ds.Timeout != 72*time.Hour {
				t.Errorf("timeout = %s", ds.Timeout)
			}
		}},
		{name: "timeout in weeks", edit: replace("48h", "2w"), field: "timeout", line: 8},
		{name: "timeout as a number", edit: replace("48h", "72"), field: "timeout", line: 8},
		{name: "operations not a list", edit: replace("[access, erasure]", "access"), field: "yaml", line: 6},
		{name: "not yaml", edit: func(string) string { return "connector: [crm" }, field: "yaml", line: 1},
		{name: "correction with its fields", edit: replace("[access, erasure]", "[access, erasure, correction]\ncorrectable:\n  - field: contacts.phone\n    category: contact\n    auto_correct: true"),
			check: func(t *testing.T, ds *httpsystem.Dataset) {
				f, ok := ds.CorrectableField("contacts.phone")
				if !ds.Supports(httpsystem.Correction) || !ok || f.Category != "contact" || !f.AutoCorrect {
					t.Errorf("correctable = %+v, %v", ds.Correctable, ok)
				}
			}},
		{name: "correction without fields", edit: replace("[access, erasure]", "[access, erasure, correction]"), field: "correctable", line: 6},
		{name: "fields without correction", edit: replace("[access, erasure]", "[access, erasure]\ncorrectable:\n  - field: contacts.phone\n    category: contact"), field: "correctable", line: 8},
		{name: "correctable field of another category", edit: replace("[access, erasure]", "[access, erasure, correction]\ncorrectable:\n  - field: contacts.phone\n    category: financial"), field: "correctable[0].category", line: 9},
		{name: "correctable field with a colon", edit: replace("[access, erasure]", "[access, erasure, correction]\ncorrectable:\n  - field: \"crm:phone\"\n    category: contact"), field: "correctable[0].field", line: 8},
		{name: "correctable field without its record", edit: replace("[access, erasure]", "[access, erasure, correction]\ncorrectable:\n  - field: phone\n    category: contact"), field: "correctable[0].field", line: 8},
		{name: "correctable field twice", edit: replace("[access, erasure]", "[correction, erasure]\ncorrectable:\n  - field: contacts.phone\n    category: contact\n  - field: contacts.phone\n    category: contact"), field: "correctable[1].field", line: 10},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ds, err := httpsystem.Parse("crm.yaml", []byte(c.edit(crmFile)))
			if c.field == "" {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				if c.check != nil {
					c.check(t, ds)
				}
				return
			}
			if !errs.Is(err, errs.CodeInvalid) {
				t.Fatalf("Parse = %v, want an invalid error", err)
			}
			var problems connector.Problems
			if !errors.As(err, &problems) || len(problems) == 0 {
				t.Fatalf("Parse = %v, want connector.Problems", err)
			}
			first := problems[0]
			if first.Field != c.field || (c.line != 0 && first.Line != c.line) || first.File != "crm.yaml" {
				t.Fatalf("first problem %+v, want field %s at line %d", first, c.field, c.line)
			}
			if !strings.HasPrefix(first.String(), "crm.yaml:") {
				t.Fatalf("problem %q does not start with the file", first.String())
			}
		})
	}
}

func TestParseReportsEveryProblem(t *testing.T) {
	file := "connector: crm\nengine: http\nurl: ftp://crm\nsecret_env: 1BAD\noperations: [read]\ncategories: [x]\n"
	_, err := httpsystem.Parse("crm.yaml", []byte(file))
	var problems connector.Problems
	if !errors.As(err, &problems) {
		t.Fatalf("Parse = %v", err)
	}
	var fields []string
	for _, p := range problems {
		fields = append(fields, p.Field)
	}
	if got := strings.Join(fields, " "); got != "url secret_env operations[0] categories[0]" {
		t.Fatalf("fields at fault: %s (%v)", got, err)
	}
	if e, _ := errs.As(err); e.Fields["url"] == "" {
		t.Fatalf("errs.Error fields: %v", e.Fields)
	}
}

func TestSecretFromEnvironment(t *testing.T) {
	ds, err := httpsystem.Parse("crm.yaml", []byte(crmFile))
	if err != nil {
		t.Fatal(err)
	}
	good := httpsystem.GenerateSecret()
	cases := []struct {
		name, value string
		ok          bool
	}{
		{"generated", good, true},
		{"surrounded by spaces", " " + good + "\n", true},
		{"unset", "", false},
		{"without prefix", strings.TrimPrefix(good, "whsec_"), false},
		{"not base64", "whsec_not base64!", false},
		{"too short", "whsec_c2hvcnQ=", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			secret, err := ds.Secret(func(name string) string {
				if name == "CRM_WEBHOOK_SECRET" {
					return c.value
				}
				return ""
			})
			if c.ok {
				if err != nil || secret != strings.TrimSpace(c.value) {
					t.Fatalf("Secret = %q, %v", secret, err)
				}
				return
			}
			e, isErrs := errs.As(err)
			if !isErrs || e.Code != errs.CodeInvalid || e.Fields["secret_env"] == "" {
				t.Fatalf("Secret error = %v, want invalid secret_env", err)
			}
			if c.value != "" && strings.Contains(err.Error(), c.value) {
				t.Fatalf("the error quotes the secret: %v", err)
			}
		})
	}
}

func replace(old, new string) func(string) string {
	return func(s string) string {
		if !strings.Contains(s, old) {
			panic("test edit: " + old + " not in the file")
		}
		return strings.Replace(s, old, new, 1)
	}
}
