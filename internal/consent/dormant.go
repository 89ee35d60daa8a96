package consent

import (
	"context"
	"fmt"
	"time"

	"github.com/steward-dev/steward/internal/db"
)

// DormantSubjects returns up to limit subjects, in id order after after,
// whose latest ledger entry was recorded before before: the relationship
// is taken to have ended at a subject's last recorded choice, so that once
// the proof period has passed since, retention pseudonymises their entries
// (Pseudonymise). Pseudonyms are not subjects and never returned.
func (s *Service) DormantSubjects(ctx context.Context, before time.Time, after string, limit int) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT subject_id FROM consent_events
		WHERE subject_id IS NOT NULL AND subject_id > $1 AND substr(subject_id, 1, 4) <> 'prs_'
		GROUP BY subject_id HAVING max(recorded_at) < $2 ORDER BY subject_id LIMIT $3`, after, micros(before), limit)
	if err != nil {
		return nil, db.Classify(fmt.Errorf("consent: dormant subjects: %w", err))
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("consent: dormant subjects: %w", err)
		}
		out = append(out, id)
	}
	return out, db.Classify(rows.Err())
}
