package main

import (
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRetentionRunCommand: `retention run --dry-run` prints per system,
// table and category what would go and changes nothing; `retention run`
// then deletes exactly that; a system that cannot be reached fails the
// command (exit ≠ 0) after the others ran.
func TestRetentionRunCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	connectors := filepath.Join(dir, "connectors")
	if err := os.Mkdir(connectors, 0o700); err != nil {
		t.Fatal(err)
	}
	dbPath := filepath.Join(dir, "crm.db")
	crm, err := sql.Open("sqlite", dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer crm.Close()
	for _, stmt := range []string{
		`CREATE TABLE visits (id INTEGER PRIMARY KEY, customer_id TEXT, ip TEXT, at TEXT NOT NULL)`,
		`INSERT INTO visits (customer_id, ip, at) VALUES ('c1', '198.51.100.1', '2001-01-01 00:00:00'), ('c2', '198.51.100.2', '2001-01-02 00:00:00'), ('c3', '198.51.100.3', '2999-01-01 00:00:00')`,
	} {
		if _, err := crm.Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
	dataset := `connector: crm
engine: sqlite
dsn_env: CRM_DB
tables:
  - name: visits
    identifier: {column: customer_id, kind: external_id}
    erase: delete_row
    columns:
      - {name: ip, category: device}
    retention: {column: at, period: 400d, strategy: delete}
`
	if err := os.WriteFile(filepath.Join(connectors, "crm.yaml"), []byte(dataset), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"CRM_DB": dbPath, "STEWARD_DATA_DIR": filepath.Join(dir, "data"), "STEWARD_CONNECTORS": connectors}
	count := func() int {
		var n int
		if err := crm.QueryRow(`SELECT count(*) FROM visits`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	out, errOut, err := runConnectorCLI(env, "retention", "run", "--dry-run")
	if err != nil || !strings.Contains(out, "crm     visits  device    delete  2") || !strings.Contains(out, "would go") {
		t.Fatalf("dry run: %v\n%s%s", err, out, errOut)
	}
	if strings.Contains(out, "198.51.100") || strings.Contains(out, "c1") {
		t.Fatalf("the report prints personal data:\n%s", out)
	}
	if count() != 3 {
		t.Fatal("the dry run deleted rows")
	}
	out, errOut, err = runConnectorCLI(env, "retention", "run")
	if err != nil || !strings.Contains(out, "crm     visits  device    delete  2") || count() != 1 {
		t.Fatalf("run: %v, %d rows left\n%s%s", err, count(), out, errOut)
	}
	delete(env, "CRM_DB")
	if out, _, err := runConnectorCLI(env, "retention", "run"); err == nil || !strings.Contains(err.Error(), "[crm]") {
		t.Fatalf("without the CRM's DSN: %v\n%s", err, out)
	}
}
