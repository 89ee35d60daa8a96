// Package dbtest runs a store test on both engines: SQLite in a temporary
// directory and PostgreSQL in a schema of its own for the test's duration,
// so that tests run in parallel and do not see each other's rows. The
// stores are freshly migrated without migrating: copies of a migrated
// SQLite file, and PostgreSQL schemas from a pool that is emptied between
// tests (see template.go); the pooled schemas stay on the server between
// runs.
//
//	func TestLedger(t *testing.T) {
//		dbtest.Run(t, func(t *testing.T, store *db.DB) { ... })
//	}
//
// PostgreSQL comes from STEWARD_TEST_POSTGRES_URL, or
// postgres://postgres@127.0.0.1:5432/test when that is reachable; otherwise
// the PostgreSQL half is skipped (failed under STEWARD_TEST_REQUIRE_ALL=1).
package dbtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the pgx driver

	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/testenv"
)

// DefaultPostgresURL is tried when STEWARD_TEST_POSTGRES_URL is not set.
const DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// Run runs fn as two subtests, "sqlite" and "postgres", each with a freshly
// migrated store.
func Run(t *testing.T, fn func(t *testing.T, store *db.DB)) {
	t.Helper()
	for _, dialect := range []db.Dialect{db.SQLite, db.Postgres} {
		t.Run(string(dialect), func(t *testing.T) {
			fn(t, Open(t, dialect))
		})
	}
}

// Open returns a freshly migrated store of dialect, closed and removed when
// the test ends.
//
// The store is a copy of a template that was migrated once (see
// template.go), not migrated anew: on PostgreSQL a database created from a
// migrated template database, on SQLite a copy of a migrated file. Both
// hold exactly what Migrate leaves in an empty store, schema_migrations
// included. Tests of migrating itself use PostgresURL or a path of their
// own and call Migrate.
func Open(tb testing.TB, dialect db.Dialect) *db.DB {
	tb.Helper()
	ctx := context.Background()
	var rawURL string
	switch dialect {
	case db.SQLite:
		path := tb.TempDir() + "/steward.db"
		CopySQLiteTemplate(tb, path)
		rawURL = "sqlite:" + path
	case db.Postgres:
		rawURL = MigratedPostgresURL(tb)
	default:
		tb.Fatalf("dbtest: unknown dialect %q", dialect)
	}
	store, err := db.Open(ctx, rawURL, "")
	if err != nil {
		tb.Fatalf("dbtest: open %s: %v", dialect, err)
	}
	remember(tb, store, rawURL)
	tb.Cleanup(func() { store.Close() })
	return store
}

var urls sync.Map // *db.DB → the URL Open opened it with

func remember(tb testing.TB, store *db.DB, rawURL string) {
	urls.Store(store, rawURL)
	tb.Cleanup(func() { urls.Delete(store) })
}

// URL returns the URL that Open opened store with, for a test that opens a
// second connection pool on the same database (as another replica would).
func URL(tb testing.TB, store *db.DB) string {
	tb.Helper()
	u, ok := urls.Load(store)
	if !ok {
		tb.Fatalf("dbtest: URL: store was not opened by dbtest.Open")
	}
	return u.(string)
}

var (
	serverOnce sync.Once
	serverURL  string
	serverErr  error
)

func baseURL() string {
	if u := os.Getenv("STEWARD_TEST_POSTGRES_URL"); u != "" {
		return u
	}
	return DefaultPostgresURL
}

// requireServer skips or fails tb when the test PostgreSQL server is not
// reachable; it asks once per test binary.
func requireServer(tb testing.TB) {
	tb.Helper()
	serverOnce.Do(func() {
		serverURL = baseURL()
		conn, err := sql.Open("pgx", serverURL)
		if err != nil {
			serverErr = err
			return
		}
		defer conn.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		serverErr = conn.PingContext(ctx)
	})
	if serverErr != nil {
		testenv.Missing(tb, "PostgreSQL not reachable at %s: %v", redacted(serverURL), serverErr)
	}
}

// PostgresURL creates an empty schema for tb on the test PostgreSQL server
// and returns a URL whose search_path selects it. The schema is dropped when
// the test ends. Without a reachable server the test is skipped (or failed
// under STEWARD_TEST_REQUIRE_ALL=1).
func PostgresURL(tb testing.TB) string {
	tb.Helper()
	requireServer(tb)
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "t_" + hex.EncodeToString(b[:])
	admin, err := sql.Open("pgx", serverURL)
	if err != nil {
		tb.Fatalf("dbtest: %v", err)
	}
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		admin.Close()
		tb.Fatalf("dbtest: create schema: %v", err)
	}
	tb.Cleanup(func() {
		defer admin.Close()
		if _, err := admin.Exec("DROP SCHEMA " + schema + " CASCADE"); err != nil {
			tb.Errorf("dbtest: drop schema %s: %v", schema, err)
		}
	})
	u, err := withParams(serverURL, "", map[string]string{"search_path": schema})
	if err != nil {
		tb.Fatalf("dbtest: %v", err)
	}
	return u
}

// withParams returns raw with the database name replaced by dbname (unless
// empty) and the query parameters set. Every test session runs with
// synchronous_commit=off: a commit does not wait for its WAL to reach the
// disk, which loses nothing a test cares about (the server does not crash
// mid-test) and saves a flush per transaction. And with jit=off: a
// catalog query that the planner deems costly would otherwise be compiled
// first, which takes longer than running it (seconds on a loaded machine).
func withParams(raw, dbname string, params map[string]string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("parse %s: %w", redacted(raw), err)
	}
	if dbname != "" {
		u.Path = "/" + dbname
	}
	q := u.Query()
	for k, v := range map[string]string{"synchronous_commit": "off", "jit": "off"} {
		if q.Get(k) == "" {
			q.Set(k, v)
		}
	}
	for k, v := range params {
		q.Set(k, v)
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

func redacted(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// RawHits counts value in the store's raw bytes: the SQLite file and its
// write-ahead log after a checkpoint, or on PostgreSQL every text and bytea
// column of every Steward table, read back as bytes.
func RawHits(t testing.TB, store *db.DB, value string) int {
	t.Helper()
	ctx := context.Background()
	if store.Dialect == db.SQLite {
		if _, err := store.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
			t.Fatal(err)
		}
		path := strings.TrimPrefix(store.Location, "sqlite:")
		hits := 0
		for _, f := range []string{path, path + "-wal"} {
			raw, err := os.ReadFile(f)
			if err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			hits += bytes.Count(raw, []byte(value))
		}
		return hits
	}
	rows, err := store.QueryContext(ctx, `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		rows.Scan(&name)
		tables = append(tables, name)
	}
	rows.Close()
	hits := 0
	for _, table := range tables {
		// The whole row as text: bytea columns render as hex, so the value
		// is searched as text and as hex.
		var n int
		if err := store.QueryRowContext(ctx, `SELECT count(*) FROM "`+table+`" x WHERE strpos(x::text, $1) > 0 OR strpos(x::text, encode(convert_to($1, 'UTF8'), 'hex')) > 0`, value).Scan(&n); err != nil {
			t.Fatalf("%s: %v", table, err)
		}
		hits += n
	}
	return hits
}
