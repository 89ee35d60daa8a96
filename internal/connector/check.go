package connector

import (
	"context"
	"fmt"
	"unicode/utf8"
)

// Mismatch is a difference between the dataset and the live database that
// would make access or erasure fail or do the wrong thing.
type Mismatch struct {
	Table  string // empty for the dataset as a whole
	Column string // empty for the table as a whole
	// Line is the line of the dataset file the mismatch is about; 0 when
	// it is about the file as a whole.
	Line    int
	Problem string
	// Warning marks a difference that Steward works around but an operator
	// should know of; it does not fail the check.
	Warning bool
}

func (m Mismatch) String() string {
	switch {
	case m.Table == "":
		return m.Problem
	case m.Column == "":
		return "table " + m.Table + ": " + m.Problem
	}
	return "table " + m.Table + ", column " + m.Column + ": " + m.Problem
}

// Check compares the dataset with the live database, read-only: every table
// and column exists, identifier and join columns exist and fit, and each
// column's type suits its erasure strategy (null needs a nullable column,
// mask and hash_hmac a text column long enough for what they write). On
// MySQL, each table must be able to roll back. It also reports a missing
// hash_hmac key. An error means the check itself could not run.
func (c *Conn) Check(ctx context.Context) ([]Mismatch, error) {
	var out []Mismatch
	if c.keyProblem != "" {
		out = append(out, Mismatch{Problem: c.keyProblem})
	}
	err := c.readOnly(ctx, func(q querier) error {
		ch := &checker{engine: c.ds.Engine, q: q, tables: map[string]*tableInfo{}}
		for i := range c.ds.Tables {
			if err := ch.table(ctx, &c.ds.Tables[i]); err != nil {
				return err
			}
		}
		out = append(out, ch.found...)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("connector %s: check: %w", c.ds.Name, err)
	}
	return out, nil
}

type checker struct {
	engine Engine
	q      querier
	tables map[string]*tableInfo // nil entries: looked up, missing
	found  []Mismatch
}

func (ch *checker) describe(ctx context.Context, table string) (*tableInfo, error) {
	if info, ok := ch.tables[table]; ok {
		return info, nil
	}
	info, err := describe(ctx, ch.q, ch.engine, table)
	if err != nil {
		return nil, err
	}
	ch.tables[table] = info
	return info, nil
}

func (ch *checker) add(table, column string, line int, format string, args ...any) {
	ch.found = append(ch.found, Mismatch{Table: table, Column: column, Line: line, Problem: fmt.Sprintf(format, args...)})
}

func (ch *checker) table(ctx context.Context, t *Table) error {
	info, err := ch.describe(ctx, t.Name)
	if err != nil {
		return err
	}
	if info == nil {
		ch.add(t.Name, "", t.Line, "no such table in the database")
		return nil
	}
	if ch.engine == MySQL && !transactional(info.Storage) {
		ch.add(t.Name, "", t.Line, "storage engine %s cannot roll back a failed erasure; convert the table to InnoDB", info.Storage)
	}
	if err := ch.identifier(ctx, t, info); err != nil {
		return err
	}
	for _, col := range t.Columns {
		live, ok := info.Columns[col.Name]
		if !ok {
			ch.add(t.Name, col.Name, col.Line, "no such column in the database")
			continue
		}
		ch.strategy(t, col, live)
	}
	if t.Retention != nil {
		ch.retention(t, info)
	}
	return nil
}

// identifier checks the path from t to the column holding the subject's
// identifier.
func (ch *checker) identifier(ctx context.Context, t *Table, info *tableInfo) error {
	id := t.Identifier
	table, current := t.Name, info
	for _, h := range id.Via {
		from, ok := current.Columns[h.Column]
		if !ok {
			ch.add(table, h.Column, h.Line, "join column %s (via of table %s) does not exist", h.Column, t.Name)
		}
		nextTable, nextColumn := h.Target()
		next, err := ch.describe(ctx, nextTable)
		if err != nil {
			return err
		}
		if next == nil {
			ch.add(t.Name, "", h.Line, "join path references table %s, which does not exist", nextTable)
			return nil
		}
		to, found := next.Columns[nextColumn]
		if !found {
			ch.add(nextTable, nextColumn, h.Line, "join path of table %s references column %s, which does not exist", t.Name, h.References)
		}
		if ok && found && precise(from.Class) && precise(to.Class) && from.Class != to.Class {
			ch.add(table, h.Column, h.Line, "join column %s (%s) cannot be compared with %s (%s)", h.Column, from.Type, h.References, to.Type)
		}
		table, current = nextTable, next
	}
	col, ok := current.Columns[id.Column]
	if !ok {
		ch.add(table, id.Column, id.Line, "identifier column of table %s does not exist", t.Name)
		return nil
	}
	if id.Kind == KindEmail && !holdsText(col.Class) {
		ch.add(table, id.Column, id.Line, "an email identifier needs a text column, but the column is %s", col.Type)
	}
	if id.Kind == KindExternalID && ch.engine == MySQL && col.Class == classText && caseInsensitive(col.Collation) {
		ch.found = append(ch.found, Mismatch{Table: table, Column: id.Column, Line: id.Line, Warning: true,
			Problem: fmt.Sprintf("the identifier column's collation %s ignores case: Steward matches external ids exactly "+
				"(a binary comparison), but the database treats Alice and alice as one id; "+
				"consider a binary collation such as utf8mb4_bin", col.Collation)})
	}
	return nil
}

// strategy checks that the live column can take the column's strategy.
func (ch *checker) strategy(t *Table, col Column, live columnInfo) {
	mismatch := func(format string, args ...any) { ch.add(t.Name, col.Name, col.Line, format, args...) }
	switch col.Erase {
	case SetNull:
		if !live.Nullable {
			mismatch("erase null, but the column is NOT NULL")
		}
	case Mask:
		mask := col.MaskValue()
		switch {
		case !holdsText(live.Class):
			mismatch("erase mask writes text, but the column is %s", live.Type)
		case live.MaxChars > 0 && int64(utf8.RuneCountInString(mask)) > live.MaxChars:
			mismatch("the mask %q has %d characters, but the column holds at most %d", mask, utf8.RuneCountInString(mask), live.MaxChars)
		}
	case HashHMAC:
		switch {
		case !holdsText(live.Class):
			mismatch("hash_hmac writes 64 hex digits, but the column is %s", live.Type)
		case live.MaxChars > 0 && live.MaxChars < 64:
			mismatch("hash_hmac writes 64 hex digits, but the column holds at most %d characters", live.MaxChars)
		}
	}
}

func holdsText(c typeClass) bool { return c == classText || c == classAny }

// precise reports whether a class is precise enough to compare: the
// catalog's other types (numeric, uuid...) are left to the engine.
func precise(c typeClass) bool { return c == classText || c == classInteger }
