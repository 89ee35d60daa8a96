package db

import (
	"context"
	"database/sql"
	"fmt"
)

// Querier is what reads need, and what a *DB, a *sql.DB, a *sql.Conn and a
// *sql.Tx all have: a read runs alike on the store or in a transaction.
type Querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// QueryAll runs query on q and returns one value per row, as scan makes it
// from the row's Scan; an empty result is an empty, non-nil slice. Errors
// are wrapped, not classified: callers add their context and Classify.
func QueryAll[T any](ctx context.Context, q Querier, query string, args []any, scan func(scan func(dest ...any) error) (T, error)) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows.Scan)
		if err != nil {
			return nil, fmt.Errorf("scan: %w", err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("rows: %w", err)
	}
	return out, nil
}
