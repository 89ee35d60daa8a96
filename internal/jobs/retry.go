package jobs

import (
	"math/rand/v2"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// RetryPolicy is the back-off of failed jobs: the n-th retry waits
// Base·2ⁿ⁻¹, at most Max, plus up to a tenth more at random so that jobs
// that failed together (a connector was down) do not retry together. A job
// is discarded after MaxAttempts attempts; InsertOpts.MaxAttempts overrides
// it per job. Snoozes (see Snooze) are not attempts.
type RetryPolicy struct {
	Base        time.Duration
	Max         time.Duration
	MaxAttempts int
}

// DefaultRetryPolicy retries after 10 s, 20 s, 40 s ... up to an hour
// between attempts, 25 attempts in all: about 18 hours of trying, well
// inside the month a data subject request may take, and long enough to
// ride out a night's outage of a connected system. The zero RetryPolicy
// means this one.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{Base: 10 * time.Second, Max: time.Hour, MaxAttempts: 25}
}

var _ river.ClientRetryPolicy = RetryPolicy{}

// withDefaults fills the zero fields of p from DefaultRetryPolicy.
func (p RetryPolicy) withDefaults() RetryPolicy {
	def := DefaultRetryPolicy()
	if p.Base <= 0 {
		p.Base = def.Base
	}
	if p.Max <= 0 {
		p.Max = max(def.Max, p.Base)
	}
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = def.MaxAttempts
	}
	return p
}

// NextRetry implements river.ClientRetryPolicy.
func (p RetryPolicy) NextRetry(job *rivertype.JobRow) time.Time {
	// River counts errors rather than attempts: a snoozed job's attempt
	// number went up and down again, its errors did not.
	delay := p.withDefaults().delay(len(job.Errors) + 1)
	return time.Now().Add(delay + rand.N(delay/10+1))
}

// delay is the wait before retry n (1 for the first), without jitter.
func (p RetryPolicy) delay(n int) time.Duration {
	d := p.Base
	for i := 1; i < n && d < p.Max; i++ {
		d *= 2
	}
	return min(d, p.Max)
}
