package retention

import (
	"context"
	"time"

	"github.com/steward-dev/steward/internal/jobs"
)

// PeriodicJobs enforce retention once a day.
func (s *Service) PeriodicJobs() []jobs.Periodic {
	return []jobs.Periodic{{Name: "retention.run", Interval: 24 * time.Hour, Run: func(ctx context.Context) error {
		_, err := s.Run(ctx, false)
		return err
	}}}
}
