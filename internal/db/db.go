// Package db opens Steward's store: SQLite (the embedded default, through
// modernc.org/sqlite) or PostgreSQL (through pgx), applies the embedded
// migrations of its dialect, and runs transactions.
//
// SQL is written once with $1-style placeholders, which both engines accept;
// the few statements that differ switch on DB.Dialect.
//
//	store, err := db.Open(ctx, "", "./steward-data") // SQLite in the data directory
//	if err != nil { ... }
//	defer store.Close()
//	err = store.Migrate(ctx)
package db

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/steward-dev/steward/internal/errs"
)

// Dialect names the SQL engine behind a DB.
type Dialect string

// The supported dialects.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// DB is an open store. The *sql.DB is not exposed: reads and writes go
// through DB's methods (db_access.go), which classify every error and, on
// SQLite, put every write in the process's writer queue, so that no write
// can bypass it. River alone gets the raw handle, through RiverHandle.
type DB struct {
	sql     *sql.DB
	Dialect Dialect
	// Location describes the store for logs without credentials.
	Location string
	// url is the PostgreSQL URL, kept for the dedicated connection a
	// Listener holds outside the pool; empty for SQLite.
	url string

	stopCheckpoints chan struct{}
	checkpointsDone chan struct{}
	// writers lets one transaction of this process at a time write to
	// SQLite, in arrival order. SQLite takes one writer anyway, but its busy
	// handler is not fair: a writer that commits in a tight loop can keep
	// another waiting past busy_timeout. Nil for PostgreSQL.
	writers chan struct{}
}

// Open opens the store named by url: empty for SQLite in dataDir, a
// postgres:// or postgresql:// URL for PostgreSQL, or sqlite:PATH / file:PATH
// for SQLite elsewhere. It checks that the engine is configured as Steward
// requires and returns errors that say what is wrong.
func Open(ctx context.Context, url, dataDir string) (*DB, error) {
	switch {
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		return openPostgres(ctx, url)
	case url == "":
		if err := os.MkdirAll(dataDir, 0o700); err != nil {
			return nil, fmt.Errorf("create data directory: %w", err)
		}
		return openSQLite(ctx, filepath.Join(dataDir, "steward.db"))
	case strings.HasPrefix(url, "sqlite:"):
		return openSQLite(ctx, strings.TrimPrefix(strings.TrimPrefix(url, "sqlite:"), "//"))
	case strings.HasPrefix(url, "file:"):
		return openSQLite(ctx, strings.TrimPrefix(url, "file:"))
	default:
		return nil, fmt.Errorf("database: unsupported URL scheme in %q (want postgres://, sqlite: or empty for SQLite in the data directory)", redact(url))
	}
}

func openSQLite(ctx context.Context, path string) (*DB, error) {
	if path == "" {
		return nil, errors.New("database: empty SQLite path")
	}
	// busy_timeout first so that the other pragmas wait for a lock instead of
	// failing; synchronous=FULL so that an acknowledged commit survives a power cut.
	// secure_delete=1: deleted and overwritten content is zeroed in the
	// file, so that what an erasure deletes is not left in free pages.
	// wal_autocheckpoint=0: checkpoints run in a goroutine of their own
	// (see checkpointLoop) instead of inside the commit that crosses the
	// threshold, which would stall every writer waiting behind it.
	dsn := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)" +
		"&_pragma=foreign_keys(1)&_pragma=secure_delete(1)&_pragma=synchronous(FULL)&_pragma=wal_autocheckpoint(0)&_txlock=immediate"
	sqldb, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	// Keep the connections that concurrent readers open: database/sql
	// keeps two idle by default and closes the rest, and a new SQLite
	// connection reads the whole schema again before its first statement.
	sqldb.SetMaxOpenConns(32)
	sqldb.SetMaxIdleConns(32)
	sqldb.SetConnMaxIdleTime(5 * time.Minute)
	d := &DB{sql: sqldb, Dialect: SQLite, Location: "sqlite:" + path, writers: make(chan struct{}, 1)}
	if err := d.checkSQLite(ctx); err != nil {
		sqldb.Close()
		return nil, err
	}
	d.stopCheckpoints, d.checkpointsDone = make(chan struct{}), make(chan struct{})
	go d.checkpointLoop(time.Second)
	return d, nil
}

// checkpointLoop copies the SQLite write-ahead log back into the database
// every interval. PASSIVE checkpoints never block writers; this is the work
// SQLite would otherwise do inside an unlucky commit.
func (d *DB) checkpointLoop(interval time.Duration) {
	defer close(d.checkpointsDone)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-d.stopCheckpoints:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			// A checkpoint is not a write of the store's content: it
			// runs beside the writers, outside their queue.
			_, _ = d.sql.ExecContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)")
			cancel()
		}
	}
}

// Close stops the checkpointer, checkpoints once more (SQLite) and closes
// the store.
func (d *DB) Close() error {
	if d.stopCheckpoints != nil {
		close(d.stopCheckpoints)
		<-d.checkpointsDone
		d.stopCheckpoints = nil
		_, _ = d.sql.ExecContext(context.Background(), "PRAGMA wal_checkpoint(TRUNCATE)")
	}
	return d.sql.Close()
}

func (d *DB) checkSQLite(ctx context.Context) error {
	var mode string
	if err := d.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return fmt.Errorf("open sqlite %s: %w", d.Location, err)
	}
	if !strings.EqualFold(mode, "wal") {
		return fmt.Errorf("sqlite %s: journal_mode is %q, want wal", d.Location, mode)
	}
	var sync int
	if err := d.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&sync); err != nil {
		return fmt.Errorf("sqlite %s: read synchronous: %w", d.Location, err)
	}
	if sync < 2 { // 2 = FULL, 3 = EXTRA
		return fmt.Errorf("sqlite %s: synchronous reads back as %d, want FULL (2): refusing to start, acknowledged consents could be lost in a power cut", d.Location, sync)
	}
	var fk int
	if err := d.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil || fk != 1 {
		return fmt.Errorf("sqlite %s: foreign keys are not enabled", d.Location)
	}
	return nil
}

func openPostgres(ctx context.Context, url string) (*DB, error) {
	sqldb, err := sql.Open("pgx", url)
	if err != nil {
		return nil, fmt.Errorf("open postgres %s: %w", redact(url), err)
	}
	sqldb.SetMaxOpenConns(32)
	sqldb.SetMaxIdleConns(32)
	sqldb.SetConnMaxIdleTime(5 * time.Minute)
	d := &DB{sql: sqldb, Dialect: Postgres, Location: redact(url), url: url}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := sqldb.PingContext(pingCtx); err != nil {
		sqldb.Close()
		return nil, fmt.Errorf("connect to postgres %s: %w", d.Location, err)
	}
	return d, nil
}

// redact removes the password from a database URL for messages and logs.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable database URL)"
	}
	return u.Redacted()
}

// Tx runs fn in a transaction, committing when fn returns nil. Errors are
// classified: a store that cannot be reached gives errs.CodeUnavailable.
func (d *DB) Tx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	release, err := d.takeWriter(ctx)
	if err != nil {
		return Classify(fmt.Errorf("begin: %w", err))
	}
	defer release()
	tx, err := d.sql.BeginTx(ctx, nil)
	if err != nil {
		return Classify(fmt.Errorf("begin: %w", err))
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return Classify(err)
	}
	if err := tx.Commit(); err != nil {
		return Classify(fmt.Errorf("commit: %w", err))
	}
	return nil
}

// Bool returns the SQL literal for a boolean in d's dialect, for DDL-free
// expressions such as defaults in INSERT ... SELECT.
func (d *DB) Bool(b bool) string {
	if d.Dialect == Postgres {
		if b {
			return "TRUE"
		}
		return "FALSE"
	}
	if b {
		return "1"
	}
	return "0"
}

// Classify gives err the code errs.CodeUnavailable when it says the store
// could not be reached or is temporarily unable to serve; other errors are
// returned unchanged. Errors that already carry a code keep it.
func Classify(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := errs.As(err); ok {
		return err
	}
	if IsUnavailable(err) {
		return errs.Wrap(errs.CodeUnavailable, err, "the store is unavailable")
	}
	return err
}

// IsUnavailable reports whether err means the store is unreachable or busy,
// as opposed to a fault in the statement.
func IsUnavailable(err error) bool {
	if errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) ||
		errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var netErr net.Error
	if errors.As(err, &netErr) {
		return true
	}
	var connectErr *pgconn.ConnectError
	if errors.As(err, &connectErr) {
		return true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// 08: connection exception; 53: insufficient resources;
		// 57P: operator intervention (shutdown); 40001/40P01: retry.
		c := pgErr.Code
		return strings.HasPrefix(c, "08") || strings.HasPrefix(c, "53") ||
			strings.HasPrefix(c, "57P") || c == "40001" || c == "40P01"
	}
	var sqliteErr *sqlite.Error
	if errors.As(err, &sqliteErr) {
		switch sqliteErr.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_IOERR,
			sqlite3.SQLITE_FULL, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_READONLY:
			return true
		}
	}
	var sqlErr interface{ SafeToRetry() bool }
	if errors.As(err, &sqlErr) && sqlErr.SafeToRetry() {
		return true
	}
	// database/sql says a closed pool (a process shutting down) in words only.
	return strings.Contains(err.Error(), "connection refused") ||
		strings.Contains(err.Error(), "sql: database is closed") ||
		strings.Contains(err.Error(), "conn closed") ||
		strings.Contains(err.Error(), "unexpected EOF")
}

// IsUniqueViolation reports whether err is a unique-constraint violation.
func IsUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "23505"
	}
	var sqliteErr *sqlite.Error
	if errors.As(err, &sqliteErr) {
		return sqliteErr.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE ||
			sqliteErr.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}
