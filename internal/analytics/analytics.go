// Package analytics answers how people choose: the shares of accepted,
// refused, withdrawn and objected purposes over time and by purpose,
// property, jurisdiction, notice version and source, and how a new notice
// version moved them. It reads the rollups the ledger's append path keeps
// (table consent_rollups: counts per day and dimension; on PostgreSQL
// written in the append's own statement, on SQLite summed in memory and
// written about once a second, see package consent, which Query has
// write first, WithFlush), never the ledger itself, so a page costs the
// same whatever the ledger's size. Each
// aggregate reads the smallest rollup table that answers it
// (consent.RollupTables): consent_rollups_purpose (per day, purpose and
// notice version) when it filters and groups by none of property,
// jurisdiction and source, consent_rollups_property, _jurisdiction or
// _source when by one of them, the full cells only when by two or more.
// The rollups hold counts only: no subject, device or event id; and no
// figure of the report counts fewer than MinGroup choices (Counts.Small).
//
// Rebuild recomputes the rollups from the ledger (the CLI's `steward
// analytics rebuild`, the console's button for administrators); Query
// reads a Report for a Filter, which the SVG and CSV renderers draw.
//
//	svc := analytics.New(store, auditLog)
//	report, err := svc.Query(ctx, analytics.Filter{From: from, To: to, By: analytics.ByPurpose}, noticeOrder)
//	chart := analytics.SeriesChart(report.Series, analytics.Chart{ID: "series", Title: title, Desc: desc}, legend)
package analytics

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/db"
)

// Service reads and rebuilds the consent rollups of one store.
type Service struct {
	db    *db.DB
	audit audit.Recorder
	// minGroup is MinGroup but in the package's tests of exact figures.
	minGroup int64
	// flush, when set, writes the rollups the ledger holds in memory
	// before a query reads them (WithFlush).
	flush func(context.Context) error
}

// WithFlush has every Query call flush first, so that a report counts
// every event appended before it: consent.Service.FlushRollups, cheap when
// nothing is pending. It returns s.
func (s *Service) WithFlush(flush func(context.Context) error) *Service {
	s.flush = flush
	return s
}

// New returns the analytics of store; a rebuild is recorded in log, when
// set, under the actor of its context (audit.WithActor).
func New(store *db.DB, log audit.Recorder) *Service {
	return &Service{db: store, audit: log, minGroup: MinGroup}
}

// ActionRebuilt is the audit action of a rebuild.
const ActionRebuilt = "analytics.rebuilt"

// RebuildResult says what a rebuild wrote.
type RebuildResult struct {
	// Cells is the number of rollup rows, Events the choices they count.
	Cells, Events int64
	Took          time.Duration
}

// rebuildSQL sums the ledger's purpose-level choices as the append path
// does (consent.MicrosPerDay, outcome columns).
var rebuildSQL = fmt.Sprintf(`INSERT INTO consent_rollups (day, purpose, property, jurisdiction, notice_version, source,
	grants, denials, withdrawals, objections)
SELECT at / %[1]d, purpose, property, jurisdiction, notice_version, source,
	SUM(CASE WHEN action = 'grant' THEN 1 ELSE 0 END), SUM(CASE WHEN action = 'deny' THEN 1 ELSE 0 END),
	SUM(CASE WHEN action = 'withdraw' THEN 1 ELSE 0 END), SUM(CASE WHEN action = 'object' THEN 1 ELSE 0 END)
FROM consent_events WHERE vendor = '' AND action IN ('grant', 'deny', 'withdraw', 'object')
GROUP BY at / %[1]d, purpose, property, jurisdiction, notice_version, source`, consent.MicrosPerDay)

// deriveSQL sums consent_rollups into each other table of
// consent.RollupTables.
func deriveSQL() []string {
	var out []string
	for _, t := range consent.RollupTables[1:] {
		cols := strings.Join(t.Columns(), ", ")
		out = append(out, `INSERT INTO `+t.Name+` (`+cols+`, grants, denials, withdrawals, objections)
SELECT `+cols+`, SUM(grants), SUM(denials), SUM(withdrawals), SUM(objections) FROM consent_rollups GROUP BY `+cols)
	}
	return out
}

// DeriveRollups fills the rollup tables other than consent_rollups from
// it (they must be empty), as a rebuild does.
func DeriveRollups(ctx context.Context, q interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}) error {
	for _, stmt := range deriveSQL() {
		if _, err := q.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("sum the rollups: %w", err)
		}
	}
	return nil
}

// Rebuild recomputes the rollups from the ledger in one transaction. It
// holds the ledger head's lock throughout, as an append does, so no
// append can commit between the ledger it reads and the rollups it
// writes: appends wait for it, the time of one read of the whole ledger.
// It sets the rollups' cursor (consent_rollups_cursor) to the head it
// read on SQLite: the cells a running SQLite process holds in memory for
// events up to it are then dropped, not counted twice (package consent
// recomputes the events after the cursor from the ledger); to NULL, the
// head, on PostgreSQL, whose appends keep the rollups themselves.
func (s *Service) Rebuild(ctx context.Context) (RebuildResult, error) {
	start := time.Now()
	var res RebuildResult
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		lock := `UPDATE ledger_head SET seq = seq WHERE id = 1`
		if s.db.Dialect == db.Postgres {
			lock = `SELECT seq FROM ledger_head WHERE id = 1 FOR UPDATE`
		}
		if _, err := tx.ExecContext(ctx, lock); err != nil {
			return fmt.Errorf("lock ledger head: %w", err)
		}
		for _, table := range consent.RollupTables {
			if _, err := tx.ExecContext(ctx, `DELETE FROM `+table.Name); err != nil {
				return fmt.Errorf("clear rollups: %w", err)
			}
		}
		if _, err := tx.ExecContext(ctx, rebuildSQL); err != nil {
			return fmt.Errorf("sum the ledger: %w", err)
		}
		if err := DeriveRollups(ctx, tx); err != nil {
			return err
		}
		cursor := `UPDATE consent_rollups_cursor SET seq = (SELECT seq FROM ledger_head WHERE id = 1) WHERE id = 1`
		if s.db.Dialect == db.Postgres {
			cursor = `UPDATE consent_rollups_cursor SET seq = NULL WHERE id = 1`
		}
		if _, err := tx.ExecContext(ctx, cursor); err != nil {
			return fmt.Errorf("move the rollups' cursor: %w", err)
		}
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(grants + denials + withdrawals + objections), 0) FROM consent_rollups`).
			Scan(&res.Cells, &res.Events); err != nil {
			return fmt.Errorf("count rollups: %w", err)
		}
		if s.audit == nil {
			return nil
		}
		_, err := s.audit.AppendTx(ctx, tx, audit.Entry{Actor: audit.ActorFrom(ctx), Action: ActionRebuilt,
			Details: audit.MustDetails(map[string]any{"cells": res.Cells, "choices": res.Events})})
		return err
	})
	if err != nil {
		return RebuildResult{}, db.Classify(fmt.Errorf("rebuild rollups: %w", err))
	}
	res.Took = time.Since(start)
	return res, nil
}
