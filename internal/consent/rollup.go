// The analytics rollups the append path keeps: counts of purpose-level
// choices per day and dimension (table consent_rollups, and
// consent_rollups_purpose, the same per day, purpose and notice version
// only; read by package analytics). A group of events is summed in memory first and written as
// one upsert per distinct cell, in the transaction of the events
// themselves, so the counts never drift from the ledger.

package consent

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/steward-dev/steward/internal/db"
)

// MicrosPerDay divides an event time (Unix microseconds) into the UTC day
// its rollup cell counts it in; the rebuild in package analytics divides by
// the same.
const MicrosPerDay = 86_400_000_000

// rollupKey is one cell of consent_rollups.
type rollupKey struct {
	day                                                    int64
	purpose, property, jurisdiction, noticeVersion, source string
}

// rollupCounts are a cell's counts by outcome.
type rollupCounts struct{ grants, denials, withdrawals, objections int64 }

func (c *rollupCounts) add(o *rollupCounts) {
	c.grants += o.grants
	c.denials += o.denials
	c.withdrawals += o.withdrawals
	c.objections += o.objections
}

// RollupTable is one of the rollup tables: counts per day, purpose and
// notice version and the dimensions in Dims (of property, jurisdiction and
// source). The append path keeps each in the transaction of the events;
// package analytics rebuilds them and reads the smallest that answers a
// view.
type RollupTable struct {
	Name string
	Dims []string
}

// Columns are the table's key columns.
func (t RollupTable) Columns() []string {
	return append([]string{"day", "purpose", "notice_version"}, t.Dims...)
}

// Has reports whether the table keeps dimension dim.
func (t RollupTable) Has(dim string) bool { return slices.Contains(t.Dims, dim) }

// RollupTables are the rollup tables, the full cells first: then the
// counts per day, purpose and version alone, and with one of property,
// jurisdiction and source each (migration 0047). A view filtering or
// grouping by one of them reads that table, a few percent of the full
// cells; only views on two or more read the full cells.
var RollupTables = []RollupTable{
	{"consent_rollups", []string{"property", "jurisdiction", "source"}},
	{"consent_rollups_purpose", nil},
	{"consent_rollups_property", []string{"property"}},
	{"consent_rollups_jurisdiction", []string{"jurisdiction"}},
	{"consent_rollups_source", []string{"source"}},
}

// project is k with the dimensions t does not keep left empty.
func (t RollupTable) project(k rollupKey) rollupKey {
	if !t.Has("property") {
		k.property = ""
	}
	if !t.Has("jurisdiction") {
		k.jurisdiction = ""
	}
	if !t.Has("source") {
		k.source = ""
	}
	return k
}

// values are k's key columns in t.Columns' order.
func (t RollupTable) values(k rollupKey) []any {
	v := []any{k.day, k.purpose, k.noticeVersion}
	for _, d := range t.Dims {
		switch d {
		case "property":
			v = append(v, k.property)
		case "jurisdiction":
			v = append(v, k.jurisdiction)
		case "source":
			v = append(v, k.source)
		}
	}
	return v
}

// projectCells sums cells into t's cells, in first-seen order.
func (t RollupTable) projectCells(keys []rollupKey, cells map[rollupKey]*rollupCounts) ([]rollupKey, map[rollupKey]*rollupCounts) {
	var out []rollupKey
	sums := make(map[rollupKey]*rollupCounts, len(keys))
	for _, k := range keys {
		pk := t.project(k)
		c, ok := sums[pk]
		if !ok {
			c = &rollupCounts{}
			sums[pk] = c
			out = append(out, pk)
		}
		c.add(cells[k])
	}
	return out, sums
}

// rollupCells sums the purpose-level choices among events (those for which
// counted is nil or true) by cell, in first-seen order.
func rollupCells(events []Event, counted []bool) ([]rollupKey, map[rollupKey]*rollupCounts) {
	var keys []rollupKey
	cells := map[rollupKey]*rollupCounts{}
	for i := range events {
		e := &events[i]
		if (counted != nil && !counted[i]) || e.Vendor != "" {
			continue
		}
		k := rollupKey{micros(e.At) / MicrosPerDay, e.Purpose, e.Property, e.Jurisdiction, e.NoticeVersion, string(e.Source)}
		c, ok := cells[k]
		if !ok {
			c = &rollupCounts{}
			cells[k] = c
			keys = append(keys, k)
		}
		switch e.Action {
		case ActionGrant:
			c.grants++
		case ActionDeny:
			c.denials++
		case ActionWithdraw:
			c.withdrawals++
		case ActionObject:
			c.objections++
		}
	}
	return keys, cells
}

// upsertSQL adds one cell's counts to t ($1 to $n: t.Columns, then the
// four outcomes).
func (t RollupTable) upsertSQL() string {
	cols := t.Columns()
	params := make([]string, len(cols)+4)
	for i := range params {
		params[i] = fmt.Sprintf("$%d", i+1)
	}
	return `INSERT INTO ` + t.Name + ` (` + strings.Join(cols, ", ") + `, grants, denials, withdrawals, objections)
	VALUES (` + strings.Join(params, ", ") + `)
	ON CONFLICT (` + strings.Join(cols, ", ") + `) DO UPDATE SET
	grants = ` + t.Name + `.grants + excluded.grants, denials = ` + t.Name + `.denials + excluded.denials,
	withdrawals = ` + t.Name + `.withdrawals + excluded.withdrawals, objections = ` + t.Name + `.objections + excluded.objections`
}

// rollupStatements are the upserts, one per table of RollupTables,
// prepared once (see db.PrepareTxStatement): parsing them in every group
// was most of their cost.
type rollupStatements struct{ stmts []*sql.Stmt }

func prepareRollups(ctx context.Context, store *db.DB) (*rollupStatements, error) {
	r := &rollupStatements{}
	for _, t := range RollupTables {
		stmt, err := store.PrepareTxStatement(ctx, t.upsertSQL())
		if err != nil {
			r.close()
			return nil, fmt.Errorf("prepare rollups: %w", err)
		}
		r.stmts = append(r.stmts, stmt)
	}
	return r, nil
}

func (r *rollupStatements) close() {
	for _, s := range r.stmts {
		s.Close()
	}
}

// add adds the inserted events' choices to the rollups in tx: summed in
// memory per table, one upsert per distinct cell.
func (r *rollupStatements) add(ctx context.Context, tx *sql.Tx, events []Event, inserted []bool) error {
	keys, cells := rollupCells(events, inserted)
	if len(keys) == 0 {
		return nil
	}
	for i, t := range RollupTables {
		tkeys, sums := keys, cells
		if i > 0 {
			tkeys, sums = t.projectCells(keys, cells)
		}
		stmt := tx.StmtContext(ctx, r.stmts[i])
		for _, k := range tkeys {
			c := sums[k]
			if _, err := stmt.ExecContext(ctx, append(t.values(k), c.grants, c.denials, c.withdrawals, c.objections)...); err != nil {
				return fmt.Errorf("add to %s: %w", t.Name, err)
			}
		}
	}
	return nil
}

// rollupCTEs are the WITH clauses of insertPostgresSQL that add to each
// table of RollupTables: the group's cells (summed in memory, column
// arrays $first to $first+9, rollupArrays), taken only when the head moved,
// and summed by the server into each table, one upsert per distinct cell.
func rollupCTEs(first int) string {
	full := RollupTables[0].Columns()
	all := strings.Join(full, ", ") + ", grants, denials, withdrawals, objections"
	arrays := make([]string, 0, len(full)+4)
	for i, c := range append(full, "grants", "denials", "withdrawals", "objections") {
		typ := "text"
		if c == "day" || i >= len(full) {
			typ = "bigint"
		}
		arrays = append(arrays, fmt.Sprintf("$%d::%s[]", first+i, typ))
	}
	var b strings.Builder
	fmt.Fprintf(&b, `,
rollup_cells AS (SELECT r.* FROM head, unnest(%s) AS r(%s))`, strings.Join(arrays, ", "), all)
	for i, t := range RollupTables {
		cols := strings.Join(t.Columns(), ", ")
		fmt.Fprintf(&b, `,
rollups%d AS (INSERT INTO %s (%s, grants, denials, withdrawals, objections)
	SELECT %[3]s, SUM(grants), SUM(denials), SUM(withdrawals), SUM(objections) FROM rollup_cells GROUP BY %[3]s
	ON CONFLICT (%[3]s) DO UPDATE SET
		grants = %[2]s.grants + EXCLUDED.grants, denials = %[2]s.denials + EXCLUDED.denials,
		withdrawals = %[2]s.withdrawals + EXCLUDED.withdrawals, objections = %[2]s.objections + EXCLUDED.objections)`,
			i, t.Name, cols)
	}
	return b.String()
}

// rollupArrays are the cells of events (consent_rollups' cells) as the
// column arrays rollupCTEs take, in RollupTables[0].Columns' order and the
// four outcomes.
func rollupArrays(events []Event) []any {
	keys, cells := rollupCells(events, nil)
	n := len(keys)
	days := make([]int64, n)
	purposes, notices, properties, jurisdictions, sources := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	grants, denials, withdrawals, objections := make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
	for i, k := range keys {
		c := cells[k]
		days[i], purposes[i], notices[i], properties[i], jurisdictions[i], sources[i] = k.day, k.purpose, k.noticeVersion, k.property, k.jurisdiction, k.source
		grants[i], denials[i], withdrawals[i], objections[i] = c.grants, c.denials, c.withdrawals, c.objections
	}
	return []any{days, purposes, notices, properties, jurisdictions, sources, grants, denials, withdrawals, objections}
}
