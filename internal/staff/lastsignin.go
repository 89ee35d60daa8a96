package staff

import (
	"context"
	"fmt"
	"time"

	"github.com/steward-dev/steward/internal/db"
)

// LastSignIns returns when each staff member last signed in (the newest of
// their sessions), by account id; an account that never signed in is
// absent. Access reviews show it: an account nobody uses is a candidate
// for disabling.
func (s *Service) LastSignIns(ctx context.Context) (map[string]time.Time, error) {
	type last struct {
		id string
		at int64
	}
	rows, err := db.QueryAll(ctx, s.db, `SELECT staff_id, MAX(created_at) FROM staff_sessions GROUP BY staff_id`, nil,
		func(scan func(...any) error) (last, error) {
			var l last
			err := scan(&l.id, &l.at)
			return l, err
		})
	if err != nil {
		return nil, db.Classify(fmt.Errorf("read last sign-ins: %w", err))
	}
	out := make(map[string]time.Time, len(rows))
	for _, l := range rows {
		out[l.id] = time.UnixMicro(l.at).UTC()
	}
	return out, nil
}
