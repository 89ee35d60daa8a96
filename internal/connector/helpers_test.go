package connector

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/testenv"
)

// testKey is the hash_hmac key of the tests.
const testKey = "0123456789abcdef0123456789abcdef"

// engines are the engines every database test runs on.
var engines = []Engine{SQLite, Postgres, MySQL}

// testDB is an empty database of one engine, for one test: a SQLite file,
// a PostgreSQL schema of its own, or MariaDB tables named with a prefix of
// their own (the tests share one MariaDB database). Everything is removed
// when the test ends.
type testDB struct {
	engine Engine
	dsn    string
	prefix string
	db     *sql.DB // for setting up and looking, beside the connector
}

// defaultMariaDBDSN is tried when STEWARD_TEST_MARIADB_DSN is not set.
const defaultMariaDBDSN = "root@tcp(127.0.0.1:3306)/test"

var (
	mariaOnce sync.Once
	mariaErr  error
)

func mariaDSN() string {
	if dsn := os.Getenv("STEWARD_TEST_MARIADB_DSN"); dsn != "" {
		return dsn
	}
	return defaultMariaDBDSN
}

// newTestDB returns an empty database of engine, or skips the test (fails
// it under STEWARD_TEST_REQUIRE_ALL=1) when the server is not reachable.
func newTestDB(t testing.TB, engine Engine) *testDB {
	t.Helper()
	td := &testDB{engine: engine}
	driver, setupDSN := "", ""
	switch engine {
	case SQLite:
		td.dsn = filepath.Join(t.TempDir(), "shop.db")
		f, err := os.Create(td.dsn) // the connector opens databases, never creates them
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
		driver, setupDSN = "sqlite", "file:"+td.dsn+"?_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)"
	case Postgres:
		td.dsn = dbtest.PostgresURL(t)
		driver, setupDSN = "pgx", td.dsn
	case MySQL:
		td.dsn = mariaDSN()
		driver, setupDSN = "mysql", td.dsn
		mariaOnce.Do(func() {
			conn, err := sql.Open("mysql", td.dsn)
			if err != nil {
				mariaErr = err
				return
			}
			defer conn.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			mariaErr = conn.PingContext(ctx)
		})
		if mariaErr != nil {
			testenv.Missing(t, "MariaDB not reachable at %s: %v", td.dsn, mariaErr)
		}
		var b [4]byte
		_, _ = rand.Read(b[:])
		td.prefix = "t" + hex.EncodeToString(b[:]) + "_"
	}
	db, err := sql.Open(driver, setupDSN)
	if err != nil {
		t.Fatal(err)
	}
	td.db = db
	t.Cleanup(func() { db.Close() })
	if engine == MySQL {
		t.Cleanup(func() { td.dropPrefixed(t) }) // runs before Close
	}
	return td
}

// dropPrefixed drops the test's MariaDB tables, foreign keys or not.
func (td *testDB) dropPrefixed(t testing.TB) {
	ctx := context.Background()
	conn, err := td.db.Conn(ctx)
	if err != nil {
		t.Errorf("drop test tables: %v", err)
		return
	}
	defer conn.Close()
	rows, err := conn.QueryContext(ctx, `SELECT TABLE_NAME FROM information_schema.TABLES
		WHERE TABLE_SCHEMA = DATABASE() AND LEFT(TABLE_NAME, ?) = ?`, len(td.prefix), td.prefix)
	if err != nil {
		t.Errorf("drop test tables: %v", err)
		return
	}
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Errorf("drop test tables: %v", err)
		}
		names = append(names, n)
	}
	rows.Close()
	if _, err := conn.ExecContext(ctx, "SET FOREIGN_KEY_CHECKS = 0"); err != nil {
		t.Errorf("drop test tables: %v", err)
	}
	for _, n := range names {
		if _, err := conn.ExecContext(ctx, "DROP TABLE "+quote(MySQL, n)); err != nil {
			t.Errorf("drop test table %s: %v", n, err)
		}
	}
	_, _ = conn.ExecContext(ctx, "SET FOREIGN_KEY_CHECKS = 1")
}

// exec runs SQL statements that end with ";" at the end of a line, with
// ${p} replaced by the table prefix and ${name} by vars[name].
func (td *testDB) exec(t testing.TB, script string, vars map[string]string) {
	t.Helper()
	var lines []string
	for _, l := range strings.Split(script, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "--") {
			lines = append(lines, l)
		}
	}
	script = strings.ReplaceAll(strings.Join(lines, "\n"), "${p}", td.prefix)
	for k, v := range vars {
		script = strings.ReplaceAll(script, "${"+k+"}", v)
	}
	for _, stmt := range strings.Split(script, ";\n") {
		if stmt = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(stmt), ";")); stmt == "" {
			continue
		}
		if _, err := td.db.Exec(stmt); err != nil {
			t.Fatalf("%s: %v\n%s", td.engine, err, stmt)
		}
	}
}

// loadShop creates the tables and rows of testdata/shop.sql.
func (td *testDB) loadShop(t testing.TB, ticketCheck string) {
	t.Helper()
	script, err := os.ReadFile("testdata/shop.sql")
	if err != nil {
		t.Fatal(err)
	}
	td.exec(t, string(script), map[string]string{"ticket_check": ticketCheck})
}

// dataset parses text as a dataset file for td: engine td's, table names
// prefixed.
func (td *testDB) dataset(t testing.TB, text string) *Dataset {
	t.Helper()
	ds, err := Parse("test.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	td.adapt(ds)
	return ds
}

// shop returns testdata/shop.yaml for td.
func (td *testDB) shop(t testing.TB) *Dataset {
	t.Helper()
	ds, err := ParseFile("testdata/shop.yaml")
	if err != nil {
		t.Fatal(err)
	}
	td.adapt(ds)
	return ds
}

func (td *testDB) adapt(ds *Dataset) {
	ds.Engine = td.engine
	for i := range ds.Tables {
		tb := &ds.Tables[i]
		tb.Name = td.prefix + tb.Name
		for j := range tb.Identifier.Via {
			tb.Identifier.Via[j].References = td.prefix + tb.Identifier.Via[j].References
		}
	}
}

// open opens ds on td with the test key.
func (td *testDB) open(t testing.TB, ds *Dataset) *Conn {
	t.Helper()
	env := map[string]string{ds.DSNEnv: td.dsn, ds.HMACKeyEnv: testKey}
	c, err := Open(context.Background(), ds, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// snapshot returns every row of the named tables (unprefixed), sorted, as
// text: equal snapshots mean nothing changed.
func (td *testDB) snapshot(t testing.TB, tables ...string) string {
	t.Helper()
	var out []string
	for _, name := range tables {
		rows, err := td.db.Query("SELECT * FROM " + quote(td.engine, td.prefix+name))
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		var lines []string
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			lines = append(lines, name+" "+rowText(vals))
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
		sort.Strings(lines)
		out = append(out, lines...)
	}
	return strings.Join(out, "\n")
}

// value returns the one value query selects, as text ("NULL" for NULL);
// ${p} in query is the table prefix.
func (td *testDB) value(t testing.TB, query string) string {
	t.Helper()
	query = strings.ReplaceAll(query, "${p}", td.prefix)
	var v any
	if err := td.db.QueryRow(query).Scan(&v); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return rowText([]any{v})
}

func rowText(vals []any) string {
	parts := make([]string, len(vals))
	for i, v := range vals {
		switch v := v.(type) {
		case nil:
			parts[i] = "NULL"
		case []byte:
			parts[i] = string(v)
		default:
			parts[i] = fmt.Sprint(v)
		}
	}
	return strings.Join(parts, "|")
}

// recorder is a Sink that keeps what it receives as text.
type recorder struct {
	tables []string
	rows   map[string][]string
	ends   map[string]int64
	types  map[string]bool // Go types seen, to check the promise of Row
}

func newRecorder() *recorder {
	return &recorder{rows: map[string][]string{}, ends: map[string]int64{}, types: map[string]bool{}}
}

func (r *recorder) StartTable(table string, columns []Column) error {
	names := make([]string, len(columns))
	for i, c := range columns {
		names[i] = c.Name
	}
	r.tables = append(r.tables, table+"("+strings.Join(names, ",")+")")
	return nil
}

func (r *recorder) Row(values []any) error {
	for _, v := range values {
		r.types[fmt.Sprintf("%T", v)] = true
	}
	table := r.tables[len(r.tables)-1]
	table = table[:strings.IndexByte(table, '(')]
	r.rows[table] = append(r.rows[table], rowText(values))
	return nil
}

func (r *recorder) EndTable(table string, rows int64) error {
	r.ends[table] = rows
	return nil
}
