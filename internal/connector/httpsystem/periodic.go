package httpsystem

import (
	"context"
	"time"

	"github.com/steward-dev/steward/internal/jobs"
)

// DataRetention is how long access data a system sent is kept for an
// archive to take it.
const DataRetention = 7 * 24 * time.Hour

// PeriodicJobs purge the access data no archive took within DataRetention.
func (s *Service) PeriodicJobs() []jobs.Periodic {
	return []jobs.Periodic{{Name: "httpsystem.purge_data", Interval: time.Hour, Run: func(ctx context.Context) error {
		_, err := s.PurgeData(ctx, time.Now().Add(-DataRetention))
		return err
	}}}
}
