package db

import (
	"io/fs"
	"path"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

// TestMigrationSetsAgree: both dialects have the same migrations, number by
// number and name by name, so that a version means one change everywhere.
func TestMigrationSetsAgree(t *testing.T) {
	lite, err := Migrations(SQLite)
	if err != nil {
		t.Fatal(err)
	}
	pg, err := Migrations(Postgres)
	if err != nil {
		t.Fatal(err)
	}
	names := func(ms []Migration) []string {
		var out []string
		for _, m := range ms {
			out = append(out, m.Name)
		}
		return out
	}
	if !slices.Equal(names(lite), names(pg)) {
		t.Errorf("migration names differ:\nsqlite   %q\npostgres %q", names(lite), names(pg))
	}
}

// TestShippedMigrationsUnchanged: what the migrator applies for a dialect
// file is that file, byte for byte. schema_migrations records only version
// and name, so a database stays valid as long as these hold.
func TestShippedMigrationsUnchanged(t *testing.T) {
	for _, dialect := range []Dialect{SQLite, Postgres} {
		ms, err := Migrations(dialect)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			raw, err := fs.ReadFile(migrationFiles, path.Join("migrations", string(dialect), m.Name+".sql"))
			if err != nil {
				continue // a common migration
			}
			if string(raw) != m.SQL {
				t.Errorf("%s %s: applied SQL differs from its file", dialect, m.Name)
			}
		}
	}
}

func TestCommonMigrations(t *testing.T) {
	file := func(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }
	base := fstest.MapFS{
		"migrations/sqlite/0001_a.sql":   file("CREATE TABLE a (id INTEGER PRIMARY KEY)"),
		"migrations/postgres/0001_a.sql": file("CREATE TABLE a (id BIGINT PRIMARY KEY)"),
		"migrations/common/0002_b.sql":   file("CREATE TABLE b (h {{BLOB}} NOT NULL DEFAULT {{EMPTY_BLOB}}, on_ {{BOOLEAN}} NOT NULL DEFAULT {{FALSE}}, x TEXT)"),
		"migrations/sqlite/0003_c.sql":   file("SELECT 1"),
		"migrations/postgres/0003_c.sql": file("SELECT 2"),
	}
	want := map[Dialect][]Migration{
		SQLite: {
			{1, "0001_a", "CREATE TABLE a (id INTEGER PRIMARY KEY)"},
			{2, "0002_b", "CREATE TABLE b (h BLOB NOT NULL DEFAULT X'', on_ INTEGER NOT NULL DEFAULT 0, x TEXT)"},
			{3, "0003_c", "SELECT 1"},
		},
		Postgres: {
			{1, "0001_a", "CREATE TABLE a (id BIGINT PRIMARY KEY)"},
			{2, "0002_b", `CREATE TABLE b (h BYTEA NOT NULL DEFAULT '\x'::bytea, on_ BOOLEAN NOT NULL DEFAULT FALSE, x TEXT)`},
			{3, "0003_c", "SELECT 2"},
		},
	}
	for dialect, w := range want {
		got, err := migrationsFrom(base, dialect)
		if err != nil {
			t.Fatalf("%s: %v", dialect, err)
		}
		if !slices.Equal(got, w) {
			t.Errorf("%s: got %+v\nwant %+v", dialect, got, w)
		}
	}

	bad := []struct {
		name    string
		file    string
		body    string
		wantErr string
	}{
		{"same number in common and a dialect", "migrations/common/0003_d.sql", "SELECT 3", "number 3 is taken"},
		{"unknown macro", "migrations/common/0004_d.sql", "CREATE TABLE d (x {{BLOBB}})", "unknown macro {{BLOBB}}"},
		{"unclosed macro", "migrations/common/0004_d.sql", "CREATE TABLE d (x {{BLOB)", "unclosed {{"},
		{"gap", "migrations/common/0005_d.sql", "SELECT 5", "expected number 4"},
		{"bad name", "migrations/common/d.sql", "SELECT 5", "must start with a number"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			fsys := fstest.MapFS{tt.file: file(tt.body)}
			for k, v := range base {
				fsys[k] = v
			}
			for _, dialect := range []Dialect{SQLite, Postgres} {
				_, err := migrationsFrom(fsys, dialect)
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("%s: error = %v, want one containing %q", dialect, err, tt.wantErr)
				}
			}
		})
	}
}
