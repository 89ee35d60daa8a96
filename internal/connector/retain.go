package connector

import (
	"context"
	"fmt"
	"strconv"
	"time"
)

// DefaultRetainBatch is how many rows one retention statement changes at
// most when RetainOptions.Batch is 0: small enough that a statement holds
// its row locks for milliseconds, large enough that a million rows take
// seconds.
const DefaultRetainBatch = 2000

// DefaultLockBudget is how long a retention statement that changes rows
// should take at most when RetainOptions.LockBudget is 0: its row locks
// are held that long.
const DefaultLockBudget = 100 * time.Millisecond

// minRetainBatch is the smallest batch a slow database shrinks it to.
const minRetainBatch = 50

// RetainOptions are the inputs of Retain.
type RetainOptions struct {
	// Now is the instant the periods are counted back from.
	Now time.Time
	// Cutoff, when set, returns the instant before which a table's rows are
	// past retention; it lets the caller lengthen a table's period (the
	// catalog's retention of its category or purpose wins when longer).
	// Without it, the table's own period counts back from Now.
	Cutoff func(t *Table) time.Time
	// Held are the identifiers of the subjects under a legal hold: their
	// rows are excluded in SQL, whatever their age.
	Held Identifiers
	// DryRun counts the rows that would go, with the same statements'
	// conditions, and changes nothing.
	DryRun bool
	// Batch is the most rows one statement changes; DefaultRetainBatch
	// when 0.
	Batch int
	// LockBudget bounds how long one statement that changes rows should
	// hold their locks (DefaultLockBudget when 0): a batch that took more
	// than half of it halves the next one (down to 50 rows), one that took
	// less than a tenth doubles it (up to Batch). A busy database thus gets
	// smaller statements, an idle one larger.
	LockBudget time.Duration
	// Observe, when set, is told the duration of every statement, and
	// whether it wrote (a delete or update, which holds row locks until it
	// ends) or only found a batch (a read, which locks no row): for the
	// benchmark that bounds the longest.
	Observe func(write bool, d time.Duration)
}

// RetainStep is what retention did (or would do) to one table: counts only.
type RetainStep struct {
	Table    string
	Category string
	Strategy Strategy
	// Cutoff is the instant before which rows were past retention.
	Cutoff time.Time
	// Rows is how many rows were deleted or changed (or would be).
	Rows int64
}

// Retain applies each table's retention section to its rows past their
// period. It walks each table by its key in batches of at most
// opts.Batch rows: one statement finds the upper key of the next batch,
// one changes the batch's rows, each statement its own short transaction,
// so that no statement holds locks long and the company's database keeps
// serving. The rows of held subjects are excluded in the statements
// themselves. Rows changed by mask or erase no longer match (their values
// are already masked or null), so a second run changes nothing.
//
// A failure stops the run and returns the steps done so far: the batches
// committed before it stay done, and the next run continues.
func (c *Conn) Retain(ctx context.Context, opts RetainOptions) ([]RetainStep, error) {
	if opts.Batch <= 0 {
		opts.Batch = DefaultRetainBatch
	}
	if opts.LockBudget <= 0 {
		opts.LockBudget = DefaultLockBudget
	}
	var steps []RetainStep
	for i := range c.ds.Tables {
		t := &c.ds.Tables[i]
		if t.Retention == nil {
			continue
		}
		cutoff := t.Retention.Parsed.Before(opts.Now)
		if opts.Cutoff != nil {
			cutoff = opts.Cutoff(t)
		}
		held, err := matchValues(ctx, c.db, c.ds.Engine, t, opts.Held)
		if err != nil {
			return steps, fmt.Errorf("connector %s: retention: %w", c.ds.Name, err)
		}
		r := &retainer{engine: c.ds.Engine, q: c.db, table: t, cutoff: cutoff, held: held, opts: opts}
		n, err := r.run(ctx)
		steps = append(steps, RetainStep{Table: t.Name, Category: t.ReportCategory(), Strategy: t.Retention.Strategy, Cutoff: cutoff, Rows: n})
		if err != nil {
			return steps, fmt.Errorf("connector %s: retention of table %s: %w", c.ds.Name, t.Name, err)
		}
	}
	return steps, nil
}

// retainer applies one table's retention.
type retainer struct {
	engine Engine
	q      querier
	table  *Table
	cutoff time.Time
	held   []any // the held subjects' identifier values for this table
	opts   RetainOptions
}

// change is one column a mask or erase sets, and the value it sets (nil
// for NULL).
type change struct {
	column string
	value  *string
}

// changes returns what the table's strategy sets, or nil when it deletes.
func (r *retainer) changes() []change {
	t := r.table
	var out []change
	switch r.table.Retention.Strategy {
	case Mask:
		for _, c := range maskedColumns(t) {
			mask := c.MaskValue()
			out = append(out, change{column: c.Name, value: &mask})
		}
	case RetainErase:
		if t.Erase == DeleteRow {
			return nil
		}
		for _, c := range t.Columns {
			switch c.Erase {
			case SetNull:
				out = append(out, change{column: c.Name})
			case Mask:
				mask := c.MaskValue()
				out = append(out, change{column: c.Name, value: &mask})
			}
		}
	}
	return out
}

// condition writes the rows of the batch: past the cutoff, not yet in the
// state the strategy leaves them in, not a held subject's; after lo (nil
// for the first batch) and, when hi is set, at most hi.
func (r *retainer) condition(b *builder, changes []change, lo, hi any) {
	t, key := r.table, r.table.Retention.KeyColumn()
	b.column(t.Name, t.Retention.Column).write(" < ").param(r.cutoff)
	if lo != nil {
		b.write(" AND ").column(t.Name, key).write(" > ").param(lo)
	}
	if hi != nil {
		b.write(" AND ").column(t.Name, key).write(" <= ").param(hi)
	}
	if len(changes) > 0 {
		b.write(" AND (")
		for i, ch := range changes {
			if i > 0 {
				b.write(" OR ")
			}
			b.column(t.Name, ch.column).write(" IS NOT NULL")
			if ch.value != nil {
				b.write(" AND ").column(t.Name, ch.column).write(" <> ").param(*ch.value)
			}
		}
		b.write(")")
	}
	if len(r.held) > 0 {
		// COALESCE: a row whose identifier is NULL matches no hold, and
		// NOT NULL would keep it for ever.
		b.write(" AND NOT COALESCE((")
		where(b, t, r.held)
		b.write("), FALSE)")
	}
}

func (r *retainer) run(ctx context.Context) (int64, error) {
	changes := r.changes()
	deletes := r.table.Retention.Strategy == RetainDelete || (r.table.Retention.Strategy == RetainErase && r.table.Erase == DeleteRow)
	key := r.table.Retention.KeyColumn()
	var total int64
	var lo any
	batch := r.opts.Batch
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		// The batch's bounds: its count and its highest key. The keys are
		// read through the index of the key, a batch at a time; no lock.
		limit := batch
		b := &builder{engine: r.engine}
		b.write("SELECT COUNT(*), MAX(k) FROM (SELECT ").column(r.table.Name, key).write(" AS k FROM ").name(r.table.Name).write(" WHERE ")
		r.condition(b, changes, lo, nil)
		b.write(" ORDER BY ").column(r.table.Name, key).write(" LIMIT " + strconv.Itoa(limit) + ") batch")
		var count int64
		var hi any
		start := time.Now()
		err := r.q.QueryRowContext(ctx, b.String(), b.args...).Scan(&count, &hi)
		r.observe(false, start)
		if err != nil {
			return total, fmt.Errorf("find batch: %w", err)
		}
		if count == 0 {
			return total, nil
		}
		if bs, ok := hi.([]byte); ok {
			hi = string(bs) // MySQL sends text keys as bytes
		}
		n := count
		if !r.opts.DryRun {
			start := time.Now()
			n, err = r.apply(ctx, changes, deletes, lo, hi)
			if err != nil {
				return total, err
			}
			batch = r.nextBatch(batch, time.Since(start))
		}
		total += n
		if count < int64(limit) {
			return total, nil // the last batch
		}
		lo = hi
	}
}

// apply deletes or changes one batch's rows, in one statement (its own
// transaction), with the whole condition again: a row that changed since
// the batch was found is judged as it is now.
func (r *retainer) apply(ctx context.Context, changes []change, deletes bool, lo, hi any) (int64, error) {
	t := r.table
	b := &builder{engine: r.engine}
	if deletes {
		b.write("DELETE FROM ").name(t.Name).write(" WHERE ")
	} else {
		b.write("UPDATE ").name(t.Name).write(" SET ")
		for i, ch := range changes {
			if i > 0 {
				b.write(", ")
			}
			b.name(ch.column).write(" = ")
			if ch.value == nil {
				b.write("NULL")
				continue
			}
			// A NULL stays NULL: there is nothing to mask.
			b.write("CASE WHEN ").name(ch.column).write(" IS NULL THEN NULL ELSE ").param(*ch.value).write(" END")
		}
		b.write(" WHERE ")
	}
	r.condition(b, changes, lo, hi)
	start := time.Now()
	res, err := r.q.ExecContext(ctx, b.String(), b.args...)
	r.observe(true, start)
	if err != nil {
		return 0, fmt.Errorf("apply batch: %w", err)
	}
	return res.RowsAffected()
}

// nextBatch sizes the next batch by how long the last write took, against
// the lock budget.
func (r *retainer) nextBatch(batch int, took time.Duration) int {
	switch {
	case took > r.opts.LockBudget/2:
		return max(batch/2, min(minRetainBatch, r.opts.Batch))
	case took < r.opts.LockBudget/10:
		return min(batch*2, r.opts.Batch)
	}
	return batch
}

func (r *retainer) observe(write bool, start time.Time) {
	if r.opts.Observe != nil {
		r.opts.Observe(write, time.Since(start))
	}
}
