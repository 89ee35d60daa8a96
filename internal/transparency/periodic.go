package transparency

import (
	"context"
	"time"

	"github.com/steward-dev/steward/internal/jobs"
)

// RefreshEvery is how often the page is rebuilt without a reader, so that a
// change of what it states is versioned when it happens, not at the next
// visit: a change made while nobody reads the page still appears in
// /transparency/history, dated within this interval of the change.
const RefreshEvery = 5 * time.Minute

// PeriodicJobs rebuild the page in the background (transparency.refresh).
func (p *Publisher) PeriodicJobs() []jobs.Periodic {
	return []jobs.Periodic{{Name: "transparency.refresh", Interval: RefreshEvery, Run: p.Refresh}}
}

// Refresh builds the document if the cached one is stale, recording a new
// version when what it states changed; a fresh cache costs nothing.
func (p *Publisher) Refresh(ctx context.Context) error {
	_, err := p.Current(ctx)
	return err
}
