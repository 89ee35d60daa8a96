package fulfil

import (
	"errors"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/steward-dev/steward/internal/dsr"
	"github.com/steward-dev/steward/internal/errs"
)

// TestOutcomeWaitsForIdentity: a job refused because the customer has not
// given the second proof looks again later instead of being cancelled for
// good, so that the work runs once they give it.
func TestOutcomeWaitsForIdentity(t *testing.T) {
	f := &Fulfiller{Config: Config{Poll: time.Minute}}
	refused := errs.Wrap(errs.CodeConflict, dsr.ErrIdentityNotReached, "request req_1 is waiting for the customer")
	var snooze *river.JobSnoozeError
	if err := f.outcome(refused); !errors.As(err, &snooze) {
		t.Fatalf("outcome = %v (%T), want a snooze", err, err)
	}
	var cancel *river.JobCancelError
	if err := f.outcome(errs.New(errs.CodeConflict, "request req_1 is cancelled")); !errors.As(err, &cancel) {
		t.Fatalf("outcome of another conflict = %v (%T), want a cancel", err, err)
	}
}
