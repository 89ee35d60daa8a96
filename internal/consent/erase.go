package consent

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"fmt"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/errs"
)

// Pseudonymised says what Pseudonymise changed.
type Pseudonymised struct {
	Events  int `json:"events"`  // consent events now under a pseudonym
	Devices int `json:"devices"` // device links removed
	Seq     int64
}

// pseudonymPrefix starts every pseudonym, which no subject id may.
const pseudonymPrefix = "prs_"

// Pseudonymise is the ledger's part of erasing a subject: their consent
// events stay as proof of what was consented, under a random pseudonym
// that nothing links back to them, and their device links go. The events
// lose their principal salt and their stored receipts (which name the
// subject), but keep what the hash chain covers (see chain.go), and the
// erasure is itself a chain entry recording how many events it erased, so
// the chain still verifies and an erasure cannot be faked. Decisions for
// the subject then find no consent, on this replica at once and on the
// others when they follow the ledger. The change is recorded in the audit
// log in its transaction (fail closed). Erasing twice is harmless.
func (s *Service) Pseudonymise(ctx context.Context, subject string) (Pseudonymised, error) {
	if !ValidID(subject) || len(subject) > 4 && subject[:4] == pseudonymPrefix {
		return Pseudonymised{}, errs.Invalid("subject", "must be 1 to 128 letters, digits or ._:@+=-, and not a pseudonym")
	}
	var b [18]byte
	if _, err := rand.Read(b[:]); err != nil {
		return Pseudonymised{}, fmt.Errorf("pseudonym: %w", err)
	}
	pseudonym := pseudonymPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	var res Pseudonymised
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		var head ledgerHead
		if err := tx.QueryRowContext(ctx, `UPDATE ledger_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, chain_seq, hash`).
			Scan(&res.Seq, &head.chainSeq, &head.hash); err != nil {
			return fmt.Errorf("take sequence number: %w", err)
		}
		var chained int64
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM consent_events WHERE subject_id = $1 AND salt IS NOT NULL`,
			subject).Scan(&chained); err != nil {
			return fmt.Errorf("count events: %w", err)
		}
		events, err := tx.ExecContext(ctx, `UPDATE consent_events SET subject_id = $2, salt = NULL, receipt = NULL WHERE subject_id = $1`,
			subject, pseudonym)
		if err != nil {
			return fmt.Errorf("pseudonymise events: %w", err)
		}
		devices, err := tx.ExecContext(ctx, `DELETE FROM subject_devices WHERE subject_id = $1`, subject)
		if err != nil {
			return fmt.Errorf("remove device links: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM subjects WHERE id = $1`, subject); err != nil {
			return fmt.Errorf("remove subject: %w", err)
		}
		erasedAt := micros(s.now())
		hash := erasureHash(head.hash, res.Seq, head.chainSeq, erasedAt, chained)
		if _, err := tx.ExecContext(ctx, `INSERT INTO consent_erasures (seq, subject_id, erased_at, prev_seq, events, hash)
			VALUES ($1, $2, $3, $4, $5, $6)`, res.Seq, subject, erasedAt, head.chainSeq, chained, hash); err != nil {
			return fmt.Errorf("record erasure: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE ledger_head SET chain_seq = $1, hash = $2 WHERE id = 1`, res.Seq, hash); err != nil {
			return fmt.Errorf("advance ledger head: %w", err)
		}
		if err := s.notifyFollowers(ctx, tx, readErasures); err != nil {
			return err
		}
		n, _ := events.RowsAffected()
		d, _ := devices.RowsAffected()
		res.Events, res.Devices = int(n), int(d)
		if s.audit == nil {
			return nil
		}
		_, err = s.audit.AppendTx(ctx, tx, audit.Entry{Actor: audit.ActorFrom(ctx), Action: "consent.pseudonymise", Target: audit.Subject(subject),
			Details: audit.MustDetails(map[string]any{"events": res.Events, "devices": res.Devices})})
		return err
	})
	if err != nil {
		return Pseudonymised{}, db.Classify(err)
	}
	s.index.forget([]string{subject}, res.Seq)
	s.erased() // the snapshot on disk may hold the subject's states
	return res, nil
}

// readErasures reads the subjects erased after seq, with the highest seq.
func (s *Service) readErasures(ctx context.Context, after int64) ([]string, int64, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT seq, subject_id FROM consent_erasures WHERE seq > $1 ORDER BY seq`, after)
	if err != nil {
		return nil, after, db.Classify(fmt.Errorf("read erasures: %w", err))
	}
	defer rows.Close()
	var subjects []string
	for rows.Next() {
		var subject string
		if err := rows.Scan(&after, &subject); err != nil {
			return nil, after, fmt.Errorf("read erasures: %w", err)
		}
		subjects = append(subjects, subject)
	}
	return subjects, after, db.Classify(rows.Err())
}

// HoldsSubject reports whether the ledger still names subject: an event, a
// device link or the subject's own row. A replay of the erasure journal on
// a restored store asks it first, so that pseudonymising a subject already
// gone adds no erasure to the chain.
func (s *Service) HoldsSubject(ctx context.Context, subject string) (bool, error) {
	var holds bool
	err := s.db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM consent_events WHERE subject_id = $1)
		OR EXISTS (SELECT 1 FROM subject_devices WHERE subject_id = $1)
		OR EXISTS (SELECT 1 FROM subjects WHERE id = $1)`, subject).Scan(&holds)
	if err != nil {
		return false, db.Classify(fmt.Errorf("read whether the ledger names a subject: %w", err))
	}
	return holds, nil
}
