package vault

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/steward-dev/steward/internal/db"
)

// Retention widens what PurgeRetention deletes beyond each field's own
// expiry: the fields of a category that were last written before its
// cutoff. Held subjects keep every field, expired or not.
type Retention struct {
	// Categories maps a category to the instant before which its fields
	// (by their last write) are past retention. A category not here has
	// no retention beyond the fields' own expiry.
	Categories map[string]time.Time
	// Held are the subjects under a legal hold.
	Held []string
}

// condition returns the WHERE condition of the fields past retention at
// now, with its parameters from $first on.
func (r Retention) condition(now time.Time, first int) (string, []any) {
	var b strings.Builder
	args := []any{micros(now)}
	next := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(first+len(args)-1)
	}
	b.WriteString("((expires_at IS NOT NULL AND expires_at <= $" + strconv.Itoa(first) + ")")
	for _, category := range slices.Sorted(maps.Keys(r.Categories)) {
		// Steward's own holders (~...) have no category retention.
		b.WriteString(" OR (category = " + next(category) + " AND updated_at < " + next(micros(r.Categories[category])) +
			" AND subject_id NOT LIKE '~%')")
	}
	b.WriteString(")")
	if len(r.Held) > 0 {
		b.WriteString(" AND subject_id NOT IN (")
		for i, s := range r.Held {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(next(s))
		}
		b.WriteString(")")
	}
	return b.String(), args
}

// CountRetention returns, per category, how many fields PurgeRetention
// would delete now: what a dry run reports.
func (v *Vault) CountRetention(ctx context.Context, r Retention) (map[string]int64, error) {
	cond, args := r.condition(v.now(), 1)
	rows, err := v.db.QueryContext(ctx, `SELECT category, count(*) FROM vault_fields WHERE `+cond+` GROUP BY category`, args...)
	if err != nil {
		return nil, db.Classify(fmt.Errorf("vault: count fields past retention: %w", err))
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var category string
		var n int64
		if err := rows.Scan(&category, &n); err != nil {
			return nil, fmt.Errorf("vault: count fields past retention: %w", err)
		}
		out[category] = n
	}
	return out, db.Classify(rows.Err())
}

// PurgeRetention deletes every field past retention (its own expiry, or
// its category's cutoff in r) that no legal hold keeps, with its tokens,
// in batches each of its own transaction, and returns what it deleted
// (metadata only). It works while sealed.
func (v *Vault) PurgeRetention(ctx context.Context, r Retention) ([]FieldInfo, error) {
	now := v.now()
	purged := []FieldInfo{}
	for done := false; !done; {
		var batch []FieldInfo
		err := v.db.Tx(ctx, func(tx *sql.Tx) error {
			batch = batch[:0]
			cond, args := r.condition(now, 1)
			rows, err := tx.QueryContext(ctx, `SELECT `+fieldInfoColumns+` FROM vault_fields WHERE `+cond+
				` ORDER BY COALESCE(expires_at, updated_at), subject_id, name LIMIT `+strconv.Itoa(v.batchSize), args...)
			if err != nil {
				return fmt.Errorf("vault: list fields past retention: %w", err)
			}
			expired, err := scanFieldInfos(rows)
			if err != nil {
				return err
			}
			done = len(expired) < v.batchSize
			for _, f := range expired {
				if _, err := tx.ExecContext(ctx, `DELETE FROM vault_tokens WHERE subject_id = $1 AND name = $2`, f.Subject, f.Name); err != nil {
					return fmt.Errorf("vault: delete tokens of expired field: %w", err)
				}
				// The condition again: a concurrent Put may have renewed the field.
				cond, args := r.condition(now, 3)
				res, err := tx.ExecContext(ctx, `DELETE FROM vault_fields WHERE subject_id = $1 AND name = $2 AND `+cond,
					append([]any{f.Subject, f.Name}, args...)...)
				if err != nil {
					return fmt.Errorf("vault: delete expired field: %w", err)
				}
				if n, _ := res.RowsAffected(); n > 0 {
					batch = append(batch, f)
				}
			}
			return nil
		})
		if err != nil {
			return purged, err
		}
		purged = append(purged, batch...)
	}
	return purged, nil
}
