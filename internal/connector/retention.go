package connector

import (
	"fmt"
	"slices"
	"strings"

	"github.com/steward-dev/steward/internal/retention/period"
)

// RetainErase is the retention strategy that applies the table's erasure
// (erase: delete_row, or each column's strategy) to the rows past their
// period, as an erasure request would to one subject's rows.
const RetainErase Strategy = "erase"

// RetainDelete is the retention strategy that deletes the rows past their
// period; a dataset file may write it delete or delete_row.
const RetainDelete Strategy = "delete"

// Retention is a table's retention section:
//
//	retention:
//	  column: created_at   # the timestamp the period runs from
//	  period: 400d         # d, w, m (calendar months) or y (calendar years)
//	  strategy: delete     # delete, mask or erase
//	  key: id              # the primary key the batches walk; id by default
//	  category: behavioural  # for the report and the catalog's retention
//	  purpose: analytics     # optional: the purpose the rows serve
//
// The rows whose column is older than the period are deleted (delete),
// have every declared column that erasure does not keep replaced by its
// mask (mask), or get the table's erasure (erase). The category's and the
// purpose's retention in the catalog, when longer, win over the period
// (internal/retention works that out).
type Retention struct {
	Column   string   `yaml:"column"`
	Period   string   `yaml:"period"`
	Strategy Strategy `yaml:"strategy"`
	Key      string   `yaml:"key"`
	Category string   `yaml:"category"`
	Purpose  string   `yaml:"purpose"`

	// Parsed is Period, read.
	Parsed period.Period `yaml:"-"`
	Line   int           `yaml:"-"`
}

// KeyColumn returns the column the batches walk: Key, or "id".
func (r *Retention) KeyColumn() string {
	if r.Key == "" {
		return "id"
	}
	return r.Key
}

// ReportCategory is the category a table's retention counts under: the
// section's, else the first declared column's.
func (t *Table) ReportCategory() string {
	if t.Retention != nil && t.Retention.Category != "" {
		return t.Retention.Category
	}
	if len(t.Columns) > 0 {
		return t.Columns[0].Category
	}
	return "other"
}

// HasRetention reports whether any table of ds declares retention.
func (ds *Dataset) HasRetention() bool {
	for _, t := range ds.Tables {
		if t.Retention != nil {
			return true
		}
	}
	return false
}

func (v *validator) retention(field string, t *Table) {
	r := t.Retention
	r.Line = v.line(field)
	where := fmt.Sprintf("table %s: retention", t.Name)
	if r.Column == "" {
		v.addf(field+".column", "%s: column: name the timestamp column the period runs from", where)
	} else {
		v.name(field+".column", where+" column", r.Column)
	}
	if r.Key != "" {
		v.name(field+".key", where+" key", r.Key)
	}
	if r.Period == "" {
		v.addf(field+".period", "%s: period: say how long rows are kept (400d, 18m, 2y)", where)
	} else if p, err := period.Parse(r.Period); err != nil {
		v.addf(field+".period", "%s: %v", where, err)
	} else {
		r.Parsed = p
	}
	switch r.Strategy {
	case RetainDelete, DeleteRow:
		r.Strategy = RetainDelete
	case Mask:
		if len(maskedColumns(t)) == 0 {
			v.addf(field+".strategy", "%s: strategy mask: no declared column would change (every one is kept); use delete", where)
		}
	case RetainErase:
		if t.Erase != DeleteRow {
			for _, c := range t.Columns {
				if c.Erase == HashHMAC {
					v.addf(field+".strategy", "%s: strategy erase: column %s uses hash_hmac, which retention does not apply row by row in bulk; "+
						"use null or mask on that column, or strategy delete or mask", where, c.Name)
				}
			}
		}
	case "":
		v.addf(field+".strategy", "%s: strategy: give delete, mask or erase", where)
	default:
		v.addf(field+".strategy", "%s: strategy %q: want delete, mask or erase", where, r.Strategy)
	}
	switch {
	case r.Category == "":
	case !slices.Contains(Categories, r.Category):
		v.addf(field+".category", "%s: category %q: want one of %s", where, r.Category, strings.Join(Categories, ", "))
	}
	if r.Purpose != "" && !connectorName.MatchString(r.Purpose) {
		v.addf(field+".purpose", "%s: purpose %q: use the purpose's key (lowercase letters, digits, _ and -)", where, r.Purpose)
	}
}

// maskedColumns are the columns strategy mask overwrites: every declared
// column that erasure does not keep.
func maskedColumns(t *Table) []Column {
	var out []Column
	for _, c := range t.Columns {
		if c.Erase != Keep {
			out = append(out, c)
		}
	}
	return out
}
