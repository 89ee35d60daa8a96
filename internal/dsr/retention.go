package dsr

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/steward-dev/steward/internal/db"
)

// retireBatch is how many closed requests RetireClosed changes in one
// transaction.
const retireBatch = 200

// RetireClosed is retention for requests: every request closed before
// before, whose subject is not in held, loses what it quotes of the person
// and its address, as Forget does for an erasure; the row stays, as the
// record that the request was made and answered. It returns the ids of the
// requests retired (or, with dryRun, that would be, changing nothing), so
// that their archives can go too. A retired request is not retired again:
// its address is gone.
func (s *Service) RetireClosed(ctx context.Context, before time.Time, held []string, dryRun bool) ([]string, error) {
	var out []string
	after := ""
	for {
		var batch []string
		err := s.db.Tx(ctx, func(tx *sql.Tx) error {
			var err error
			if batch, err = closedBatch(ctx, tx, before, held, after); err != nil || dryRun {
				return err
			}
			for _, id := range batch {
				if _, err := blankTx(ctx, tx, id); err != nil {
					return err
				}
				if _, err := unlinkTx(ctx, tx, id); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return out, db.Classify(fmt.Errorf("dsr: retire closed requests: %w", err))
		}
		out = append(out, batch...)
		if len(batch) < retireBatch {
			return out, nil
		}
		after = batch[len(batch)-1]
	}
}

// closedBatch returns the next ids (after after) of requests closed before
// before that still hold an address and whose subject is not held.
func closedBatch(ctx context.Context, tx *sql.Tx, before time.Time, held []string, after string) ([]string, error) {
	var b strings.Builder
	args := []any{before.UnixMicro(), after}
	b.WriteString(`SELECT id FROM dsr_requests WHERE closed_at IS NOT NULL AND closed_at < $1 AND id > $2 AND length(email_sealed) > 0`)
	if len(held) > 0 {
		b.WriteString(" AND subject_id NOT IN (")
		for i, h := range held {
			if i > 0 {
				b.WriteString(", ")
			}
			args = append(args, h)
			b.WriteString("$" + strconv.Itoa(len(args)))
		}
		b.WriteString(")")
	}
	b.WriteString(" ORDER BY id LIMIT " + strconv.Itoa(retireBatch))
	rows, err := tx.QueryContext(ctx, b.String(), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}
