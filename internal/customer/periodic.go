package customer

import (
	"time"

	"github.com/steward-dev/steward/internal/jobs"
)

// PeriodicJobs purge expired sign-in codes and portal sessions.
func (s *Service) PeriodicJobs() []jobs.Periodic {
	return []jobs.Periodic{{Name: "customer.purge", Interval: time.Hour, Run: s.Purge}}
}
