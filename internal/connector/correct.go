package connector

import (
	"context"
	"fmt"
	"strings"

	"github.com/steward-dev/steward/internal/errs"
)

// Change is a new value for a correctable column of the subject's rows.
type Change struct {
	Table, Column string
	Value         string
}

// Field names the change's column as a field: "table.column".
func (c Change) Field() string { return c.Table + "." + c.Column }

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
				b.name(ch.Column).write(" = ").param(ch.Value)
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
