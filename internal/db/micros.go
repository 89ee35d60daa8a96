package db

import (
	"database/sql"
	"time"
)

// Steward stores times as Unix microseconds (BIGINT). These convert an
// optional time, nil being NULL.

// OptMicros returns t as stored, Unix microseconds, or NULL for nil.
func OptMicros(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixMicro()
}

// OptTime reads a time stored by OptMicros, in UTC; nil for NULL.
func OptTime(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := time.UnixMicro(v.Int64).UTC()
	return &t
}
