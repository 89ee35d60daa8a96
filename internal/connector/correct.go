package connector

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/steward-dev/steward/internal/errs"
)

// Change is a new value for a correctable column of the subject's rows.
type Change struct {
	Table, Column string
	Value         string

	typed any // Value as the column takes it (fit)
}

// Field names the change's column as a field: "table.column".
func (c Change) Field() string { return c.Table + "." + c.Column }

// fit checks each change's value against its live column, so that a value
// the column cannot hold is refused (code invalid, the field named) rather
// than failing the statement, and returns the changes with the values
// typed for it: an integer column gets an integer, a text column at most
// its declared length.
func (c *Conn) fit(ctx context.Context, q querier, t *Table, changes []Change) ([]Change, error) {
	info, err := describe(ctx, q, c.ds.Engine, t.Name)
	if err != nil {
		return nil, fmt.Errorf("connector %s: correct: %w", c.ds.Name, err)
	}
	if info == nil {
		return nil, fmt.Errorf("connector %s: correct: table %s: no such table", c.ds.Name, t.Name)
	}
	problems := map[string]string{}
	out := make([]Change, len(changes))
	for i, ch := range changes {
		out[i], out[i].typed = ch, ch.Value
		col, ok := info.Columns[ch.Column]
		if !ok {
			return nil, fmt.Errorf("connector %s: correct: table %s: no column %s", c.ds.Name, t.Name, ch.Column)
		}
		switch {
		case col.Class == classInteger:
			n, err := strconv.ParseInt(strings.TrimSpace(ch.Value), 10, 64)
			if err != nil {
				problems[ch.Field()] = "must be a whole number"
				continue
			}
			out[i].typed = n
		case col.Class == classBinary:
			problems[ch.Field()] = "holds binary data, which cannot be corrected with text"
		case col.MaxChars > 0 && int64(utf8.RuneCountInString(ch.Value)) > col.MaxChars:
			problems[ch.Field()] = fmt.Sprintf("must be at most %d characters", col.MaxChars)
		}
	}
	if len(problems) > 0 {
		return nil, errs.Fields(problems)
	}
	return out, nil
}

// CorrectStep is the action of a correction, in reports.
const CorrectStep Strategy = "correct"

// Correctable reports whether column of table is declared correctable,
// and whether it corrects without approval.
func (ds *Dataset) Correctable(table, column string) (correctable, auto bool) {
	for _, t := range ds.Tables {
		if t.Name != table {
			continue
		}
		for _, c := range t.Columns {
			if c.Name == column {
				return c.Correctable, c.AutoCorrect
			}
		}
	}
	return false, false
}

// Correct writes the changes to the subject's rows, in one transaction:
// per table in file order, one parameterised UPDATE of its changed columns
// (the table's correct strategy, Update). Values are bound, never written
// into SQL text. A change to a column that the dataset does not declare
// correctable is refused (code invalid, the field "table.column" named)
// before anything is written. Any failure rolls the whole database back;
// correcting twice with the same values changes nothing the second time.
func (c *Conn) Correct(ctx context.Context, subject Identifiers, changes []Change) (*Report, error) {
	problems := map[string]string{}
	for _, ch := range changes {
		if ok, _ := c.ds.Correctable(ch.Table, ch.Column); !ok {
			problems[ch.Field()] = fmt.Sprintf("connector %s does not let %s be corrected", c.ds.Name, ch.Field())
		}
	}
	if len(problems) > 0 {
		return nil, errs.Fields(problems)
	}
	report := &Report{Connector: c.ds.Name}
	tx, err := c.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("connector %s: correct: begin: %w", c.ds.Name, err)
	}
	defer tx.Rollback() // after Commit, a no-op
	for i := range c.ds.Tables {
		t := &c.ds.Tables[i]
		var mine []Change
		for _, ch := range changes {
			if ch.Table == t.Name {
				mine = append(mine, ch)
			}
		}
		if len(mine) == 0 {
			continue
		}
		values, err := matchValues(ctx, tx, c.ds.Engine, t, subject)
		if err != nil {
			return nil, fmt.Errorf("connector %s: correct: %w", c.ds.Name, err)
		}
		if mine, err = c.fit(ctx, tx, t, mine); err != nil {
			return nil, err
		}
		columns := make([]string, len(mine))
		for j, ch := range mine {
			columns[j] = ch.Column
		}
		step := Step{Table: t.Name, Column: strings.Join(columns, ","), Action: CorrectStep}
		if len(values) > 0 {
			b := &builder{engine: c.ds.Engine}
			b.write("UPDATE ").name(t.Name).write(" SET ")
			for j, ch := range mine {
				if j > 0 {
					b.write(", ")
				}
				b.name(ch.Column).write(" = ").param(ch.typed)
			}
			b.write(" WHERE ")
			where(b, t, values)
			res, err := tx.ExecContext(ctx, b.String(), b.args...)
			if err != nil {
				return nil, fmt.Errorf("connector %s: correct (rolled back): table %s: %w", c.ds.Name, t.Name, err)
			}
			step.Rows, _ = res.RowsAffected()
		}
		report.Steps = append(report.Steps, step)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("connector %s: correct: commit: %w", c.ds.Name, err)
	}
	return report, nil
}
