// Reading the ledger: events by filter or id, and linking a device to a
// subject.

package consent

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/errs"
)

// EventFilter selects ledger entries.
type EventFilter struct {
	After   int64 // sequence number to start after
	Limit   int   // 1 to 10000; 0 means 1000
	Subject string
	Device  string
	// LinkedDevices, with Subject, selects the events of the devices linked
	// to the subject too (LinkDevice): the choices the subject's decisions
	// take into account, such as a banner's or a form's on their device.
	LinkedDevices bool
	// Receipts reads each event's stored receipt too.
	Receipts bool
}

// Events lists ledger entries in sequence order.
func (s *Service) Events(ctx context.Context, f EventFilter) ([]Event, error) {
	if f.Limit <= 0 {
		f.Limit = 1000
	}
	if f.Limit > 10000 {
		return nil, errs.Invalid("limit", "at most 10000")
	}
	where := []string{"seq > $1"}
	args := []any{f.After}
	switch {
	case f.Subject != "" && f.LinkedDevices:
		args = append(args, f.Subject)
		where = append(where, fmt.Sprintf("(subject_id = $%d OR device_id IN (SELECT device_id FROM subject_devices WHERE subject_id = $%d))", len(args), len(args)))
	case f.Subject != "":
		args = append(args, f.Subject)
		where = append(where, fmt.Sprintf("subject_id = $%d", len(args)))
	}
	if f.Device != "" {
		args = append(args, f.Device)
		where = append(where, fmt.Sprintf("device_id = $%d", len(args)))
	}
	args = append(args, f.Limit)
	columns, scan := eventColumns, scanEvent
	if f.Receipts {
		columns, scan = eventColumns+", receipt", scanEventReceipt
	}
	list, err := db.QueryAll(ctx, s.db, `SELECT `+columns+` FROM consent_events WHERE `+strings.Join(where, " AND ")+
		fmt.Sprintf(` ORDER BY seq LIMIT $%d`, len(args)), args, scan)
	return list, db.Classify(err)
}

// Event returns one ledger entry by property and client id, with its
// receipt as stored.
func (s *Service) Event(ctx context.Context, property, id string) (Event, error) {
	e, err := readEvent(ctx, s.db, property, id)
	return e, db.Classify(err)
}

// LinkedTo reports whether device is linked to subject now.
func (s *Service) LinkedTo(ctx context.Context, device, subject string) (bool, error) {
	if device == "" || subject == "" {
		return false, nil
	}
	var one int
	err := s.db.QueryRowContext(ctx, `SELECT 1 FROM subject_devices WHERE device_id = $1 AND subject_id = $2`, device, subject).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, db.Classify(err)
}

// LinkDevice links a device to a subject: the subject's consent then
// includes the device's choices, latest wins. Relinking moves the device.
func (s *Service) LinkDevice(ctx context.Context, subject, device string) (Link, error) {
	problems := map[string]string{}
	if !ValidID(subject) {
		problems["subject"] = "must be 1 to 128 letters, digits or ._:@+=-"
	}
	if !ValidID(device) {
		problems["device"] = "must be 1 to 128 letters, digits or ._:@+=-"
	}
	if len(problems) > 0 {
		return Link{}, errs.Fields(problems)
	}
	now := micros(s.now())
	link := Link{Device: device, Subject: subject, LinkedAt: fromMicros(now)}
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		var current string
		err := tx.QueryRowContext(ctx, `SELECT subject_id, seq, linked_at FROM subject_devices WHERE device_id = $1`, device).
			Scan(&current, &link.Seq, &now)
		if err == nil && current == subject {
			link.LinkedAt = fromMicros(now)
			return nil
		}
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO subjects (id, created_at) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING`,
			subject, micros(link.LinkedAt)); err != nil {
			return fmt.Errorf("create subject: %w", err)
		}
		if err := tx.QueryRowContext(ctx, `UPDATE ledger_head SET seq = seq + 1 WHERE id = 1 RETURNING seq`).Scan(&link.Seq); err != nil {
			return fmt.Errorf("take sequence number: %w", err)
		}
		if err := s.notifyFollowers(ctx, tx, readLinks); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO subject_devices (device_id, subject_id, seq, linked_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (device_id) DO UPDATE SET subject_id = excluded.subject_id, seq = excluded.seq, linked_at = excluded.linked_at`,
			device, subject, link.Seq, micros(link.LinkedAt))
		return err
	})
	if err != nil {
		return Link{}, err
	}
	s.index.applyLinks([]Link{link})
	return link, nil
}
