// Package analytics answers how people choose: the shares of accepted,
// refused, withdrawn and objected purposes over time and by purpose,
// property, jurisdiction, notice version and source, and how a new notice
// version moved them. It reads the rollups the ledger's append path keeps
// (table consent_rollups: counts per day and dimension, written in the
// transaction of the events, see package consent), never the ledger
// itself, so a page costs the same whatever the ledger's size; a filter
// on none of property, jurisdiction and source, grouped by purpose or
// notice version, reads consent_rollups_purpose, the same counts per day,
// purpose and notice version only. The rollups hold counts only: no
// subject, device or event id.
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
	"time"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/db"
)

// Service reads and rebuilds the consent rollups of one store.
type Service struct {
	db    *db.DB
	audit audit.Recorder
}

// New returns the analytics of store; a rebuild is recorded in log, when
// set, under the actor of its context (audit.WithActor).
func New(store *db.DB, log audit.Recorder) *Service { return &Service{db: store, audit: log} }

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

const rebuildPurposeSQL = `INSERT INTO consent_rollups_purpose (day, purpose, notice_version, grants, denials, withdrawals, objections)
SELECT day, purpose, notice_version, SUM(grants), SUM(denials), SUM(withdrawals), SUM(objections)
FROM consent_rollups GROUP BY day, purpose, notice_version`

// Rebuild recomputes the rollups from the ledger in one transaction. It
// holds the ledger head's lock throughout, as an append does, so no
// append can commit between the ledger it reads and the rollups it
// writes: appends wait for it, the time of one read of the whole ledger.
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
		for _, table := range []string{"consent_rollups", "consent_rollups_purpose"} {
			if _, err := tx.ExecContext(ctx, `DELETE FROM `+table); err != nil {
				return fmt.Errorf("clear rollups: %w", err)
			}
		}
		if _, err := tx.ExecContext(ctx, rebuildSQL); err != nil {
			return fmt.Errorf("sum the ledger: %w", err)
		}
		if _, err := tx.ExecContext(ctx, rebuildPurposeSQL); err != nil {
			return fmt.Errorf("sum the rollups by purpose: %w", err)
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
