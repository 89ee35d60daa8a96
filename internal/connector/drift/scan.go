package drift

import (
	"context"
	"fmt"
	"time"

	"github.com/steward-dev/steward/internal/connector"
)

// Evidence says what made a column look like personal data.
type Evidence string

// The kinds of evidence.
const (
	ByName   Evidence = "name"
	ByValues Evidence = "values"
)

// Sampling bounds: a few rows, read with a deadline, so that a scan costs
// the company's database next to nothing.
const (
	SampleRows    = 20
	SampleTimeout = 2 * time.Second
)

// Source is a connected database (*connector.Conn).
type Source interface {
	Dataset() *connector.Dataset
	Columns(ctx context.Context) ([]connector.LiveColumn, error)
	SampleColumn(ctx context.Context, table, column string, limit int, timeout time.Duration) ([]string, error)
}

var _ Source = (*connector.Conn)(nil)

// Candidate is an undeclared column that looks like personal data.
type Candidate struct {
	Table, Column string
	Category      string
	Evidence      Evidence
	// Ratio is the share of sampled values of the recognised kind (by
	// values only; 0 by name).
	Ratio float64
}

// ColumnRef names a column of a system.
type ColumnRef struct{ Table, Column string }

// Result is one scan of one system: the undeclared columns that look like
// personal data, every live column (so that findings whose column is gone
// close), and the columns the dataset file declares (so that findings it
// now declares close).
type Result struct {
	System     string
	Candidates []Candidate
	Live       map[ColumnRef]bool
	Declared   map[ColumnRef]bool
	// Unsampled counts the text columns whose sample failed (a timeout,
	// a permission): judged by name only.
	Unsampled int
}

// ScanOptions set how a scan looks.
type ScanOptions struct {
	// Sample reads up to SampleRows values of each undeclared text column
	// whose name says nothing, and checks what they are. The values are
	// never kept, logged or sent.
	Sample bool
	Now    func() time.Time
}

// Scan reads the schema of src's database, read-only, and returns the
// undeclared columns that look like personal data: by name, and with
// opts.Sample by a sample of values.
func Scan(ctx context.Context, src Source, opts ScanOptions) (Result, error) {
	ds := src.Dataset()
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	res := Result{System: ds.Name, Live: map[ColumnRef]bool{}, Declared: DeclaredColumns(ds)}
	cols, err := src.Columns(ctx)
	if err != nil {
		return Result{}, err
	}
	for _, col := range cols {
		ref := ColumnRef{col.Table, col.Column}
		res.Live[ref] = true
		if res.Declared[ref] || col.Boolean {
			continue
		}
		if category := ClassifyName(col.Column); category != "" {
			res.Candidates = append(res.Candidates, Candidate{Table: col.Table, Column: col.Column, Category: category, Evidence: ByName})
			continue
		}
		if !opts.Sample || !col.Text {
			continue
		}
		values, err := src.SampleColumn(ctx, col.Table, col.Column, SampleRows, SampleTimeout)
		if err != nil {
			if ctx.Err() != nil {
				return Result{}, fmt.Errorf("drift: %w", err)
			}
			// A slow or unreadable column is left to its name; the scan
			// goes on and says how many it could not sample.
			res.Unsampled++
			continue
		}
		match, ok := ClassifyValues(values, now())
		clear(values) // nothing of them outlives the check
		if ok {
			res.Candidates = append(res.Candidates, Candidate{Table: col.Table, Column: col.Column, Category: match.Category,
				Evidence: ByValues, Ratio: match.Ratio})
		}
	}
	return res, nil
}

// DeclaredColumns returns the columns ds names: its personal data columns, and
// the identifier and join columns through which Steward finds a
// customer's rows.
func DeclaredColumns(ds *connector.Dataset) map[ColumnRef]bool {
	out := map[ColumnRef]bool{}
	for _, t := range ds.Tables {
		for _, c := range t.Columns {
			out[ColumnRef{t.Name, c.Name}] = true
		}
		table := t.Name
		for _, h := range t.Identifier.Via {
			out[ColumnRef{table, h.Column}] = true
			next, column := h.Target()
			out[ColumnRef{next, column}] = true
			table = next
		}
		out[ColumnRef{table, t.Identifier.Column}] = true
	}
	return out
}
