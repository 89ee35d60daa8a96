package outbox

import (
	"context"
	"database/sql"
	"time"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/jobs"
)

// Emitter writes webhook messages in the caller's transaction: a domain
// package (dsr, disclosure, fulfil) maps its own changes to events and
// emits them through it, so that the message exists if and only if the
// change commits. *Service is one; a nil Emitter emits nothing.
type Emitter interface {
	EmitTx(ctx context.Context, tx *sql.Tx, e Event) (Emitted, error)
}

var _ Emitter = (*Service)(nil)

// EmitTxIfAny emits e through em in tx, or does nothing when em is nil.
func EmitTxIfAny(ctx context.Context, em Emitter, tx *sql.Tx, e Event) error {
	if em == nil {
		return nil
	}
	_, err := em.EmitTx(ctx, tx, e)
	return err
}

// PublishCheckpoint writes the audit.checkpoint webhook in the transaction
// that stores a checkpoint (audit.CheckpointerConfig.Publish), so that
// another system witnesses each signed head once. The audit package cannot
// know the outbox, which records its own deliveries in the audit log.
func (s *Service) PublishCheckpoint(ctx context.Context, tx *sql.Tx, p audit.Published) error {
	_, err := s.EmitTx(ctx, tx, Event{Type: AuditCheckpoint, Data: p.Data(), At: p.At})
	return err
}

// Retention of the outbox's periodic purges.
const (
	// MessageRetention is how long delivered and dead messages are kept.
	MessageRetention = 30 * 24 * time.Hour
	// OrphanGrace is how old a message without a delivery job must be to
	// be swept: its job is written in its transaction, so only a job that
	// ended can be missing.
	OrphanGrace = time.Hour
)

// PeriodicJobs are the outbox's housekeeping: the purge of old messages
// and the sweep of messages that lost their job.
func (s *Service) PeriodicJobs() []jobs.Periodic {
	return []jobs.Periodic{
		{Name: "outbox.purge", Interval: time.Hour, Run: func(ctx context.Context) error {
			_, err := s.Purge(ctx, time.Now().Add(-MessageRetention))
			return err
		}},
		{Name: "outbox.sweep_orphans", Interval: time.Hour, Run: func(ctx context.Context) error {
			_, err := s.SweepOrphans(ctx, time.Now().Add(-OrphanGrace))
			return err
		}},
	}
}
