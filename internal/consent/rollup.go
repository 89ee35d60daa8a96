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

// purposeKey is one cell of consent_rollups_purpose.
type purposeKey struct {
	day                    int64
	purpose, noticeVersion string
}

// purposeCells sums cells over property, jurisdiction and source.
func purposeCells(keys []rollupKey, cells map[rollupKey]*rollupCounts) ([]purposeKey, map[purposeKey]*rollupCounts) {
	var out []purposeKey
	sums := map[purposeKey]*rollupCounts{}
	for _, k := range keys {
		pk := purposeKey{k.day, k.purpose, k.noticeVersion}
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

const upsertRollupSQLite = `INSERT INTO consent_rollups (day, purpose, property, jurisdiction, notice_version, source,
	grants, denials, withdrawals, objections) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
	ON CONFLICT (day, purpose, property, jurisdiction, notice_version, source) DO UPDATE SET
	grants = grants + excluded.grants, denials = denials + excluded.denials,
	withdrawals = withdrawals + excluded.withdrawals, objections = objections + excluded.objections`

const upsertPurposeRollupSQLite = `INSERT INTO consent_rollups_purpose (day, purpose, notice_version,
	grants, denials, withdrawals, objections) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
	ON CONFLICT (day, purpose, notice_version) DO UPDATE SET
	grants = grants + excluded.grants, denials = denials + excluded.denials,
	withdrawals = withdrawals + excluded.withdrawals, objections = objections + excluded.objections`

// rollupStatements are the two upserts, prepared once (see
// db.PrepareTxStatement): parsing them in every group was most of their
// cost.
type rollupStatements struct{ cells, purposes *sql.Stmt }

func prepareRollups(ctx context.Context, store *db.DB) (*rollupStatements, error) {
	cells, err := store.PrepareTxStatement(ctx, upsertRollupSQLite)
	if err != nil {
		return nil, fmt.Errorf("prepare rollups: %w", err)
	}
	purposes, err := store.PrepareTxStatement(ctx, upsertPurposeRollupSQLite)
	if err != nil {
		cells.Close()
		return nil, fmt.Errorf("prepare rollups: %w", err)
	}
	return &rollupStatements{cells, purposes}, nil
}

func (r *rollupStatements) close() {
	r.cells.Close()
	r.purposes.Close()
}

// addRollupsSQLite adds the inserted events' choices to the rollups in tx.
func (r *rollupStatements) add(ctx context.Context, tx *sql.Tx, events []Event, inserted []bool) error {
	keys, cells := rollupCells(events, inserted)
	if len(keys) == 0 {
		return nil
	}
	stmt := tx.StmtContext(ctx, r.cells)
	for _, k := range keys {
		c := cells[k]
		if _, err := stmt.ExecContext(ctx, k.day, k.purpose, k.property, k.jurisdiction, k.noticeVersion, k.source,
			c.grants, c.denials, c.withdrawals, c.objections); err != nil {
			return fmt.Errorf("add to rollups: %w", err)
		}
	}
	purposeKeys, sums := purposeCells(keys, cells)
	stmt = tx.StmtContext(ctx, r.purposes)
	for _, k := range purposeKeys {
		c := sums[k]
		if _, err := stmt.ExecContext(ctx, k.day, k.purpose, k.noticeVersion, c.grants, c.denials, c.withdrawals, c.objections); err != nil {
			return fmt.Errorf("add to rollups: %w", err)
		}
	}
	return nil
}

// rollupArrays are the cells of events as the column arrays
// insertPostgresSQL takes ($27 to $36, then $37 to $43 for
// consent_rollups_purpose).
func rollupArrays(events []Event) []any {
	keys, cells := rollupCells(events, nil)
	n := len(keys)
	days := make([]int64, n)
	purposes, properties, jurisdictions, notices, sources := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	grants, denials, withdrawals, objections := make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
	for i, k := range keys {
		c := cells[k]
		days[i], purposes[i], properties[i], jurisdictions[i], notices[i], sources[i] = k.day, k.purpose, k.property, k.jurisdiction, k.noticeVersion, k.source
		grants[i], denials[i], withdrawals[i], objections[i] = c.grants, c.denials, c.withdrawals, c.objections
	}
	purposeKeys, sums := purposeCells(keys, cells)
	m := len(purposeKeys)
	pDays, pPurposes, pNotices := make([]int64, m), make([]string, m), make([]string, m)
	pGrants, pDenials, pWithdrawals, pObjections := make([]int64, m), make([]int64, m), make([]int64, m), make([]int64, m)
	for i, k := range purposeKeys {
		c := sums[k]
		pDays[i], pPurposes[i], pNotices[i] = k.day, k.purpose, k.noticeVersion
		pGrants[i], pDenials[i], pWithdrawals[i], pObjections[i] = c.grants, c.denials, c.withdrawals, c.objections
	}
	return []any{days, purposes, properties, jurisdictions, notices, sources, grants, denials, withdrawals, objections,
		pDays, pPurposes, pNotices, pGrants, pDenials, pWithdrawals, pObjections}
}
