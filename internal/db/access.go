package db

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"unicode"
)

// The methods of this file are the only way to the store outside a
// transaction of Tx or ReadTx. Their names and signatures are those of
// *sql.DB, so that a *DB is a Querier like a *sql.Tx; what they add:
//
//   - on SQLite, a write (ExecContext, or a statement that changes data
//     through QueryContext/QueryRowContext, such as UPDATE … RETURNING)
//     takes the writer queue that Tx takes, so that a direct write never
//     races a transaction of this process for SQLite's one write lock and
//     never meets SQLITE_BUSY;
//   - their errors are classified (Classify), so that a store that cannot
//     be reached is errs.CodeUnavailable wherever it is met. The errors of
//     a *sql.Row surface at its Scan, which Steward's callers classify.

// takeWriter waits for this process's SQLite writer slot, in arrival
// order, and returns the function that gives it back. On PostgreSQL there
// is no queue and it returns at once.
func (d *DB) takeWriter(ctx context.Context) (release func(), err error) {
	if d.writers == nil {
		return func() {}, nil
	}
	select {
	case d.writers <- struct{}{}:
		return func() { <-d.writers }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// ExecContext runs a statement that returns no rows. On SQLite it waits
// for the writer queue first, as Tx does.
func (d *DB) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	release, err := d.takeWriter(ctx)
	if err != nil {
		return nil, Classify(err)
	}
	defer release()
	res, err := d.sql.ExecContext(ctx, query, args...)
	return res, Classify(err)
}

// QueryContext runs a query. A statement that writes (INSERT/UPDATE/DELETE
// … RETURNING) takes the SQLite writer queue while it runs; callers read
// and close its rows at once.
func (d *DB) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if IsWrite(query) {
		release, err := d.takeWriter(ctx)
		if err != nil {
			return nil, Classify(err)
		}
		defer release()
	}
	rows, err := d.sql.QueryContext(ctx, query, args...)
	return rows, Classify(err)
}

// QueryRowContext runs a query that returns at most one row. A statement
// that writes takes the SQLite writer queue while it runs, like
// QueryContext; a write whose result matters beyond one Scan belongs in Tx.
func (d *DB) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if IsWrite(query) {
		release, err := d.takeWriter(ctx)
		if err != nil {
			// database/sql makes a Row that carries ctx's error only
			// by running the query with the ended context.
			return d.sql.QueryRowContext(ctx, query, args...)
		}
		defer release()
	}
	return d.sql.QueryRowContext(ctx, query, args...)
}

// PingContext checks that the store answers.
func (d *DB) PingContext(ctx context.Context) error {
	return Classify(d.sql.PingContext(ctx))
}

// ReadTx runs fn in a read-only transaction, which sees one snapshot of the
// store (REPEATABLE READ on PostgreSQL; a deferred transaction on SQLite,
// which takes no write lock and so no place in the writer queue). The
// transaction is rolled back when fn returns.
func (d *DB) ReadTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	opts := &sql.TxOptions{ReadOnly: true}
	if d.Dialect == Postgres {
		opts.Isolation = sql.LevelRepeatableRead
	}
	tx, err := d.sql.BeginTx(ctx, opts)
	if err != nil {
		return Classify(fmt.Errorf("begin: %w", err))
	}
	defer tx.Rollback()
	return Classify(fn(tx))
}

// PrepareTxStatement prepares query on the pool, for a hot statement run
// in many transactions: tx.StmtContext(ctx, stmt) then reuses the parse of
// the transaction's connection instead of parsing it again. Run it only
// through a transaction (Tx), which holds the writer queue; close it when
// done.
func (d *DB) PrepareTxStatement(ctx context.Context, query string) (*sql.Stmt, error) {
	stmt, err := d.sql.PrepareContext(ctx, query)
	return stmt, Classify(err)
}

// RiverHandle returns the *sql.DB under the store, for the job runner
// (internal/jobs) only: River's drivers take a *sql.DB, and on PostgreSQL
// the runner reads its LISTEN connection's settings and takes its migration
// lock on a connection of its own. Nothing else may use it: writes through
// it bypass the SQLite writer queue and its errors are not classified.
func (d *DB) RiverHandle() *sql.DB { return d.sql }

// IsWrite reports whether statement may change the store, by its leading
// keyword (after comments): anything but SELECT, VALUES, EXPLAIN, a PRAGMA
// that sets nothing, or a WITH whose statement only reads. It errs towards
// "write", which only costs a place in the SQLite writer queue.
func IsWrite(statement string) bool {
	s := strings.TrimLeft(stripLeadingComments(statement), "( \t\r\n")
	kw := strings.ToUpper(leadingWord(s))
	switch kw {
	case "SELECT", "VALUES", "EXPLAIN":
		return false
	case "PRAGMA":
		return strings.Contains(s, "=")
	case "WITH":
		for _, w := range strings.FieldsFunc(strings.ToUpper(s), func(r rune) bool {
			return !unicode.IsLetter(r) && r != '_' && !unicode.IsDigit(r)
		}) {
			switch w {
			case "INSERT", "UPDATE", "DELETE", "REPLACE", "RETURNING":
				return true
			}
		}
		return false
	default:
		return true
	}
}

func stripLeadingComments(s string) string {
	for {
		s = strings.TrimLeftFunc(s, unicode.IsSpace)
		switch {
		case strings.HasPrefix(s, "--"):
			i := strings.IndexByte(s, '\n')
			if i < 0 {
				return ""
			}
			s = s[i+1:]
		case strings.HasPrefix(s, "/*"):
			i := strings.Index(s, "*/")
			if i < 0 {
				return ""
			}
			s = s[i+2:]
		default:
			return s
		}
	}
}

func leadingWord(s string) string {
	i := strings.IndexFunc(s, func(r rune) bool { return !unicode.IsLetter(r) })
	if i < 0 {
		return s
	}
	return s[:i]
}

// Exec is ExecContext with the background context.
func (d *DB) Exec(query string, args ...any) (sql.Result, error) {
	return d.ExecContext(context.Background(), query, args...)
}

// Query is QueryContext with the background context.
func (d *DB) Query(query string, args ...any) (*sql.Rows, error) {
	return d.QueryContext(context.Background(), query, args...)
}

// QueryRow is QueryRowContext with the background context.
func (d *DB) QueryRow(query string, args ...any) *sql.Row {
	return d.QueryRowContext(context.Background(), query, args...)
}

// FromHandle makes a store of an open handle, without the checks of Open,
// the checkpointer or migrations: for tests that need a store over a
// handle of their own, such as one that points at no server.
func FromHandle(h *sql.DB, dialect Dialect) *DB {
	d := &DB{sql: h, Dialect: dialect, Location: string(dialect) + ":handle"}
	if dialect == SQLite {
		d.writers = make(chan struct{}, 1)
	}
	return d
}
