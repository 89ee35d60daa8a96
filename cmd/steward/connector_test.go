package main

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/connector"
	"github.com/steward-dev/steward/internal/connector/drift"
	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
)

// connectorFixture is a SQLite database with one table of contacts, and a
// dataset file in the same directory.
type connectorFixture struct {
	dir, file, dbPath string
}

const connectorDataset = `connector: crm
engine: sqlite
dsn_env: CRM_DB
tables:
  - name: contacts
    identifier: {column: customer_id, kind: external_id}
    columns:
      - {name: email, category: contact, erase: mask}
      - {name: phone, category: contact, erase: null}
`

func newConnectorFixture(t *testing.T, dataset string) connectorFixture {
	t.Helper()
	f := connectorFixture{dir: t.TempDir()}
	f.file = filepath.Join(f.dir, "crm.yaml")
	f.dbPath = filepath.Join(f.dir, "crm.db")
	if err := os.WriteFile(f.file, []byte(dataset), 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", f.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, stmt := range []string{
		`CREATE TABLE contacts (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL, email TEXT NOT NULL, phone TEXT NOT NULL)`,
		`INSERT INTO contacts (customer_id, email, phone) VALUES (7, 'ada@example.org', '+44 1'), (7, 'ada@work.example', '+44 2'), (8, 'bob@example.org', '+49 3')`,
	} {
		if _, err := db.Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func runConnectorCLI(env map[string]string, args ...string) (stdout, stderr string, err error) {
	var out, errOut bytes.Buffer
	err = run(context.Background(), args, func(k string) string { return env[k] }, strings.NewReader(""), &out, &errOut)
	return out.String(), errOut.String(), err
}

func TestConnectorCommand(t *testing.T) {
	t.Parallel()
	// phone is NOT NULL in the database: its erase null is a mismatch.
	good := newConnectorFixture(t, connectorDataset)
	env := map[string]string{"CRM_DB": good.dbPath}
	ok := newConnectorFixture(t, strings.Replace(connectorDataset, "erase: null}", "erase: mask, mask: '-'}", 1))
	okEnv := map[string]string{"CRM_DB": ok.dbPath}
	broken := newConnectorFixture(t, strings.Replace(connectorDataset, "erase: mask}", "erase: mask, legal_reasn: x}", 1))
	cases := []struct {
		name      string
		env       map[string]string
		args      []string
		wantErr   string // "" for success
		wantOut   []string
		forbidOut []string
	}{
		{"check reports each mismatch at its line", env, []string{"connector", "check", good.file}, "1 mismatch with the sqlite database of connector crm",
			[]string{good.file + ":9: table contacts, column phone: erase null, but the column is NOT NULL"}, nil},
		{"check without the DSN", map[string]string{}, []string{"connector", "check", good.file}, "environment variable CRM_DB is empty or unset", nil, nil},
		{"check of a missing database", map[string]string{"CRM_DB": filepath.Join(good.dir, "nope.db")}, []string{"connector", "check", good.file}, "no such file", nil, nil},
		{"check of a broken file", env, []string{"connector", "check", broken.file}, broken.file + `:8: unknown field "legal_reasn"`, nil, nil},
		{"check of no file", env, []string{"connector", "check"}, "usage", nil, nil},
		{"check of two files", env, []string{"connector", "check", good.file, broken.file}, "usage", nil, nil},
		{"unknown subcommand", env, []string{"connector", "erase", good.file}, "usage", nil, nil},
		{"preview with flags after the file", okEnv, []string{"connector", "preview", ok.file, "--external-id", "7"}, "",
			[]string{"contacts  email   mask    2", "contacts  phone   mask    2"}, []string{"ada@", "+44"}},
		{"preview of nobody", okEnv, []string{"connector", "preview", "--external-id", "99", ok.file}, "",
			[]string{"contacts  email   mask    0"}, nil},
		{"preview without a subject", okEnv, []string{"connector", "preview", ok.file}, "--external-id or --email", nil, nil},
		{"preview shows why an erasure would fail", env, []string{"connector", "preview", good.file, "--external-id", "7"},
			"table contacts, column phone: null: constraint failed", nil, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, _, err := runConnectorCLI(c.env, c.args...)
			switch {
			case c.wantErr == "" && err != nil:
				t.Fatalf("error %v", err)
			case c.wantErr == "usage" && !errors.Is(err, errUsage):
				t.Fatalf("error %v, want the usage", err)
			case c.wantErr != "" && c.wantErr != "usage" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
				t.Fatalf("error %v, want it to mention %q", err, c.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans lines: %q", err)
			}
			for _, w := range c.wantOut {
				if !strings.Contains(out, w) {
					t.Errorf("stdout lacks %q:\n%s", w, out)
				}
			}
			for _, f := range c.forbidOut {
				if strings.Contains(out, f) {
					t.Errorf("stdout shows %q:\n%s", f, out)
				}
			}
		})
	}

	// A preview changes nothing.
	for _, f := range []connectorFixture{good, ok} {
		db, err := sql.Open("sqlite", f.dbPath)
		if err != nil {
			t.Fatal(err)
		}
		var n int
		err = db.QueryRow(`SELECT COUNT(*) FROM contacts WHERE email LIKE '%@%' AND phone LIKE '+%'`).Scan(&n)
		db.Close()
		if err != nil || n != 3 {
			t.Fatalf("%d intact rows after previews (%v), want 3", n, err)
		}
	}
}

func TestConnectorCheckPasses(t *testing.T) {
	t.Parallel()
	f := newConnectorFixture(t, strings.Replace(connectorDataset, "erase: null}", "erase: mask}", 1))
	out, _, err := runConnectorCLI(map[string]string{"CRM_DB": f.dbPath}, "connector", "check", f.file)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "connector crm matches its sqlite database (1 table)") {
		t.Fatalf("stdout %q", out)
	}
}

// TestConnectorCheckDrift: check fails on personal data the file does not
// declare (by name; with --sample, by values, never printed), and only
// warns with --allow-undeclared.
func TestConnectorCheckDrift(t *testing.T) {
	t.Parallel()
	f := newConnectorFixture(t, strings.Replace(connectorDataset, "erase: null}", "erase: mask}", 1))
	db, err := sql.Open("sqlite", f.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{
		`CREATE TABLE newsletter (id INTEGER PRIMARY KEY, telefon TEXT, kontakt TEXT, opted_in BOOLEAN)`,
		`INSERT INTO newsletter (telefon, kontakt, opted_in) VALUES ('+49 30 1234567', 'drift-one@example.net', 1), (NULL, 'drift-two@example.net', 0)`,
	} {
		if _, err := db.Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	env := map[string]string{"CRM_DB": f.dbPath}
	for _, c := range []struct {
		name    string
		args    []string
		wantErr string
		wantOut []string
		forbid  []string
	}{
		{"by name", []string{f.file}, "1 undeclared personal data column with the sqlite database of connector crm",
			[]string{f.file + ": undeclared personal data: table newsletter, column telefon looks like contact data (by its name)"},
			[]string{"kontakt", "opted_in", "matches its"}},
		{"with a sample", []string{"--sample", f.file}, "2 undeclared personal data columns",
			[]string{"column telefon", "table newsletter, column kontakt looks like contact data (by its values: 100% of a sample)"},
			[]string{"drift-one", "drift-two", "+49"}},
		{"allowed", []string{f.file, "--allow-undeclared", "--sample"}, "",
			[]string{f.file + ": warning: undeclared personal data: table newsletter, column kontakt", "connector crm matches its sqlite database"},
			[]string{"drift-one", "drift-two"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, stderr, err := runConnectorCLI(env, append([]string{"connector", "check"}, c.args...)...)
			if c.wantErr == "" && err != nil || c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)) {
				t.Fatalf("error %v, want %q\n%s", err, c.wantErr, out)
			}
			for _, w := range c.wantOut {
				if !strings.Contains(out, w) {
					t.Errorf("stdout lacks %q:\n%s", w, out)
				}
			}
			for _, w := range c.forbid {
				if strings.Contains(out+stderr, w) || err != nil && strings.Contains(err.Error(), w) {
					t.Errorf("output shows %q:\n%s%s", w, out, stderr)
				}
			}
		})
	}
}

// TestConnectorCheckHonoursConsoleDecisions: a column an officer dismissed
// in the console no longer fails the check once the check is given
// Steward's store; one declared there still does, saying to add it to the
// file; without the store the check knows nothing of either.
func TestConnectorCheckHonoursConsoleDecisions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newConnectorFixture(t, strings.Replace(connectorDataset, "erase: null}", "erase: mask}", 1))
	company, err := sql.Open("sqlite", f.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{
		`CREATE TABLE newsletter (id INTEGER PRIMARY KEY, telefon TEXT, mobile TEXT)`,
		`INSERT INTO newsletter (telefon, mobile) VALUES ('+49 30 1234567', '+49 170 1234567')`,
	} {
		if _, err := company.Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
	company.Close()
	env := map[string]string{"CRM_DB": f.dbPath}

	dataDir := t.TempDir()
	dbtest.CopySQLiteTemplate(t, filepath.Join(dataDir, "steward.db")) // migrated: Migrate below finds nothing to do
	store, err := db.Open(ctx, "", dataDir)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	auditLog, err := audit.New(audit.Config{DB: store})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := drift.New(drift.Config{DB: store, Audit: auditLog, Catalog: fixedCategories{{Key: "contact"}}})
	if err != nil {
		t.Fatal(err)
	}
	ds, err := connector.ParseFile(f.file)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := connector.Open(ctx, ds, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	res, err := drift.Scan(ctx, conn, drift.ScanOptions{})
	conn.Close()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Record(ctx, res); err != nil {
		t.Fatal(err)
	}
	open, err := svc.OpenFindings(ctx)
	if err != nil || len(open) != 2 {
		t.Fatalf("open findings %+v, %v; want telefon and mobile", open, err)
	}
	for _, finding := range open {
		switch finding.Column {
		case "telefon":
			_, err = svc.Dismiss(ctx, audit.Staff("stf_officer"), finding.ID, "a switchboard number, not a person's")
		case "mobile":
			_, err = svc.Declare(ctx, audit.Staff("stf_officer"), finding.ID, "contact", "")
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	store.Close()

	out, _, err := runConnectorCLI(env, "connector", "check", f.file)
	if err == nil || !strings.Contains(err.Error(), "2 undeclared personal data columns") {
		t.Fatalf("without the store: %v, want both columns counted\n%s", err, out)
	}
	out, _, err = runConnectorCLI(env, "connector", "check", f.file, "--data-dir", dataDir)
	if err == nil || !strings.Contains(err.Error(), "1 undeclared personal data column ") {
		t.Fatalf("with the store: %v, want only the declared column counted\n%s", err, out)
	}
	for _, want := range []string{
		"table newsletter, column telefon: dismissed in the console by",
		"column mobile looks like contact data (by its name); declared in the console as contact by",
		"add it to the file",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
}

type fixedCategories []consent.Category

func (c fixedCategories) Categories() []consent.Category { return c }
