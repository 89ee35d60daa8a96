package retention_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql" // the MariaDB side of the tests

	"github.com/steward-dev/steward/internal/connector"
	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/testenv"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time)         { c.mu.Lock(); c.t = t; c.mu.Unlock() }
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// catalog is a catalog with retention set on some categories and purposes.
type catalog struct {
	categories map[string]int
	purposes   map[string]int
}

func (c catalog) Categories() []consent.Category {
	var out []consent.Category
	for k, d := range c.categories {
		out = append(out, consent.Category{Key: k, RetentionDays: d})
	}
	return out
}

func (c catalog) Purposes() []consent.Purpose {
	var out []consent.Purpose
	for k, d := range c.purposes {
		out = append(out, consent.Purpose{Key: k, RetentionDays: d})
	}
	return out
}

// external is a table in a connected database: a PostgreSQL schema of the
// test's own, or MariaDB tables with a prefix of the test's own.
type external struct {
	engine connector.Engine
	dsn    string
	prefix string
	db     *sql.DB
}

func openExternal(t *testing.T, engine connector.Engine) *external {
	t.Helper()
	x := &external{engine: engine}
	driver := "pgx"
	if engine == connector.Postgres {
		x.dsn = dbtest.PostgresURL(t)
	} else {
		driver = "mysql"
		x.dsn = os.Getenv("STEWARD_TEST_MARIADB_DSN")
		if x.dsn == "" {
			x.dsn = "root@tcp(127.0.0.1:3306)/test"
		}
		var b [4]byte
		_, _ = rand.Read(b[:])
		x.prefix = "r" + hex.EncodeToString(b[:]) + "_"
	}
	var err error
	if x.db, err = sql.Open(driver, x.dsn); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := x.db.PingContext(ctx); err != nil {
		testenv.Missing(t, "%s not reachable: %v", engine, err)
	}
	t.Cleanup(func() {
		if x.prefix != "" {
			_, _ = x.db.Exec("DROP TABLE IF EXISTS " + x.prefix + "sessions")
		}
		x.db.Close()
	})
	return x
}

func (x *external) exec(t *testing.T, stmts ...string) {
	t.Helper()
	for _, s := range stmts {
		if _, err := x.db.Exec(strings.ReplaceAll(s, "${p}", x.prefix)); err != nil {
			t.Fatalf("%s: %v\n%s", x.engine, err, s)
		}
	}
}

func (x *external) count(t *testing.T, where string) int {
	t.Helper()
	var n int
	if err := x.db.QueryRow("SELECT COUNT(*) FROM " + x.prefix + "sessions WHERE " + where).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// dataset is a dataset file for the sessions table of x: its rows are
// found by customer id, and kept period after created_at (purpose, when
// set, names the purpose they serve).
func (x *external) dataset(t *testing.T, name, period, purpose string) *connector.Dataset {
	t.Helper()
	extra := ""
	if purpose != "" {
		extra = ", purpose: " + purpose
	}
	ds, err := connector.Parse(name+".yaml", []byte(`connector: `+name+`
engine: `+string(x.engine)+`
dsn_env: `+strings.ToUpper(name)+`_DB
tables:
  - name: `+x.prefix+`sessions
    identifier: {column: customer_id, kind: external_id}
    erase: delete_row
    columns:
      - {name: ip, category: device}
    retention: {column: created_at, period: `+period+`, strategy: delete, category: device`+extra+`}
`))
	if err != nil {
		t.Fatal(err)
	}
	return ds
}
