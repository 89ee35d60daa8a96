package disclosure

import (
	"context"
	"database/sql"
	"time"

	"github.com/steward-dev/steward/internal/jobs"
	"github.com/steward-dev/steward/internal/outbox"
)

// changed runs in the transaction that records a disclosure, its answer or
// its expiry: it writes the webhook, then calls OnChange.
func (s *Service) changed(ctx context.Context, tx *sql.Tx, d Disclosure) error {
	if err := outbox.EmitTxIfAny(ctx, s.Events, tx, webhookOf(d)); err != nil {
		return err
	}
	if s.OnChange == nil {
		return nil
	}
	return s.OnChange(ctx, tx, d)
}

// webhookOf is the webhook of a disclosure asked (pending: requested) or
// answered (decided): ids, vendor, purpose and state, not the reason.
func webhookOf(d Disclosure) outbox.Event {
	t := outbox.DisclosureDecided
	if d.State == Pending {
		t = outbox.DisclosureRequested
	}
	return outbox.Event{Type: t, SubjectID: d.Subject,
		Data: map[string]any{"disclosure_id": d.ID, "vendor": d.Vendor, "purpose": d.Purpose, "state": string(d.State)}}
}

// PeriodicJobs expire the disclosures the customer did not answer in time.
func (s *Service) PeriodicJobs() []jobs.Periodic {
	return []jobs.Periodic{{Name: "disclosure.expire_due", Interval: time.Hour, Run: func(ctx context.Context) error {
		_, err := s.ExpireDue(ctx)
		return err
	}}}
}
