package dsr

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"

	"github.com/steward-dev/steward/internal/db"
)

// Forgotten says what Forget blanked: counts, never values.
type Forgotten struct {
	// Requests are the requester's requests found (by subject or by the
	// email's blind index), the erasure's own included.
	Requests []string `json:"-"`
	// Details counts the requests whose details and question were blanked.
	Details int `json:"details"`
	// Unlinked counts the closed requests whose sealed address went and
	// whose blind index was replaced by a random value.
	Unlinked int `json:"unlinked"`
}

// Forget removes what the requests of subject, or of the email with the
// blind index emailHash, quote of the person, for their erasure (keep is
// the erasure request itself): every such request loses its details, the
// new values a rectification proposed, and the question staff asked (with
// the question's and the reply's history notes, and the answers the
// customer gave in the portal); every closed one but keep also loses its sealed address, and its
// blind index becomes a random value, so that the address no longer finds
// it. The rows stay, as the record that the requests were made and
// answered. Open requests keep their address, which answering them needs;
// keep keeps its own, for the customer to read the erasure's report.
func (s *Service) Forget(ctx context.Context, subject string, emailHash []byte, keep string) (Forgotten, error) {
	var out Forgotten
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		out = Forgotten{}
		rows, err := tx.QueryContext(ctx, `SELECT id, closed_at IS NOT NULL FROM dsr_requests
			WHERE ($1 <> '' AND subject_id = $1) OR email_hash = $2 ORDER BY id`, subject, emailHash)
		if err != nil {
			return fmt.Errorf("dsr: forget: %w", err)
		}
		var closed []string
		for rows.Next() {
			var id string
			var isClosed bool
			if err := rows.Scan(&id, &isClosed); err != nil {
				rows.Close()
				return fmt.Errorf("dsr: forget: %w", err)
			}
			out.Requests = append(out.Requests, id)
			if isClosed && id != keep {
				closed = append(closed, id)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("dsr: forget: %w", err)
		}
		for _, id := range out.Requests {
			blanked, err := blankTx(ctx, tx, id)
			if err != nil {
				return err
			}
			if blanked {
				out.Details++
			}
		}
		for _, id := range closed {
			unlinked, err := unlinkTx(ctx, tx, id)
			if err != nil {
				return err
			}
			if unlinked {
				out.Unlinked++
			}
		}
		return nil
	})
	return out, db.Classify(err)
}

// blankTx removes what request id quotes of the person: its details, the
// new values a rectification proposed, the question staff asked and its
// history notes, an agent's mandate and the customer's answers. It reports
// whether the request had details, a proposal or a question.
func blankTx(ctx context.Context, tx *sql.Tx, id string) (bool, error) {
	res, err := tx.ExecContext(ctx, `UPDATE dsr_requests SET details_sealed = NULL, proposal_sealed = NULL, question = ''
		WHERE id = $1 AND (details_sealed IS NOT NULL OR proposal_sealed IS NOT NULL OR question <> '')`, id)
	if err != nil {
		return false, fmt.Errorf("dsr: forget details: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE dsr_events SET note = '' WHERE request_id = $1 AND action IN ('ask_customer', 'customer_replied')`, id); err != nil {
		return false, fmt.Errorf("dsr: forget notes: %w", err)
	}
	// An agent's mandate names them too.
	if err := forgetAgentTx(ctx, tx, id); err != nil {
		return false, err
	}
	// The customer's answers in the portal thread quote them too.
	if _, err := tx.ExecContext(ctx, `UPDATE dsr_events SET answer_sealed = NULL WHERE request_id = $1 AND answer_sealed IS NOT NULL`, id); err != nil {
		return false, fmt.Errorf("dsr: forget answers: %w", err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// unlinkTx removes a closed request's sealed address and replaces its
// blind index with a random value, so that the address no longer finds it.
func unlinkTx(ctx context.Context, tx *sql.Tx, id string) (bool, error) {
	var random [32]byte
	_, _ = rand.Read(random[:])
	res, err := tx.ExecContext(ctx, `UPDATE dsr_requests SET email_sealed = $2, email_hash = $3 WHERE id = $1`, id, []byte{}, random[:])
	if err != nil {
		return false, fmt.Errorf("dsr: forget address: %w", err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}
