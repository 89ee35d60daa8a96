package connector

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/steward-dev/steward/internal/errs"
)

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	existing := filepath.Join(dir, "crm.db")
	if err := os.WriteFile(existing, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name     string
		engine   Engine
		dsn      string
		wantCode errs.Code // "" for success
		wantText string
	}{
		{"sqlite path", SQLite, existing, "", ""},
		{"sqlite: prefix", SQLite, "sqlite:" + existing, "", ""},
		{"file: URI", SQLite, "file:" + existing + "?cache=private", "", ""},
		{"no DSN", SQLite, "", errs.CodeInvalid, "environment variable CRM_DB is empty or unset"},
		{"sqlite file missing", SQLite, filepath.Join(dir, "typo.db"), errs.CodeInvalid, "no such file"},
		{"sqlite URI of a missing file", SQLite, "file:" + filepath.Join(dir, "typo.db"), errs.CodeUnavailable, "connect"},
		{"not a MySQL DSN", MySQL, "mysql://root@localhost/test", errs.CodeInvalid, "not a MySQL DSN"},
		{"MySQL DSN without a database", MySQL, "root@tcp(127.0.0.1:1)/", errs.CodeInvalid, "names no database"},
		{"PostgreSQL not listening", Postgres, "postgres://postgres@127.0.0.1:1/test?connect_timeout=2", errs.CodeUnavailable, "connector crm: connect to its postgres database"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ds := &Dataset{Name: "crm", Engine: c.engine, DSNEnv: "CRM_DB"}
			conn, err := Open(context.Background(), ds, func(k string) string {
				if k == "CRM_DB" {
					return c.dsn
				}
				return ""
			})
			if c.wantCode == "" {
				if err != nil {
					t.Fatal(err)
				}
				conn.Close()
				return
			}
			if err == nil {
				conn.Close()
				t.Fatal("opened")
			}
			if errs.CodeOf(err) != c.wantCode || !strings.Contains(err.Error(), c.wantText) {
				t.Fatalf("error %v (code %s), want code %s mentioning %q", err, errs.CodeOf(err), c.wantCode, c.wantText)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "typo.db")); !os.IsNotExist(err) {
		t.Errorf("opening a missing SQLite database created it (%v)", err)
	}
}
