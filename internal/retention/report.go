package retention

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/steward-dev/steward/internal/db"
)

// The systems a report names besides the connectors.
const (
	SystemVault    = "vault"
	SystemRequests = "requests"
	SystemArchives = "archives"
	SystemLedger   = "ledger"
)

// Report is what one run did, or would do: counts per system, table and
// category. It never holds a value, a subject or an error's text (which can
// quote a value): a failed part is named, and its error goes to the caller.
type Report struct {
	ID         string    `json:"id"`
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at"`
	DryRun     bool      `json:"dry_run"`
	// Held is how many subjects were under a legal hold, and kept.
	Held  int    `json:"held"`
	Lines []Line `json:"lines"`
	// Failed names the systems whose retention failed; the others ran.
	Failed []string `json:"failed,omitempty"`
}

// Line is one count of a report.
type Line struct {
	// System is a connector's name, or vault, requests, archives, ledger.
	System   string `json:"system"`
	Table    string `json:"table,omitempty"`
	Category string `json:"category,omitempty"`
	// Action is what happened to the rows: delete, mask, erase (connected
	// systems), purge (vault fields), retire (requests), delete (archives)
	// or pseudonymise (ledger subjects).
	Action string `json:"action"`
	Rows   int64  `json:"rows"`
	// Cutoff is the instant before which data was past retention.
	Cutoff time.Time `json:"cutoff,omitzero"`
}

// Total is the sum of the report's counts.
func (r Report) Total() int64 {
	var n int64
	for _, l := range r.Lines {
		n += l.Rows
	}
	return n
}

// Totals are the counts per system.
func (r Report) Totals() map[string]int64 {
	out := map[string]int64{}
	for _, l := range r.Lines {
		out[l.System] += l.Rows
	}
	return out
}

// save records the report.
func (s *Service) save(ctx context.Context, r Report) error {
	body, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("retention: encode report: %w", err)
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO retention_runs (id, started_at, finished_at, dry_run, failed, report) VALUES ($1, $2, $3, $4, $5, $6)`,
		r.ID, r.StartedAt.UnixMicro(), r.FinishedAt.UnixMicro(), r.DryRun, len(r.Failed) > 0, string(body))
	if err != nil {
		return db.Classify(fmt.Errorf("retention: save report: %w", err))
	}
	return nil
}

// Runs returns up to limit reports, newest first, of runs started before
// before (the zero time: any).
func (s *Service) Runs(ctx context.Context, before time.Time, limit int) ([]Report, error) {
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	bound := int64(1<<63 - 1)
	if !before.IsZero() {
		bound = before.UnixMicro()
	}
	rows, err := s.db.QueryContext(ctx, `SELECT report FROM retention_runs WHERE started_at < $1 ORDER BY started_at DESC, id LIMIT $2`, bound, limit)
	if err != nil {
		return nil, db.Classify(fmt.Errorf("retention: list runs: %w", err))
	}
	defer rows.Close()
	out := []Report{}
	for rows.Next() {
		var body string
		if err := rows.Scan(&body); err != nil {
			return nil, fmt.Errorf("retention: list runs: %w", err)
		}
		var r Report
		if err := json.Unmarshal([]byte(body), &r); err != nil {
			return nil, fmt.Errorf("retention: read report: %w", err)
		}
		out = append(out, r)
	}
	return out, db.Classify(rows.Err())
}
