package export

import (
	"context"
	"time"

	"github.com/steward-dev/steward/internal/jobs"
)

// PeriodicJobs purge the archives whose download window ended.
func (s *Store) PeriodicJobs() []jobs.Periodic {
	return []jobs.Periodic{{Name: "export.purge_expired", Interval: time.Hour, Run: func(ctx context.Context) error {
		_, err := s.PurgeExpired(ctx)
		return err
	}}}
}
