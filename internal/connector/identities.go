package connector

import (
	"context"
	"fmt"
	"slices"
)

// TablesWith returns the tables of ds that hold a column of one of
// categories (all tables when categories is empty).
func (ds *Dataset) TablesWith(categories []string) []*Table {
	var out []*Table
	for i := range ds.Tables {
		t := &ds.Tables[i]
		if len(categories) == 0 || slices.ContainsFunc(t.Columns, func(c Column) bool { return slices.Contains(categories, c.Category) }) {
			out = append(out, t)
		}
	}
	return out
}

// Identities reads the distinct identifiers of the subjects who have rows
// in table (its identifier's kind: external ids or email addresses), in
// keyset batches of at most batch values, each a read-only statement of
// its own, and calls fn with each batch, in the identifier's order. With a
// join path, the identifiers are those the table's rows reach through it.
// It reads identifiers only, never another column.
func (c *Conn) Identities(ctx context.Context, table string, batch int, fn func(kind Kind, values []string) error) error {
	idx := slices.IndexFunc(c.ds.Tables, func(t Table) bool { return t.Name == table })
	if idx < 0 {
		return fmt.Errorf("connector %s: no table %s in the dataset", c.ds.Name, table)
	}
	if batch <= 0 {
		batch = 1000
	}
	t := &c.ds.Tables[idx]
	var after any
	for {
		var values []any
		err := c.readOnly(ctx, func(q querier) error {
			b := identitiesQuery(c.ds.Engine, t, after, batch)
			rows, err := q.QueryContext(ctx, b.String(), b.args...)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var v any
				if err := rows.Scan(&v); err != nil {
					return err
				}
				if bs, ok := v.([]byte); ok {
					v = string(bs)
				}
				values = append(values, v)
			}
			return rows.Err()
		})
		if err != nil {
			return fmt.Errorf("connector %s: identities of %s: %w", c.ds.Name, table, err)
		}
		if len(values) == 0 {
			return nil
		}
		out := make([]string, len(values))
		for i, v := range values {
			out[i] = textOf(v)
		}
		if err := fn(t.Identifier.Kind, out); err != nil {
			return err
		}
		if len(values) < batch {
			return nil
		}
		after = values[len(values)-1]
	}
}

// identitiesQuery selects a batch of t's distinct identifiers after the
// cursor (nil: from the start).
func identitiesQuery(engine Engine, t *Table, after any, batch int) *builder {
	b := &builder{engine: engine}
	last, column := t.identifierColumn()
	b.write("SELECT DISTINCT ").column(last, column).write(" FROM ").name(last).write(" WHERE ").column(last, column).write(" IS NOT NULL")
	if n := len(t.Identifier.Via); n > 0 {
		// The last table's rows that the path reaches from t's rows.
		_, target := t.Identifier.Via[n-1].Target()
		b.write(" AND ").column(last, target).write(" IN (")
		writeReached(b, t, n-1)
		b.write(")")
	}
	if after != nil {
		b.write(" AND ").column(last, column).write(" > ").param(after)
	}
	b.write(" ORDER BY ").column(last, column).write(fmt.Sprintf(" LIMIT %d", batch))
	return b
}

// writeReached writes the subquery of the values of hop i's column over the
// rows the path reaches up to it: t's own rows for hop 0.
func writeReached(b *builder, t *Table, i int) {
	table := t.Name
	if i > 0 {
		table, _ = t.Identifier.Via[i-1].Target()
	}
	b.write("SELECT ").column(table, t.Identifier.Via[i].Column).write(" FROM ").name(table)
	if i > 0 {
		_, target := t.Identifier.Via[i-1].Target()
		b.write(" WHERE ").column(table, target).write(" IN (")
		writeReached(b, t, i-1)
		b.write(")")
	}
}
