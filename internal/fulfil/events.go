package fulfil

import (
	"context"
	"database/sql"

	"github.com/steward-dev/steward/internal/outbox"
)

// erased runs in the transaction that crypto-shreds a subject's vault
// data: the subject.erased webhook, then OnErased.
func (f *Fulfiller) erased(ctx context.Context, tx *sql.Tx, subject, requestID string) error {
	if err := outbox.EmitTxIfAny(ctx, f.Events, tx, outbox.Event{Type: outbox.SubjectErased, SubjectID: subject,
		Data: map[string]any{"request_id": requestID}}); err != nil {
		return err
	}
	if f.OnErased == nil {
		return nil
	}
	return f.OnErased(ctx, tx, subject, requestID)
}

// rectified runs in the transaction that records a rectification's last
// step: the subject.rectified webhook (ids and field names only), then
// OnRectified.
func (f *Fulfiller) rectified(ctx context.Context, tx *sql.Tx, r Rectified) error {
	if err := outbox.EmitTxIfAny(ctx, f.Events, tx, outbox.Event{Type: outbox.SubjectRectified, SubjectID: r.SubjectID,
		Data: map[string]any{"request_id": r.RequestID, "fields": r.Fields, "vendors": r.Vendors}}); err != nil {
		return err
	}
	if f.OnRectified == nil {
		return nil
	}
	return f.OnRectified(ctx, tx, r)
}
