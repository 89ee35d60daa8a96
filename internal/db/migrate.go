package db

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

//go:embed migrations
var migrationFiles embed.FS

// Migration is one numbered schema change of a dialect.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Migrations returns the embedded migrations of dialect in order: the
// files of migrations/<dialect> and of migrations/common.
//
// A migration that is the same for both engines but for the words in
// commonMacros is written once, as migrations/common/NNNN_name.sql; one that
// differs more is a pair, migrations/sqlite/NNNN_name.sql and
// migrations/postgres/NNNN_name.sql. A number lives in one of the two
// places. schema_migrations records a migration's version and name only,
// neither where its file lies nor a checksum, so the choice leaves no trace
// in a database. TestSchemaParity checks that both engines end with the
// same schema either way.
func Migrations(dialect Dialect) ([]Migration, error) {
	return migrationsFrom(migrationFiles, dialect)
}

// commonMacros are the words a migration in migrations/common may use for
// what the engines spell differently; everything else in it is SQL both
// engines accept as written.
var commonMacros = map[string]map[Dialect]string{
	"{{BLOB}}":       {SQLite: "BLOB", Postgres: "BYTEA"},
	"{{BOOLEAN}}":    {SQLite: "INTEGER", Postgres: "BOOLEAN"},
	"{{TRUE}}":       {SQLite: "1", Postgres: "TRUE"},
	"{{FALSE}}":      {SQLite: "0", Postgres: "FALSE"},
	"{{EMPTY_BLOB}}": {SQLite: "X''", Postgres: `'\x'::bytea`},
}

// expandCommon writes a common migration in dialect's words. A macro it
// does not know is an error, so that a typo cannot reach an engine.
func expandCommon(body string, dialect Dialect) (string, error) {
	var b strings.Builder
	for {
		start := strings.Index(body, "{{")
		if start < 0 {
			b.WriteString(body)
			return b.String(), nil
		}
		end := strings.Index(body[start:], "}}")
		if end < 0 {
			return "", fmt.Errorf("unclosed {{ at byte %d", start)
		}
		macro := body[start : start+end+2]
		words, ok := commonMacros[macro]
		if !ok {
			return "", fmt.Errorf("unknown macro %s", macro)
		}
		b.WriteString(body[:start])
		b.WriteString(words[dialect])
		body = body[start+end+2:]
	}
}

func migrationsFrom(fsys fs.FS, dialect Dialect) ([]Migration, error) {
	if dialect != SQLite && dialect != Postgres {
		return nil, fmt.Errorf("read migrations: unknown dialect %q", dialect)
	}
	var out []Migration
	seen := map[int]string{}
	for _, dir := range []string{string(dialect), "common"} {
		entries, err := fs.ReadDir(fsys, path.Join("migrations", dir))
		if dir == "common" && errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read migrations: %w", err)
		}
		for _, e := range entries {
			name := e.Name()
			if !strings.HasSuffix(name, ".sql") {
				continue
			}
			number, _, ok := strings.Cut(name, "_")
			version, err := strconv.Atoi(number)
			if !ok || err != nil {
				return nil, fmt.Errorf("migration %s/%s: name must start with a number and an underscore", dir, name)
			}
			if other, dup := seen[version]; dup {
				return nil, fmt.Errorf("migration %s/%s: number %d is taken by %s", dir, name, version, other)
			}
			seen[version] = dir + "/" + name
			body, err := fs.ReadFile(fsys, path.Join("migrations", dir, name))
			if err != nil {
				return nil, fmt.Errorf("read migration %s/%s: %w", dir, name, err)
			}
			sql := string(body)
			if dir == "common" {
				if sql, err = expandCommon(sql, dialect); err != nil {
					return nil, fmt.Errorf("migration %s/%s: %w", dir, name, err)
				}
			}
			out = append(out, Migration{Version: version, Name: strings.TrimSuffix(name, ".sql"), SQL: sql})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	for i, m := range out {
		if m.Version != i+1 {
			return nil, fmt.Errorf("migration %s: expected number %d", m.Name, i+1)
		}
	}
	return out, nil
}

const createMigrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
	version INTEGER PRIMARY KEY,
	name TEXT NOT NULL,
	applied_at BIGINT NOT NULL
)`

// Migrate applies every pending migration, each in its own transaction.
// Concurrent callers (replicas starting together) are serialised: on
// PostgreSQL by an advisory lock on the schema, on SQLite by the write lock
// that each migration's immediate transaction takes.
func (d *DB) Migrate(ctx context.Context) error {
	return d.migrateTo(ctx, -1)
}

// MigrateTo applies the pending migrations numbered up to version and no
// further, as Migrate does. A restore uses it to bring an empty store to
// the schema of an older backup, loads the backup, then calls Migrate.
// A version beyond the embedded migrations is an error: this binary does
// not know that schema.
func (d *DB) MigrateTo(ctx context.Context, version int) error {
	migrations, err := Migrations(d.Dialect)
	if err != nil {
		return err
	}
	if version < 0 || version > len(migrations) {
		return fmt.Errorf("migrate to %d: this binary has migrations 1 to %d", version, len(migrations))
	}
	return d.migrateTo(ctx, version)
}

// migrateTo applies the pending migrations up to version, every one when
// version is negative.
func (d *DB) migrateTo(ctx context.Context, version int) error {
	migrations, err := Migrations(d.Dialect)
	if err != nil {
		return err
	}
	if version >= 0 {
		migrations = migrations[:version]
	}
	conn, err := d.sql.Conn(ctx)
	if err != nil {
		return Classify(fmt.Errorf("migrate: %w", err))
	}
	defer conn.Close()
	if d.Dialect == Postgres {
		if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(hashtext('steward.migrate.' || current_schema()))`); err != nil {
			return Classify(fmt.Errorf("migrate: take lock: %w", err))
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(hashtext('steward.migrate.' || current_schema()))`)
	}
	if _, err := conn.ExecContext(ctx, createMigrationsTable); err != nil {
		return Classify(fmt.Errorf("migrate: create schema_migrations: %w", err))
	}
	for _, m := range migrations {
		if err := d.apply(ctx, conn, m); err != nil {
			return err
		}
	}
	return nil
}

func (d *DB) apply(ctx context.Context, conn *sql.Conn, m Migration) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return Classify(fmt.Errorf("migrate %s: begin: %w", m.Name, err))
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = $1`, m.Version).Scan(&n); err != nil {
		return Classify(fmt.Errorf("migrate %s: %w", m.Name, err))
	}
	if n > 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
		return fmt.Errorf("migrate %s: %w", m.Name, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
		m.Version, m.Name, time.Now().UnixMicro()); err != nil {
		return fmt.Errorf("migrate %s: record: %w", m.Name, err)
	}
	if err := tx.Commit(); err != nil {
		return Classify(fmt.Errorf("migrate %s: commit: %w", m.Name, err))
	}
	return nil
}

// Pending returns how many embedded migrations are not applied yet.
func (d *DB) Pending(ctx context.Context) (int, error) {
	migrations, err := Migrations(d.Dialect)
	if err != nil {
		return 0, err
	}
	var applied int
	if err := d.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&applied); err != nil {
		return 0, Classify(fmt.Errorf("read schema_migrations: %w", err))
	}
	return len(migrations) - applied, nil
}

// SchemaVersion returns the number of the last migration applied to the
// store: the schema a backup of it has.
func (d *DB) SchemaVersion(ctx context.Context) (int, error) {
	// A store no migration touched yet has schema 0.
	if _, err := d.ExecContext(ctx, createMigrationsTable); err != nil {
		return 0, Classify(fmt.Errorf("create schema_migrations: %w", err))
	}
	var version int
	if err := d.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&version); err != nil {
		return 0, Classify(fmt.Errorf("read schema_migrations: %w", err))
	}
	return version, nil
}
