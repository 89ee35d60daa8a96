package connector

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"

	"github.com/steward-dev/steward/internal/errs"
)

// Report says what an erasure did, or would do: row counts per table,
// column and action, and never a value.
type Report struct {
	Connector string
	DryRun    bool
	// Steps are in the order they ran.
	Steps []Step
}

// Step is one action on one table (and column, except for DeleteRow).
type Step struct {
	Table  string
	Column string // empty for DeleteRow
	Action Strategy
	// Rows is how many rows the action changed; for Keep, how many of the
	// subject's rows kept their value. A second erasure of the same subject
	// changes no rows.
	Rows        int64
	LegalReason string `json:",omitempty"` // Keep only
}

// hmacBatch is how many distinct values hash_hmac reads at a time: its
// memory bound, whatever the number of rows.
const hmacBatch = 500

// Erase erases the subject from every table, in one transaction: a table
// before the tables on its join path (its rows are found through theirs),
// deleting rows or applying each column's strategy. Any failure rolls the
// whole database back. With dryRun, the same statements run and the
// transaction is rolled back, so that the counts are exactly those an
// erasure would report; it holds the same locks while it runs.
//
// Erasing twice changes nothing the second time: deleted rows are gone,
// nulls and masks are skipped where already in place, and values that
// already look like hash_hmac output (64 lowercase hex digits) are left.
func (c *Conn) Erase(ctx context.Context, subject Identifiers, dryRun bool) (*Report, error) {
	key := c.key
	if key == nil && c.ds.usesHMAC() {
		if !dryRun {
			return nil, errs.Invalid("hmac_key_env", "connector %s: %s", c.ds.Name, c.keyProblem)
		}
		// Which rows change does not depend on the key, and a dry run keeps
		// nothing it writes: preview works before the key is provisioned.
		key = make([]byte, MinHMACKeyLen)
		_, _ = rand.Read(key)
	}
	order, err := eraseOrder(c.ds)
	if err != nil {
		return nil, err
	}
	report := &Report{Connector: c.ds.Name, DryRun: dryRun}
	tx, err := c.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("connector %s: erase: begin: %w", c.ds.Name, err)
	}
	defer tx.Rollback() // after Commit, a no-op
	for _, i := range order {
		t := &c.ds.Tables[i]
		values, err := matchValues(ctx, tx, c.ds.Engine, t, subject)
		if err != nil {
			return nil, fmt.Errorf("connector %s: erase: %w", c.ds.Name, err)
		}
		e := &eraser{engine: c.ds.Engine, q: tx, table: t, values: values, key: key}
		steps, err := e.run(ctx)
		if err != nil {
			return nil, fmt.Errorf("connector %s: erase (rolled back): %w", c.ds.Name, err)
		}
		report.Steps = append(report.Steps, steps...)
	}
	if dryRun {
		if err := tx.Rollback(); err != nil {
			return nil, fmt.Errorf("connector %s: erase dry run: roll back: %w", c.ds.Name, err)
		}
		return report, nil
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("connector %s: erase: commit: %w", c.ds.Name, err)
	}
	return report, nil
}

// eraser erases one table's rows of one subject inside a transaction.
type eraser struct {
	engine Engine
	q      querier
	table  *Table
	values []any // the subject's identifier values; none means no rows
	key    []byte

	kept int64 // rows counted for Keep, -1 until counted
}

func (e *eraser) run(ctx context.Context) ([]Step, error) {
	t := e.table
	if t.Erase == DeleteRow {
		n, err := e.deleteRows(ctx)
		if err != nil {
			return nil, fmt.Errorf("table %s: delete_row: %w", t.Name, err)
		}
		return []Step{{Table: t.Name, Action: DeleteRow, Rows: n}}, nil
	}
	e.kept = -1
	steps := make([]Step, 0, len(t.Columns))
	for _, col := range columnOrder(t) {
		n, err := e.column(ctx, col)
		if err != nil {
			return nil, fmt.Errorf("table %s, column %s: %s: %w", t.Name, col.Name, col.Erase, err)
		}
		s := Step{Table: t.Name, Column: col.Name, Action: col.Erase, Rows: n}
		if col.Erase == Keep {
			s.LegalReason = col.LegalReason
		}
		steps = append(steps, s)
	}
	return steps, nil
}

// columnOrder returns t's columns with the one that locates its rows
// last: once that changes, the rows are no longer the subject's to find.
func columnOrder(t *Table) []Column {
	filter := t.filterColumn()
	out := make([]Column, 0, len(t.Columns))
	var last []Column
	for _, c := range t.Columns {
		if c.Name == filter {
			last = append(last, c)
			continue
		}
		out = append(out, c)
	}
	return append(out, last...)
}

func (e *eraser) column(ctx context.Context, col Column) (int64, error) {
	if len(e.values) == 0 {
		return 0, nil
	}
	switch col.Erase {
	case Keep:
		return e.countKept(ctx)
	case SetNull:
		b := e.update(col.Name)
		b.write("NULL WHERE ")
		where(b, e.table, e.values)
		b.write(" AND ").name(col.Name).write(" IS NOT NULL")
		return e.exec(ctx, b)
	case Mask:
		mask := col.MaskValue()
		b := e.update(col.Name)
		b.param(mask).write(" WHERE ")
		where(b, e.table, e.values)
		b.write(" AND ").name(col.Name).write(" IS NOT NULL AND ").name(col.Name).write(" <> ").param(mask)
		return e.exec(ctx, b)
	case HashHMAC:
		return e.hashColumn(ctx, col.Name)
	}
	return 0, fmt.Errorf("unknown strategy %q", col.Erase)
}

func (e *eraser) update(column string) *builder {
	b := &builder{engine: e.engine}
	b.write("UPDATE ").name(e.table.Name).write(" SET ").name(column).write(" = ")
	return b
}

func (e *eraser) exec(ctx context.Context, b *builder) (int64, error) {
	res, err := e.q.ExecContext(ctx, b.String(), b.args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (e *eraser) deleteRows(ctx context.Context) (int64, error) {
	if len(e.values) == 0 {
		return 0, nil
	}
	b := &builder{engine: e.engine}
	b.write("DELETE FROM ").name(e.table.Name).write(" WHERE ")
	where(b, e.table, e.values)
	return e.exec(ctx, b)
}

func (e *eraser) countKept(ctx context.Context) (int64, error) {
	if e.kept >= 0 {
		return e.kept, nil
	}
	b := &builder{engine: e.engine}
	b.write("SELECT COUNT(*) FROM ").name(e.table.Name).write(" WHERE ")
	where(b, e.table, e.values)
	if err := e.q.QueryRowContext(ctx, b.String(), b.args...).Scan(&e.kept); err != nil {
		return 0, err
	}
	return e.kept, nil
}

// hashColumn replaces each distinct value of the subject's rows with its
// HMAC. SQL has no portable HMAC, so the values pass through here, a batch
// of distinct values at a time in value order, and each is written back
// with an UPDATE that matches it. Values that are HMACs already are left.
func (e *eraser) hashColumn(ctx context.Context, column string) (int64, error) {
	var total int64
	var after any // the last value of the previous batch
	for {
		b := &builder{engine: e.engine}
		b.write("SELECT DISTINCT ").name(column).write(" FROM ").name(e.table.Name).write(" WHERE ")
		where(b, e.table, e.values)
		b.write(" AND ").name(column).write(" IS NOT NULL")
		if after != nil {
			b.write(" AND ").name(column).write(" > ").param(after)
		}
		b.write(" ORDER BY ").name(column).write(" LIMIT " + strconv.Itoa(hmacBatch))
		batch, err := e.distinct(ctx, b)
		if err != nil {
			return 0, err
		}
		for _, v := range batch {
			text := textOf(v)
			if looksHashed(text) {
				continue
			}
			mac := hmac.New(sha256.New, e.key)
			mac.Write([]byte(text))
			u := e.update(column)
			u.param(hex.EncodeToString(mac.Sum(nil))).write(" WHERE ")
			where(u, e.table, e.values)
			u.write(" AND ").name(column).write(" = ").param(v)
			n, err := e.exec(ctx, u)
			if err != nil {
				return 0, err
			}
			total += n
		}
		if len(batch) < hmacBatch {
			return total, nil
		}
		after = batch[len(batch)-1]
	}
}

// distinct reads one batch of values. The batch is read whole before any
// UPDATE runs: a connection cannot update while a result is open.
func (e *eraser) distinct(ctx context.Context, b *builder) ([]any, error) {
	rows, err := e.q.QueryContext(ctx, b.String(), b.args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	batch := make([]any, 0, hmacBatch)
	for rows.Next() {
		var v any
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		if bs, ok := v.([]byte); ok {
			v = string(bs) // MySQL sends text as bytes; PostgreSQL wants text back
		}
		batch = append(batch, v)
	}
	return batch, rows.Err()
}

// textOf returns the text a value is hashed as.
func textOf(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case int64:
		return strconv.FormatInt(v, 10)
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	default:
		return fmt.Sprint(v)
	}
}
