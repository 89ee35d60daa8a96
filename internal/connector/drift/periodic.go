package drift

import (
	"time"

	"github.com/steward-dev/steward/internal/jobs"
)

// ScanEvery is how often every connected SQL system is scanned.
const ScanEvery = 24 * time.Hour

// PeriodicJobs scan every connected SQL system daily; none without one.
func (s *Service) PeriodicJobs() []jobs.Periodic {
	if len(s.systems) == 0 {
		return nil
	}
	return []jobs.Periodic{{Name: "drift.scan", Interval: ScanEvery, Run: s.ScanAll}}
}
