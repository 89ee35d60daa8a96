package dsr

import (
	"context"
	"database/sql"

	"github.com/steward-dev/steward/internal/outbox"
)

// changed runs in the transaction of a filing or transition: it writes the
// request's webhook, if the change has one, then calls OnChange (the
// customer's email about it).
func (s *Service) changed(ctx context.Context, tx *sql.Tx, r Request, e Event) error {
	if ev, ok := webhookOf(r, e); ok {
		if err := outbox.EmitTxIfAny(ctx, s.events, tx, ev); err != nil {
			return err
		}
	}
	if s.onChange == nil {
		return nil
	}
	return s.onChange(ctx, tx, r, e)
}

// webhookOf is the webhook of a request's filing (request.created) or
// completion (request.completed): ids, kind and state, never the
// requester's details.
func webhookOf(r Request, e Event) (outbox.Event, bool) {
	var t string
	switch {
	case e.Action == "file":
		t = outbox.RequestCreated
	case e.To == StateCompleted:
		t = outbox.RequestCompleted
	default:
		return outbox.Event{}, false
	}
	return outbox.Event{Type: t, SubjectID: r.SubjectID,
		Data: map[string]any{"request_id": r.ID, "kind": string(r.Kind), "state": string(r.State)}}, true
}
