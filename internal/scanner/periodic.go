package scanner

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/jobs"
)

// Every is how often the schedule scans each property.
const Every = 7 * 24 * time.Hour

// checkEvery is how often the schedule looks for properties due: a new
// property waits a day at most for its first scan.
const checkEvery = 24 * time.Hour

// PeriodicJobs scan each property with declared domains once a week:
// scanner.weekly looks daily for the properties whose last scan is a week
// old, so that new properties are picked up and the scans spread out.
// None without Chromium, which Steward does not otherwise need.
func (s *Service) PeriodicJobs() []jobs.Periodic {
	if _, err := FindChrome(s.options.Chrome); err != nil {
		s.log.Info("tracker scans are off: no Chromium", "err", err)
		return nil
	}
	return []jobs.Periodic{{Name: "scanner.weekly", Interval: checkEvery, Run: s.ScanDue}}
}

// ScanDue scans, one after the other, the properties with domains whose
// last scan started at least Every ago, or that were never scanned.
func (s *Service) ScanDue(ctx context.Context) error {
	var failed []error
	for _, p := range s.catalog.Properties() {
		if len(p.Domains) == 0 {
			continue
		}
		due, err := s.due(ctx, p.Key)
		if err != nil {
			return err
		}
		if !due {
			continue
		}
		if _, _, err := s.Scan(ctx, p.Key, nil, Options{}, TriggerSchedule); err != nil {
			failed = append(failed, fmt.Errorf("scan %s: %w", p.Key, err))
		}
	}
	return errors.Join(failed...)
}

func (s *Service) due(ctx context.Context, property string) (bool, error) {
	var last sql.NullInt64
	if err := s.db.QueryRowContext(ctx, `SELECT max(started_at) FROM scan_runs WHERE property = $1`, property).Scan(&last); err != nil {
		return false, db.Classify(fmt.Errorf("last scan: %w", err))
	}
	return !last.Valid || s.now().Sub(time.UnixMicro(last.Int64)) >= Every, nil
}
