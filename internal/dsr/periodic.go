package dsr

import (
	"context"
	"time"

	"github.com/steward-dev/steward/internal/jobs"
)

// PeriodicJobs expire the agents' requests the customer did not confirm in
// time.
func (s *Service) PeriodicJobs() []jobs.Periodic {
	return []jobs.Periodic{{Name: "dsr.expire_agent_requests", Interval: time.Hour, Run: func(ctx context.Context) error {
		_, err := s.ExpireAgentRequests(ctx)
		return err
	}}}
}
