package db

import (
	"context"
	"database/sql"
	"embed"
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

// Migrations returns the embedded migrations of dialect in order.
func Migrations(dialect Dialect) ([]Migration, error) {
	dir := path.Join("migrations", string(dialect))
	entries, err := fs.ReadDir(migrationFiles, dir)
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var out []Migration
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".sql") {
			continue
		}
		number, _, ok := strings.Cut(name, "_")
		version, err := strconv.Atoi(number)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration %s: name must start with a number and an underscore", name)
		}
		body, err := fs.ReadFile(migrationFiles, path.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", name, err)
		}
		out = append(out, Migration{Version: version, Name: strings.TrimSuffix(name, ".sql"), SQL: string(body)})
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
	migrations, err := Migrations(d.Dialect)
	if err != nil {
		return err
	}
	conn, err := d.Conn(ctx)
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
