package assurance

import (
	"context"
	"fmt"
	"time"

	"github.com/steward-dev/steward/internal/db"
)

// ExpiredBetween returns the vendors whose approved assessment's validity
// ended in [from, until), one key per assessment, by time (the monthly
// report). An approval withdrawn before it ended is not counted: it did
// not expire, it was revoked.
func ExpiredBetween(ctx context.Context, store db.Querier, from, until time.Time) ([]string, error) {
	out, err := db.QueryAll(ctx, store, `SELECT vendor_key FROM vendor_assessments
		WHERE state = $1 AND valid_until >= $2 AND valid_until < $3 ORDER BY valid_until, id`,
		[]any{string(StateApproved), from.UnixMicro(), until.UnixMicro()}, func(scan func(...any) error) (string, error) {
			var key string
			err := scan(&key)
			return key, err
		})
	if err != nil {
		return nil, db.Classify(fmt.Errorf("expired assessments: %w", err))
	}
	return out, nil
}
