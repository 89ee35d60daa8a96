package connector

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	_ "modernc.org/sqlite"             // registers the "sqlite" database/sql driver

	"github.com/steward-dev/steward/internal/errs"
)

// MinHMACKeyLen is the shortest key hash_hmac accepts, in bytes: the
// output size of SHA-256, below which the key is the weak part.
const MinHMACKeyLen = 32

// Identifiers are a subject's identifiers in the company's systems. A table
// is searched with the values of its identifier's kind; a subject with none
// of that kind has no rows there.
type Identifiers struct {
	ExternalIDs []string
	Emails      []string
}

func (s Identifiers) values(kind Kind) []string {
	var in []string
	if kind == KindEmail {
		in = s.Emails
	} else {
		in = s.ExternalIDs
	}
	out := make([]string, 0, len(in))
	for _, v := range in {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// Conn is an open connector: a dataset and a pool of connections to its
// database. It is safe for concurrent use.
type Conn struct {
	ds  *Dataset
	db  *sql.DB
	key []byte // the hash_hmac key; nil when absent
	// keyProblem says why key is nil while the dataset needs one.
	keyProblem string
}

// Open connects to the database of ds, reading the connection string (and
// the hash_hmac key, when the dataset uses it) through getenv. It pings the
// database, so that a wrong DSN fails here.
func Open(ctx context.Context, ds *Dataset, getenv func(string) string) (*Conn, error) {
	dsn := getenv(ds.DSNEnv)
	if dsn == "" {
		return nil, errs.Invalid("dsn_env", "environment variable %s is empty or unset: it must hold the %s connection string of connector %s", ds.DSNEnv, ds.Engine, ds.Name)
	}
	c := &Conn{ds: ds}
	if ds.usesHMAC() {
		key := getenv(ds.HMACKeyEnv)
		switch {
		case key == "":
			c.keyProblem = fmt.Sprintf("environment variable %s (hmac_key_env) is empty or unset: hash_hmac columns cannot be erased", ds.HMACKeyEnv)
		case len(key) < MinHMACKeyLen:
			c.keyProblem = fmt.Sprintf("environment variable %s (hmac_key_env) holds %d bytes, want at least %d", ds.HMACKeyEnv, len(key), MinHMACKeyLen)
		default:
			c.key = []byte(key)
		}
	}
	var err error
	switch ds.Engine {
	case Postgres:
		c.db, err = sql.Open("pgx", dsn)
	case MySQL:
		var cfg *mysql.Config
		cfg, err = mysql.ParseDSN(dsn)
		if err != nil {
			return nil, errs.Invalid("dsn_env", "environment variable %s: not a MySQL DSN (user:password@tcp(host:port)/database): %v", ds.DSNEnv, err)
		}
		if cfg.DBName == "" {
			// Tables are looked up in DATABASE(); without one, every table
			// would be reported missing.
			return nil, errs.Invalid("dsn_env", "environment variable %s: the MySQL DSN names no database (…/database)", ds.DSNEnv)
		}
		// One statement per call and parameters bound by the server, whatever
		// the DSN asks: both keep subject values out of SQL text.
		cfg.MultiStatements = false
		cfg.InterpolateParams = false
		var conn driver.Connector
		conn, err = mysql.NewConnector(cfg)
		if err == nil {
			c.db = sql.OpenDB(conn)
		}
	case SQLite:
		var name string
		name, err = sqliteDSN(dsn)
		if err == nil {
			c.db, err = sql.Open("sqlite", name)
		}
	default:
		return nil, fmt.Errorf("connector %s: unknown engine %q", ds.Name, ds.Engine)
	}
	if err != nil {
		return nil, fmt.Errorf("open connector %s: %w", ds.Name, err)
	}
	// The company's database serves the company first: a few connections
	// are plenty for requests that run one at a time.
	c.db.SetMaxOpenConns(4)
	c.db.SetMaxIdleConns(2)
	c.db.SetConnMaxIdleTime(time.Minute)
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := c.db.PingContext(pingCtx); err != nil {
		c.db.Close()
		return nil, errs.Wrap(errs.CodeUnavailable, err, fmt.Sprintf("connector %s: connect to its %s database", ds.Name, ds.Engine))
	}
	return c, nil
}

// sqliteDSN turns a path, sqlite:PATH or file: URI into the URI the driver
// opens: read-write but never created (a mistyped path must not yield an
// empty database that every check finds empty), waiting for locks, with
// foreign keys enforced so that an erasure that would orphan rows fails
// whole, and write transactions that take the write lock at BEGIN.
func sqliteDSN(dsn string) (string, error) {
	dsn = strings.TrimPrefix(dsn, "sqlite:")
	if !strings.HasPrefix(dsn, "file:") {
		if _, err := os.Stat(dsn); err != nil {
			return "", errs.Wrap(errs.CodeInvalid, err, "sqlite database")
		}
		dsn = "file:" + strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(dsn)
	}
	path, query, _ := strings.Cut(dsn, "?")
	params, err := url.ParseQuery(query)
	if err != nil {
		return "", fmt.Errorf("sqlite database: parameters: %w", err)
	}
	if params.Get("mode") == "" {
		params.Set("mode", "rw")
	}
	params.Add("_pragma", "busy_timeout(10000)")
	params.Add("_pragma", "foreign_keys(1)")
	params.Set("_txlock", "immediate")
	return path + "?" + params.Encode(), nil
}

// Close closes the connections.
func (c *Conn) Close() error { return c.db.Close() }

// Dataset returns the dataset c was opened with.
func (c *Conn) Dataset() *Dataset { return c.ds }

// matchValues returns the subject's identifier values for t, as parameters
// fit for the column that holds them. Values that cannot be equal to any
// value of that column are dropped here: PostgreSQL would reject "42x" for
// an integer column, and MySQL would find it equal to 42.
func matchValues(ctx context.Context, q querier, engine Engine, t *Table, subject Identifiers) ([]any, error) {
	raw := subject.values(t.Identifier.Kind)
	if len(raw) == 0 {
		return nil, nil
	}
	table, column := t.identifierColumn()
	info, err := describe(ctx, q, engine, table)
	if err != nil {
		return nil, err
	}
	if info == nil {
		return nil, fmt.Errorf("table %s: no such table", table)
	}
	col, ok := info.Columns[column]
	if !ok {
		return nil, fmt.Errorf("table %s: no column %s", table, column)
	}
	out := make([]any, 0, len(raw))
	for _, v := range raw {
		if col.Class == classInteger {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || strconv.FormatInt(n, 10) != v {
				continue
			}
			out = append(out, n)
			continue
		}
		out = append(out, v)
	}
	return out, nil
}

// where writes the condition that selects the subject's rows of t: the
// identifier column among values or, with a join path, the first column
// of the path among the rows the rest of the path selects.
func where(b *builder, t *Table, values []any) {
	table := t.Name
	for _, h := range t.Identifier.Via {
		next, nextColumn := h.Target()
		b.column(table, h.Column).write(" IN (SELECT ").column(next, nextColumn).write(" FROM ").name(next).write(" WHERE ")
		table = next
	}
	email := t.Identifier.Kind == KindEmail
	if email {
		b.write("LOWER(").column(table, t.Identifier.Column).write(")")
	} else {
		b.column(table, t.Identifier.Column)
	}
	b.write(" IN (")
	for i, v := range values {
		if i > 0 {
			b.write(", ")
		}
		if email {
			b.write("LOWER(").param(v).write(")")
		} else {
			b.param(v)
		}
	}
	b.write(")")
	if !email && b.engine == MySQL {
		// External ids match exactly. MySQL compares text by the column's
		// collation, usually case-insensitive and blind to trailing
		// spaces ("alice " = "Alice"): the plain IN keeps the index usable,
		// and the comparison of bytes then drops the rows that differ.
		b.write(" AND CAST(").column(table, t.Identifier.Column).write(" AS BINARY) IN (")
		for i, v := range values {
			if i > 0 {
				b.write(", ")
			}
			b.write("CAST(").param(v).write(" AS BINARY)")
		}
		b.write(")")
	}
	b.write(strings.Repeat(")", len(t.Identifier.Via)))
}
