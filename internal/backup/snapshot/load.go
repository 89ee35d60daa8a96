package snapshot

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/errs"
)

// Load reads a snapshot from r into d, which must be empty (migrated, no
// rows in backed-up tables; the rows the migrations seed, such as the
// chain heads, are replaced by the snapshot's) and at the snapshot's schema
// version: a restore of an older snapshot migrates the empty store to that
// version first (db.MigrateTo), loads, then migrates up.
//
// Everything happens in one transaction: a snapshot that turns out
// truncated or damaged, even in its last byte, leaves the store as empty as
// it was. Tables are loaded in dependency order: on PostgreSQL with COPY,
// on SQLite with multi-row INSERTs under a larger page cache. Afterwards
// PostgreSQL sequences owned by loaded columns are moved past the loaded
// values (SQLite's sqlite_sequence follows explicit rowids by itself) and
// each table's row count is checked against the trailer.
//
// A non-empty store or another schema version is refused with
// errs.CodeConflict; a damaged stream with an error that wraps ErrCorrupt.
func Load(ctx context.Context, d *db.DB, r io.Reader) (Summary, error) {
	var sum Summary
	err := d.TxCopy(ctx, func(tx *sql.Tx, copyFrom db.CopyFunc) error {
		l := &loader{ctx: ctx, tx: tx, dialect: d.Dialect, copyFrom: copyFrom}
		if d.Dialect == db.SQLite {
			restore, err := growPageCache(ctx, tx)
			if err != nil {
				return err
			}
			defer restore()
		}
		var err error
		sum, err = readWith(r, l.onHeader, l.onTable, l.onRow)
		if err != nil {
			l.abort(err)
			return err
		}
		if err := l.flush(); err != nil {
			return err
		}
		if l.stmt != nil {
			l.stmt.Close()
		}
		for _, t := range backedUpTables() {
			if _, ok := sum.Tables[t.name]; !ok {
				return corrupt("the snapshot has no table %s", t.name)
			}
		}
		if d.Dialect == db.Postgres {
			if err := fixSequences(ctx, tx, sum.Tables); err != nil {
				return err
			}
		}
		for table, want := range sum.Tables {
			var got int64
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM `+quoteIdent(table)).Scan(&got); err != nil {
				return fmt.Errorf("count %s: %w", table, err)
			}
			if got != want {
				return fmt.Errorf("table %s holds %d rows after loading, the snapshot %d", table, got, want)
			}
		}
		return nil
	})
	if err != nil {
		return Summary{}, fmt.Errorf("load snapshot: %w", err)
	}
	return sum, nil
}

// loadPageCache is SQLite's page cache during a load (PRAGMA cache_size,
// negative: KiB). The default (2 MiB) makes every index insert of a
// million-row table read its page back; the connection gets its own
// setting back before it returns to the pool.
const loadPageCache = -128 << 10

// growPageCache sets the page cache of tx's connection to loadPageCache
// and returns what sets it back.
func growPageCache(ctx context.Context, tx *sql.Tx) (restore func(), err error) {
	var previous int64
	if err := tx.QueryRowContext(ctx, `PRAGMA cache_size`).Scan(&previous); err != nil {
		return nil, fmt.Errorf("read the page cache size: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `PRAGMA cache_size = `+strconv.Itoa(loadPageCache)); err != nil {
		return nil, fmt.Errorf("grow the page cache: %w", err)
	}
	return func() { _, _ = tx.ExecContext(ctx, `PRAGMA cache_size = `+strconv.FormatInt(previous, 10)) }, nil
}

// loader inserts a snapshot's rows in batches, or on PostgreSQL streams
// them into a COPY per table.
type loader struct {
	ctx      context.Context
	tx       *sql.Tx
	dialect  db.Dialect
	copyFrom db.CopyFunc // nil on SQLite
	feed     *copyFeed   // the COPY of the table being loaded

	lastIndex int // position in tables of the table being loaded
	table     string
	columns   []Column
	convert   []func(any) (any, error) // snapshot kind to target kind, per column
	batchRows int
	stmt      *sql.Stmt // the INSERT of a full batch
	args      []any
	pending   int // rows in args
}

func (l *loader) onHeader(h header) error {
	var version int
	if err := l.tx.QueryRowContext(l.ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&version); err != nil {
		return fmt.Errorf("read the store's schema version: %w", err)
	}
	if version != h.SchemaVersion {
		return errs.New(errs.CodeConflict, "the snapshot has schema version %d and the store %d: migrate an empty store to %d (db.MigrateTo), load, then migrate up",
			h.SchemaVersion, version, h.SchemaVersion)
	}
	for _, t := range backedUpTables() {
		if t.seeded {
			continue
		}
		var found int
		err := l.tx.QueryRowContext(l.ctx, `SELECT 1 FROM `+quoteIdent(t.name)+` LIMIT 1`).Scan(&found)
		if err == nil {
			return errs.New(errs.CodeConflict, "the store is not empty: table %s has rows; a snapshot loads only into an empty store", t.name)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("check %s is empty: %w", t.name, err)
		}
	}
	for _, t := range backedUpTables() {
		if t.seeded {
			if _, err := l.tx.ExecContext(l.ctx, `DELETE FROM `+quoteIdent(t.name)); err != nil {
				return fmt.Errorf("clear the seeded rows of %s: %w", t.name, err)
			}
		}
	}
	l.lastIndex = -1
	return nil
}

func (l *loader) onTable(t *tableRecord) error {
	if err := l.flush(); err != nil {
		return err
	}
	if l.stmt != nil {
		l.stmt.Close()
		l.stmt = nil
	}
	index := -1
	for i, r := range tables {
		if r.name == t.Name && r.backedUp {
			index = i
		}
	}
	if index < 0 {
		return fmt.Errorf("the snapshot holds table %s, which this binary does not restore", t.Name)
	}
	if index <= l.lastIndex {
		return corrupt("table %s out of order", t.Name)
	}
	l.lastIndex = index
	target, err := readTable(l.ctx, l.tx, l.dialect, t.Name)
	if err != nil {
		return err
	}
	if len(target.columns) != len(t.Columns) {
		return fmt.Errorf("table %s: the snapshot has %d columns, the store %d", t.Name, len(t.Columns), len(target.columns))
	}
	kinds := map[string]Kind{}
	for _, c := range target.columns {
		kinds[c.Name] = c.Kind
	}
	l.table, l.columns = t.Name, t.Columns
	l.convert = make([]func(any) (any, error), len(t.Columns))
	for i, c := range t.Columns {
		to, ok := kinds[c.Name]
		if !ok {
			return fmt.Errorf("table %s: the store has no column %s", t.Name, c.Name)
		}
		if l.convert[i], err = converter(c.Kind, to); err != nil {
			return fmt.Errorf("table %s, column %s: %w", t.Name, c.Name, err)
		}
	}
	if l.copyFrom != nil {
		names := make([]string, len(t.Columns))
		for i, c := range t.Columns {
			names[i] = c.Name
		}
		l.feed = startCopy(l.ctx, l.copyFrom, t.Name, names)
		return nil
	}
	budget, maxRows := 30000, 500 // SQLite allows 32766 parameters per statement
	if l.dialect == db.Postgres {
		budget, maxRows = 60000, 1000 // PostgreSQL allows 65535
	}
	l.batchRows = min(maxRows, budget/len(t.Columns))
	l.args = make([]any, 0, l.batchRows*len(t.Columns))
	l.pending = 0
	return nil
}

func (l *loader) onRow(_ *tableRecord, values []any) error {
	if l.feed != nil {
		// values is the row's own slice (decodeRow makes one per row):
		// converted in place, it goes to the COPY as it is.
		for i, v := range values {
			c, err := l.convert[i](v)
			if err != nil {
				return fmt.Errorf("table %s, column %s: %w", l.table, l.columns[i].Name, err)
			}
			values[i] = c
		}
		return l.feed.send(values)
	}
	for i, v := range values {
		c, err := l.convert[i](v)
		if err != nil {
			return fmt.Errorf("table %s, column %s: %w", l.table, l.columns[i].Name, err)
		}
		l.args = append(l.args, c)
	}
	l.pending++
	if l.pending < l.batchRows {
		return nil
	}
	if l.stmt == nil {
		stmt, err := l.tx.PrepareContext(l.ctx, l.insert(l.batchRows))
		if err != nil {
			return fmt.Errorf("load %s: %w", l.table, err)
		}
		l.stmt = stmt
	}
	if _, err := l.stmt.ExecContext(l.ctx, l.args...); err != nil {
		return fmt.Errorf("load %s: %w", l.table, err)
	}
	l.args, l.pending = l.args[:0], 0
	return nil
}

// flush inserts the rows of a batch that did not fill, or ends the
// table's COPY.
func (l *loader) flush() error {
	if l.feed != nil {
		feed := l.feed
		l.feed = nil
		if err := feed.finish(); err != nil {
			return fmt.Errorf("load %s: %w", l.table, err)
		}
		return nil
	}
	if l.pending == 0 {
		return nil
	}
	if _, err := l.tx.ExecContext(l.ctx, l.insert(l.pending), l.args...); err != nil {
		return fmt.Errorf("load %s: %w", l.table, err)
	}
	l.args, l.pending = l.args[:0], 0
	return nil
}

// abort stops a running COPY without letting it commit what it has.
func (l *loader) abort(cause error) {
	if l.feed != nil {
		l.feed.abort(cause)
		l.feed = nil
	}
}

// copyFeed hands a table's rows, as the snapshot yields them, to a COPY
// running in a goroutine of its own (the COPY pulls its rows, the
// snapshot pushes them).
type copyFeed struct {
	rows    chan []any
	done    chan struct{}
	current []any
	aborted error // set before rows is closed by abort
	err     error // the COPY's, once done is closed
}

var _ db.CopySource = (*copyFeed)(nil)

func startCopy(ctx context.Context, copyFrom db.CopyFunc, table string, columns []string) *copyFeed {
	f := &copyFeed{rows: make(chan []any, 512), done: make(chan struct{})}
	go func() {
		defer close(f.done)
		_, f.err = copyFrom(ctx, table, columns, f)
	}()
	return f
}

func (f *copyFeed) Next() bool {
	f.current = <-f.rows
	return f.current != nil
}

func (f *copyFeed) Values() ([]any, error) { return f.current, nil }

func (f *copyFeed) Err() error { return f.aborted }

// send hands one row to the COPY, or returns why the COPY ended early.
func (f *copyFeed) send(row []any) error {
	select {
	case f.rows <- row:
		return nil
	case <-f.done:
		if f.err != nil {
			return f.err
		}
		return errors.New("the COPY ended before its rows")
	}
}

// finish ends the rows and waits for the COPY.
func (f *copyFeed) finish() error {
	close(f.rows)
	<-f.done
	return f.err
}

func (f *copyFeed) abort(cause error) {
	f.aborted = cause
	close(f.rows)
	<-f.done
}

func (l *loader) insert(rows int) string {
	var b strings.Builder
	b.WriteString("INSERT INTO " + quoteIdent(l.table) + " (" + columnList(l.columns) + ") VALUES ")
	n := 1
	for r := range rows {
		if r > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('(')
		for c := range l.columns {
			if c > 0 {
				b.WriteByte(',')
			}
			if l.dialect == db.SQLite {
				// Positional: modernc's driver looks every $N name up in
				// a list, which costs the square of a batch's parameters.
				b.WriteByte('?')
			} else {
				b.WriteByte('$')
				b.WriteString(strconv.Itoa(n))
			}
			n++
		}
		b.WriteByte(')')
	}
	return b.String()
}

// converter returns how a value of kind from is written to a column of kind
// to: as it is, or a boolean as 0/1 and back (SQLite has no boolean type).
func converter(from, to Kind) (func(any) (any, error), error) {
	same := func(v any) (any, error) { return v, nil }
	switch {
	case from == to:
		return same, nil
	case from == KindBool && to == KindInt:
		return func(v any) (any, error) {
			if v == nil {
				return nil, nil
			}
			if v.(bool) {
				return int64(1), nil
			}
			return int64(0), nil
		}, nil
	case from == KindInt && to == KindBool:
		return func(v any) (any, error) {
			if v == nil {
				return nil, nil
			}
			switch v.(int64) {
			case 0:
				return false, nil
			case 1:
				return true, nil
			}
			return nil, fmt.Errorf("%d in a boolean column", v)
		}, nil
	}
	return nil, fmt.Errorf("a %s column in the snapshot is %s in the store", from, to)
}

// fixSequences moves every PostgreSQL sequence owned by a column of a
// loaded table (serial and identity columns) past the column's largest
// value, so that the next row the server inserts does not collide.
// Steward's tables take their numbers from head rows today; this keeps a
// future serial column safe.
func fixSequences(ctx context.Context, tx *sql.Tx, loaded map[string]int64) error {
	type owned struct{ table, column, sequence string }
	seqs, err := db.QueryAll(ctx, tx, `SELECT t.relname, a.attname, s.relname
		FROM pg_depend d
		JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
		JOIN pg_class t ON t.oid = d.refobjid
		JOIN pg_namespace n ON n.oid = t.relnamespace
		JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid
		WHERE n.nspname = current_schema() AND d.classid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')`, nil,
		func(scan func(...any) error) (owned, error) {
			var o owned
			err := scan(&o.table, &o.column, &o.sequence)
			return o, err
		})
	if err != nil {
		return fmt.Errorf("list sequences: %w", err)
	}
	for _, s := range seqs {
		if _, ok := loaded[s.table]; !ok {
			continue
		}
		if _, err := tx.ExecContext(ctx, `SELECT setval(to_regclass(quote_ident(current_schema()) || '.' || quote_ident($1)), COALESCE(MAX(`+quoteIdent(s.column)+`), 0) + 1, false) FROM `+quoteIdent(s.table),
			s.sequence); err != nil {
			return fmt.Errorf("move sequence %s past %s.%s: %w", s.sequence, s.table, s.column, err)
		}
	}
	return nil
}
