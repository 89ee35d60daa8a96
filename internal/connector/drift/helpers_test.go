package drift

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/connector"
	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/jobs"
	"github.com/steward-dev/steward/internal/outbox"
	"github.com/steward-dev/steward/internal/testenv"
	"github.com/steward-dev/steward/internal/vault/vaulttest"
)

// companyDB is an empty database of the company, of one engine, for one
// test: a SQLite file, a PostgreSQL schema or a MariaDB database of its
// own, removed when the test ends.
type companyDB struct {
	engine connector.Engine
	dsn    string
	db     *sql.DB
}

// defaultMariaDBDSN is tried when STEWARD_TEST_MARIADB_DSN is not set.
const defaultMariaDBDSN = "root@tcp(127.0.0.1:3306)/test"

func newCompanyDB(t testing.TB, engine connector.Engine) *companyDB {
	t.Helper()
	c := &companyDB{engine: engine}
	var driver string
	switch engine {
	case connector.SQLite:
		c.dsn = filepath.Join(t.TempDir(), "shop.db")
		driver = "sqlite"
	case connector.Postgres:
		c.dsn, driver = dbtest.PostgresURL(t), "pgx"
	case connector.MySQL:
		base := os.Getenv("STEWARD_TEST_MARIADB_DSN")
		if base == "" {
			base = defaultMariaDBDSN
		}
		cfg, err := mysql.ParseDSN(base)
		if err != nil {
			t.Fatal(err)
		}
		admin, err := sql.Open("mysql", base)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { admin.Close() })
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		if err := admin.PingContext(ctx); err != nil {
			testenv.Missing(t, "MariaDB not reachable: %v", err)
		}
		var b [4]byte
		_, _ = rand.Read(b[:])
		cfg.DBName = "drift_" + hex.EncodeToString(b[:])
		if _, err := admin.Exec("CREATE DATABASE " + cfg.DBName); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if _, err := admin.Exec("DROP DATABASE " + cfg.DBName); err != nil {
				t.Errorf("drop database %s: %v", cfg.DBName, err)
			}
		})
		c.dsn, driver = cfg.FormatDSN(), "mysql"
	}
	var err error
	if c.db, err = sql.Open(driver, c.dsn); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.db.Close() })
	return c
}

// exec runs statements separated by ";\n", with ${text}, ${ts} and
// ${bool} replaced by the engine's types.
func (c *companyDB) exec(t testing.TB, script string) {
	t.Helper()
	types := map[connector.Engine][]string{
		connector.Postgres: {"${text}", "TEXT", "${ts}", "TIMESTAMP"},
		connector.MySQL:    {"${text}", "VARCHAR(200)", "${ts}", "DATETIME"},
		connector.SQLite:   {"${text}", "TEXT", "${ts}", "DATETIME"},
	}
	script = strings.NewReplacer(types[c.engine]...).Replace(script)
	for _, stmt := range strings.Split(script, ";\n") {
		if stmt = strings.TrimSpace(stmt); stmt == "" {
			continue
		}
		if _, err := c.db.Exec(stmt); err != nil {
			t.Fatalf("%s: %v\n%s", c.engine, err, stmt)
		}
	}
}

// dataset parses a dataset file for c, its connection string in SHOP_DB.
func (c *companyDB) dataset(t testing.TB, text string) (*connector.Dataset, func(string) string) {
	t.Helper()
	text = strings.ReplaceAll(text, "${engine}", string(c.engine))
	ds, err := connector.Parse("shop.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return ds, func(name string) string {
		if name == "SHOP_DB" {
			return c.dsn
		}
		return ""
	}
}

// shopSchema is a company database where some personal data is declared
// (shopDataset) and some is not. The values are synthetic.
const shopSchema = `
CREATE TABLE customers (id INTEGER PRIMARY KEY, email ${text}, full_name ${text}, phone ${text},
	created_at ${ts}, email_verified BOOLEAN, notes ${text});
INSERT INTO customers VALUES (1, 'ada@example.org', 'Ada Example', '+44 20 7946 0000', '2026-11-01 10:00:00', TRUE, 'likes tea');
CREATE TABLE signups (id INTEGER PRIMARY KEY, kontakt ${text}, telefon ${text}, geburtsdatum DATE, remote_ip ${text},
	tag ${text}, zahlung ${text}, bemerkung ${text});
INSERT INTO signups VALUES (1, 'sample-one@example.net', '+49 30 1234567', '1985-04-12', '192.0.2.1', 'red', 'DE89370400440532013000', 'calls after six');
INSERT INTO signups VALUES (2, 'sample-two@example.net', NULL, NULL, '192.0.2.2', 'green', 'GB82WEST12345698765432', 'vip');
INSERT INTO signups VALUES (3, 'sample-three@example.net', NULL, NULL, NULL, 'blue', 'DE89 3704 0044 0532 0130 00', NULL);
INSERT INTO signups VALUES (4, 'sample-four@example.net', NULL, NULL, NULL, 'red', NULL, NULL);
INSERT INTO signups VALUES (5, 'n/a', NULL, NULL, NULL, 'red', NULL, NULL);
`

// sampleValues are the values only a sample reads: they must never reach
// Steward's store, its logs or a webhook.
var sampleValues = []string{"sample-one@example.net", "sample-two@example.net", "DE89370400440532013000", "GB82WEST12345698765432", "calls after six"}

const shopDataset = `connector: shop
engine: ${engine}
dsn_env: SHOP_DB
tables:
  - name: customers
    identifier: {column: id, kind: external_id}
    columns:
      - {name: email, category: contact, erase: null}
      - {name: full_name, category: contact, erase: null}
`

// categories is the data map's vocabulary as migration 0028 seeds it.
type categories []consent.Category

func (c categories) Categories() []consent.Category { return c }

func seededCategories() categories {
	var out categories
	for _, k := range connector.Categories {
		out = append(out, consent.Category{Key: k, Names: map[string]string{"en": k}})
	}
	return out
}

// fixture is a drift service over a Steward store, with an audit log, an
// outbox with one endpoint taking every event, a driven clock and a log
// buffer.
type fixture struct {
	store *db.DB
	svc   *Service
	audit *audit.Log
	now   time.Time
	logs  *bytes.Buffer
}

func newFixture(t *testing.T, store *db.DB, systems []*connector.Dataset, getenv func(string) string, sample bool) *fixture {
	t.Helper()
	ctx := context.Background()
	log, err := audit.New(audit.Config{DB: store})
	if err != nil {
		t.Fatal(err)
	}
	box, err := vaulttest.Open(t, store).SecretBox("webhooks")
	if err != nil {
		t.Fatal(err)
	}
	events, err := outbox.New(outbox.Config{DB: store, Secrets: box, Audit: log, AllowHosts: []string{"127.0.0.1"}})
	if err != nil {
		t.Fatal(err)
	}
	events.UseJobs(&noDeliveries{})
	if _, _, err := events.CreateEndpoint(ctx, outbox.Endpoint{URL: "http://127.0.0.1:9/hooks"}); err != nil {
		t.Fatal(err)
	}
	f := &fixture{store: store, audit: log, now: time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC), logs: &bytes.Buffer{}}
	f.svc, err = New(Config{DB: store, Audit: log, Events: events, Catalog: seededCategories(), Systems: systems, Getenv: getenv,
		Sample: sample, Now: func() time.Time { return f.now }, Log: slog.New(slog.NewTextHandler(f.logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// webhooks returns the bodies of the inventory.drift messages written.
func (f *fixture) webhooks(t *testing.T) []string {
	t.Helper()
	rows, err := f.store.QueryContext(context.Background(), `SELECT body FROM outbox_messages WHERE event_type = $1 ORDER BY created_at, id`, outbox.InventoryDrift)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var b string
		if err := rows.Scan(&b); err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// noDeliveries takes the outbox's delivery jobs and runs none: the tests
// read the messages written.
type noDeliveries struct{ n int64 }

func (q *noDeliveries) InsertTx(context.Context, *sql.Tx, jobs.Args, *jobs.InsertOpts) (jobs.Inserted, error) {
	q.n++
	return jobs.Inserted{ID: q.n}, nil
}
