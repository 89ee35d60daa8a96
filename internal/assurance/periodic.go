package assurance

import (
	"context"
	"time"

	"github.com/steward-dev/steward/internal/jobs"
	"github.com/steward-dev/steward/internal/outbox"
)

// Announcer writes a webhook message on its own (*outbox.Service).
type Announcer interface {
	Emit(ctx context.Context, e outbox.Event) (outbox.Emitted, error)
}

// announceEvery is how often the approvals that ended are announced; each
// run announces those that ended in the interval before it.
const announceEvery = time.Hour

// PeriodicJobs announce (vendor.assessment_expired) the approvals that
// ended since the last run; with a nil Announcer, none.
func (s *Service) PeriodicJobs(events Announcer) []jobs.Periodic {
	if events == nil {
		return nil
	}
	return []jobs.Periodic{{Name: "assurance.announce_expired", Interval: announceEvery, Run: func(ctx context.Context) error {
		return s.announceExpired(ctx, events, s.now())
	}}}
}

// announceExpired sends vendor.assessment_expired for the approvals that
// ended in the hour before now.
func (s *Service) announceExpired(ctx context.Context, events Announcer, now time.Time) error {
	ending, err := s.Expiring(ctx, 0)
	if err != nil {
		return err
	}
	for _, as := range ending {
		if as.ValidUntil == nil || as.ValidUntil.After(now) || !as.ValidUntil.After(now.Add(-announceEvery)) {
			continue
		}
		if _, err := events.Emit(ctx, outbox.Event{Type: outbox.VendorAssessmentExpired,
			Data: map[string]any{"vendor": as.VendorKey, "assessment_id": as.ID}}); err != nil {
			return err
		}
	}
	return nil
}
