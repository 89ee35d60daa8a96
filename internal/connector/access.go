package connector

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"slices"
)

// Sink receives a subject's rows as Access reads them: each table in file
// order, its columns, then its rows one at a time. Nothing is gathered in
// memory on the way, so that an export of a million rows costs one row.
type Sink interface {
	// StartTable begins a table; columns name each row's values in order.
	StartTable(table string, columns []Column) error
	// Row receives one row. Values are nil, int64, float64, bool, string,
	// []byte (binary columns only) or time.Time. The slice is reused for
	// the next row: copy what must outlive the call.
	Row(values []any) error
	// EndTable ends the table begun last; rows is how many Row received.
	EndTable(table string, rows int64) error
}

// Access streams the subject's rows of every table to sink, inside one
// read-only transaction, so that the export is a consistent snapshot and
// cannot write whatever the dataset says. A table where the subject has no
// rows still gets StartTable and EndTable. An error from sink stops Access
// and is returned as is.
func (c *Conn) Access(ctx context.Context, subject Identifiers, sink Sink) error {
	err := c.readOnly(ctx, func(q querier) error {
		for i := range c.ds.Tables {
			if err := c.accessTable(ctx, q, &c.ds.Tables[i], subject, sink); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("connector %s: access: %w", c.ds.Name, err)
	}
	return nil
}

func (c *Conn) accessTable(ctx context.Context, q querier, t *Table, subject Identifiers, sink Sink) error {
	engine := c.ds.Engine
	values, err := matchValues(ctx, q, engine, t, subject)
	if err != nil {
		return err
	}
	info, err := describe(ctx, q, engine, t.Name)
	if err != nil {
		return err
	}
	if info == nil {
		return fmt.Errorf("table %s: no such table", t.Name)
	}
	if err := sink.StartTable(t.Name, slices.Clone(t.Columns)); err != nil {
		return err
	}
	if len(values) == 0 {
		return sink.EndTable(t.Name, 0)
	}
	// binary marks the columns whose []byte values stay bytes; MySQL hands
	// text over as bytes too, and the sink should not have to know.
	binary := make([]bool, len(t.Columns))
	b := &builder{engine: engine}
	b.write("SELECT ")
	for i, col := range t.Columns {
		if i > 0 {
			b.write(", ")
		}
		b.name(col.Name)
		binary[i] = info.Columns[col.Name].Class == classBinary
	}
	b.write(" FROM ").name(t.Name).write(" WHERE ")
	where(b, t, values)
	rows, err := q.QueryContext(ctx, b.String(), b.args...)
	if err != nil {
		return fmt.Errorf("table %s: %w", t.Name, err)
	}
	defer rows.Close()
	row := make([]any, len(t.Columns))
	dest := make([]any, len(t.Columns))
	for i := range row {
		dest[i] = &row[i]
	}
	var n int64
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return fmt.Errorf("table %s: %w", t.Name, err)
		}
		for i, v := range row {
			if bs, ok := v.([]byte); ok && !binary[i] {
				row[i] = string(bs)
			}
		}
		if err := sink.Row(row); err != nil {
			return err
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("table %s: %w", t.Name, err)
	}
	return sink.EndTable(t.Name, n)
}

// readOnly runs fn in a read-only transaction: BEGIN READ ONLY
// (PostgreSQL, at repeatable read for one snapshot across tables), START
// TRANSACTION READ ONLY (MySQL), or on SQLite, which has no read-only
// transaction, a connection with query_only set for the duration.
func (c *Conn) readOnly(ctx context.Context, fn func(q querier) error) (err error) {
	if c.ds.Engine != SQLite {
		tx, err := c.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead})
		if err != nil {
			return fmt.Errorf("begin read-only: %w", err)
		}
		defer tx.Rollback() // nothing to commit
		return fn(tx)
	}
	conn, err := c.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "PRAGMA query_only = 1"); err != nil {
		return fmt.Errorf("set query_only: %w", err)
	}
	defer func() {
		if _, resetErr := conn.ExecContext(context.Background(), "PRAGMA query_only = 0"); resetErr != nil {
			// A connection that might still refuse writes must not go back
			// to the pool, where an erasure would pick it up.
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}()
	tx, err := conn.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("begin read-only: %w", err)
	}
	defer tx.Rollback()
	return fn(tx)
}
