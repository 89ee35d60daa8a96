package outbox

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/jobs"
)

// DeliverArgs is the job that delivers one message; it carries the
// message id only (the body is in outbox_messages).
type DeliverArgs struct {
	MessageID string `json:"message_id"`
}

// Kind names the job.
func (DeliverArgs) Kind() string { return "webhook.deliver" }

// Emitted tells what EmitTx wrote.
type Emitted struct {
	// EventID is shared by the event's messages.
	EventID string
	// MessageIDs are the messages written, one per matching endpoint: the
	// webhook-ids the receivers will see. Empty when no enabled endpoint
	// takes the event's type.
	MessageIDs []string
}

// EmitTx writes, in tx, one message per enabled endpoint that takes the
// event's type, and the jobs that deliver them: they exist if and only if
// tx commits, and none is sent before. Call it in the transaction of the
// change the event reports. It refuses unknown types and data that looks
// like personal data (errs.CodeInvalid).
func (s *Service) EmitTx(ctx context.Context, tx *sql.Tx, e Event) (Emitted, error) {
	body, err := encodeEvent(e, s.now())
	if err != nil {
		return Emitted{}, err
	}
	targets, err := s.subscribers(ctx, tx, e.Type)
	if err != nil {
		return Emitted{}, err
	}
	out := Emitted{EventID: newID("evt_")}
	if len(targets) == 0 {
		return out, nil
	}
	// Only now: a process without a runner (a command) may change data
	// that no endpoint listens to.
	enqueuer, err := s.enqueuer()
	if err != nil {
		return Emitted{}, err
	}
	now := micros(s.now())
	for _, endpointID := range targets {
		id := newID("msg_")
		// The job first, so that the message row is written once, with its
		// job's id; neither is visible before commit.
		job, err := enqueuer.InsertTx(ctx, tx, DeliverArgs{MessageID: id}, &jobs.InsertOpts{Queue: s.cfg.Queue})
		if err != nil {
			return Emitted{}, fmt.Errorf("emit %s: %w", e.Type, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO outbox_messages (id, endpoint_id, event_id, event_type, body, state, created_at, job_id)
			VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7)`, id, endpointID, out.EventID, e.Type, string(body), now, job.ID); err != nil {
			return Emitted{}, db.Classify(fmt.Errorf("emit %s: %w", e.Type, err))
		}
		out.MessageIDs = append(out.MessageIDs, id)
	}
	return out, nil
}

// Emit is EmitTx in a transaction of its own, for an event that goes with
// no change of Steward's data (a deadline that passed).
func (s *Service) Emit(ctx context.Context, e Event) (Emitted, error) {
	var out Emitted
	err := s.cfg.DB.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = s.EmitTx(ctx, tx, e)
		return err
	})
	return out, err
}

// subscribers returns the enabled endpoints that take events of type t.
// The filter is applied here rather than in SQL, so that the rule is
// written once for both engines.
func (s *Service) subscribers(ctx context.Context, tx *sql.Tx, t string) ([]string, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, event_types FROM outbox_endpoints WHERE enabled ORDER BY id`)
	if err != nil {
		return nil, db.Classify(fmt.Errorf("emit %s: find endpoints: %w", t, err))
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id, typesJSON string
		if err := rows.Scan(&id, &typesJSON); err != nil {
			return nil, fmt.Errorf("emit %s: find endpoints: %w", t, err)
		}
		var types []string
		if err := json.Unmarshal([]byte(typesJSON), &types); err != nil {
			return nil, fmt.Errorf("emit %s: endpoint %s: event types: %w", t, id, err)
		}
		if takes(types, t) {
			out = append(out, id)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, db.Classify(fmt.Errorf("emit %s: find endpoints: %w", t, err))
	}
	return out, nil
}
