// The analytics rollups of the ledger: counts of purpose-level choices per
// day and dimension (table consent_rollups, and the same summed over some
// dimensions, RollupTables; read by package analytics).
//
// On PostgreSQL, where several replicas append, the append statement
// itself adds a group's cells (summed in memory) to every table, with the
// events or not at all (rollupCTEs). On SQLite, one process writes: the
// commit loop sums the committed groups' cells in memory (rollupBuffer)
// and writes them, all tables, about once a second, when it goes idle, on
// Close and when a reader asks (Service.FlushRollups), in a transaction
// that also moves consent_rollups_cursor to the ledger sequence the
// rollups are complete up to. Open folds the ledger's events after the
// cursor, so that a crash loses nothing: the tail is recomputed from the
// ledger, and never counted twice. A NULL cursor means the rollups are
// complete up to the ledger head (PostgreSQL's, and SQLite's until it
// opens).

package consent

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

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
// source). The append path keeps each (see the file's comment); package
// analytics rebuilds them and reads the smallest that answers a
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

// rollupSet is cells of consent_rollups and their counts, in first-seen
// order.
type rollupSet struct {
	keys  []rollupKey
	cells map[rollupKey]*rollupCounts
}

func newRollupSet() *rollupSet { return &rollupSet{cells: map[rollupKey]*rollupCounts{}} }

// count counts one purpose-level choice (action) in cell k.
func (r *rollupSet) count(k rollupKey, action Action) {
	c, ok := r.cells[k]
	if !ok {
		c = &rollupCounts{}
		r.cells[k] = c
		r.keys = append(r.keys, k)
	}
	switch action {
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

// addEvents counts the purpose-level choices among events (those for
// which counted is nil or true).
func (r *rollupSet) addEvents(events []Event, counted []bool) {
	for i := range events {
		e := &events[i]
		if (counted != nil && !counted[i]) || e.Vendor != "" {
			continue
		}
		r.count(rollupKey{micros(e.At) / MicrosPerDay, e.Purpose, e.Property, e.Jurisdiction, e.NoticeVersion, string(e.Source)}, e.Action)
	}
}

// rollupCells sums the purpose-level choices among events (those for which
// counted is nil or true) by cell, in first-seen order.
func rollupCells(events []Event, counted []bool) ([]rollupKey, map[rollupKey]*rollupCounts) {
	r := newRollupSet()
	r.addEvents(events, counted)
	return r.keys, r.cells
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

// write adds set's cells to every table of RollupTables in tx: summed per
// table, one upsert per distinct cell; with r nil (PostgreSQL's fold on
// open, rare), unprepared.
func (r *rollupStatements) write(ctx context.Context, tx *sql.Tx, set *rollupSet) error {
	if len(set.keys) == 0 {
		return nil
	}
	for i, t := range RollupTables {
		tkeys, sums := set.keys, set.cells
		if i > 0 {
			tkeys, sums = t.projectCells(set.keys, set.cells)
		}
		var stmt *sql.Stmt
		if r != nil {
			stmt = tx.StmtContext(ctx, r.stmts[i])
		}
		query := t.upsertSQL()
		for _, k := range tkeys {
			c := sums[k]
			args := append(t.values(k), c.grants, c.denials, c.withdrawals, c.objections)
			var err error
			if stmt != nil {
				_, err = stmt.ExecContext(ctx, args...)
			} else {
				_, err = tx.ExecContext(ctx, query, args...)
			}
			if err != nil {
				return fmt.Errorf("add to %s: %w", t.Name, err)
			}
		}
	}
	return nil
}

// Deferred rollups on SQLite: how long the commit loop keeps cells in
// memory at most while appends keep coming, and how long it waits for
// the next append before it writes them anyway.
const (
	rollupEvery = time.Second
	rollupIdle  = 100 * time.Millisecond
)

// rollupBuffer is the cells the SQLite commit loop has summed and not
// written yet. The commit loop is its only user but for tests that write a
// group themselves (WriteGroupForTest) and pending, which FlushRollups
// reads: mu is never contended in service.
type rollupBuffer struct {
	stmts *rollupStatements
	mu    sync.Mutex
	set   *rollupSet
	// from is the cursor as this service last wrote it: the rollups in
	// the store are complete up to ledger sequence from. The cells in set
	// count the events from+1 to to, unless gap: a group did not start
	// where the one before it ended (another writer in between), and the
	// next write recomputes from the ledger instead.
	from, to int64
	gap      bool
	// since is when the first pending group committed.
	since   time.Time
	pending atomic.Bool
	// skipClose drops the pending cells on Close, as a crash would
	// (CrashForTest).
	skipClose atomic.Bool
}

// committed adds a committed group's inserted events to the buffer: the
// ledger head moved from start to end.
func (b *rollupBuffer) committed(start, end int64, events []Event, inserted []bool) {
	if end == start {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if start != b.to {
		b.gap = true
	}
	b.to = end
	if !b.gap {
		b.set.addEvents(events, inserted)
	}
	if !b.pending.Load() {
		b.since = time.Now()
		b.pending.Store(true)
	}
}

// skipped notes a group committed without its cells (SetRollupsForTest
// off): the next write recomputes them from the ledger.
func (b *rollupBuffer) skipped(start, end int64) {
	if end != start {
		b.mu.Lock()
		b.gap = true
		b.mu.Unlock()
	}
}

// due reports whether the cells pending have waited rollupEvery.
func (b *rollupBuffer) due() bool {
	if !b.pending.Load() {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return time.Since(b.since) >= rollupEvery
}

// errNoRollupCursor says the store has no cursor row (migration 0048).
var errNoRollupCursor = errors.New("consent_rollups_cursor has no row")

// flushRollups writes the pending cells, or, when the store's cursor is
// not where this service left it (a rebuild, a crash, another writer),
// the ledger's events after the cursor summed afresh, and moves the cursor
// to the ledger head, in one transaction holding the ledger's write lock.
// It is the commit loop's (and Open's, before the loop starts).
func (s *Service) flushRollups(ctx context.Context) error {
	b := s.rollups
	b.mu.Lock()
	defer b.mu.Unlock()
	var head int64
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		// Updating the head first takes SQLite's write lock before
		// anything is read (as insertSQLite).
		if err := tx.QueryRowContext(ctx, `UPDATE ledger_head SET seq = seq WHERE id = 1 RETURNING seq`).Scan(&head); err != nil {
			return fmt.Errorf("read ledger head: %w", err)
		}
		cursor, err := readRollupCursor(ctx, tx, head)
		if err != nil {
			return err
		}
		foldFrom := cursor
		if cursor == b.from && !b.gap && b.to <= head {
			if err := b.stmts.write(ctx, tx, b.set); err != nil {
				return err
			}
			foldFrom = b.to
		}
		if foldFrom < head {
			if err := foldLedger(ctx, tx, b.stmts, foldFrom, head); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE consent_rollups_cursor SET seq = $1 WHERE id = 1`, head); err != nil {
			return fmt.Errorf("move rollup cursor: %w", err)
		}
		return nil
	})
	if err != nil {
		return db.Classify(fmt.Errorf("write rollups: %w", err))
	}
	b.set, b.from, b.to, b.gap = newRollupSet(), head, head, false
	b.pending.Store(false)
	return nil
}

// readRollupCursor reads the ledger sequence the rollups are complete up
// to: head when it is NULL.
func readRollupCursor(ctx context.Context, q db.Querier, head int64) (int64, error) {
	var cursor sql.NullInt64
	if err := q.QueryRowContext(ctx, `SELECT seq FROM consent_rollups_cursor WHERE id = 1`).Scan(&cursor); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			err = errNoRollupCursor
		}
		return 0, fmt.Errorf("read rollup cursor: %w", err)
	}
	if !cursor.Valid {
		return head, nil
	}
	return cursor.Int64, nil
}

// foldLedger adds the ledger's purpose-level choices of sequence numbers
// after to upto to the rollups in tx, summed in memory.
func foldLedger(ctx context.Context, tx *sql.Tx, stmts *rollupStatements, after, upto int64) error {
	rows, err := tx.QueryContext(ctx, `SELECT at, purpose, property, jurisdiction, notice_version, source, action
		FROM consent_events WHERE seq > $1 AND seq <= $2 AND vendor = ''`, after, upto)
	if err != nil {
		return fmt.Errorf("read the ledger's tail: %w", err)
	}
	defer rows.Close()
	set := newRollupSet()
	for rows.Next() {
		var k rollupKey
		var at int64
		var action string
		if err := rows.Scan(&at, &k.purpose, &k.property, &k.jurisdiction, &k.noticeVersion, &k.source, &action); err != nil {
			return fmt.Errorf("read the ledger's tail: %w", err)
		}
		k.day = at / MicrosPerDay
		set.count(k, Action(action))
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read the ledger's tail: %w", err)
	}
	return stmts.write(ctx, tx, set)
}

// openRollups brings the rollups up to the ledger head when Open starts:
// the events after the cursor (appended by a process that stopped before
// it wrote their cells) are summed from the ledger. On SQLite the cursor
// then holds the head and the commit loop's buffer starts there; on
// PostgreSQL, whose appends keep the rollups, it is set back to NULL (it
// is not, unless a store written by SQLite was restored there).
func (s *Service) openRollups(ctx context.Context) error {
	if s.db.Dialect == db.SQLite {
		s.rollups.from = -1 // unknown: fold from the store's cursor
		return s.flushRollups(ctx)
	}
	var cursor sql.NullInt64
	if err := s.db.QueryRowContext(ctx, `SELECT seq FROM consent_rollups_cursor WHERE id = 1`).Scan(&cursor); err != nil {
		return db.Classify(fmt.Errorf("read rollup cursor: %w", err))
	}
	if !cursor.Valid {
		return nil
	}
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		var head int64
		if err := tx.QueryRowContext(ctx, `SELECT seq FROM ledger_head WHERE id = 1 FOR UPDATE`).Scan(&head); err != nil {
			return fmt.Errorf("lock ledger head: %w", err)
		}
		from, err := readRollupCursor(ctx, tx, head)
		if err != nil {
			return err
		}
		if from < head {
			if err := foldLedger(ctx, tx, nil, from, head); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, `UPDATE consent_rollups_cursor SET seq = NULL WHERE id = 1`)
		return err
	})
	if err != nil {
		return db.Classify(fmt.Errorf("fold the ledger into the rollups: %w", err))
	}
	return nil
}

// FlushRollups writes the analytics rollups the SQLite commit loop holds
// in memory, so that readers that need exact figures (the analytics page,
// tests) see every event appended before the call. Nothing to do, and no
// wait, when none are pending or on PostgreSQL.
func (s *Service) FlushRollups(ctx context.Context) error {
	if s.rollups == nil || !s.rollups.pending.Load() {
		return nil
	}
	reply := make(chan error, 1)
	select {
	case s.flushes <- reply:
	case <-s.loopDone:
		return nil // Close wrote them
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// writeRollups is the commit loop's flush: errors are logged and the cells
// kept for the next attempt (a crash meanwhile loses nothing, see
// openRollups).
func (s *Service) writeRollups() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := s.flushRollups(ctx)
	if err != nil {
		// Try again after rollupEvery, not after every group.
		s.rollups.mu.Lock()
		s.rollups.since = time.Now()
		s.rollups.mu.Unlock()
		s.log.Warn("write analytics rollups", "err", err)
	}
	return err
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
