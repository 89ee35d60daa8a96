package audit

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/steward-dev/steward/internal/errs"
)

// Query selects entries, newest first. Every set field narrows the result;
// the zero Query lists the whole log.
type Query struct {
	// Actor matches by kind, or by kind and id when ID is set.
	Actor Actor
	// Action matches exactly ("vault.reveal").
	Action string
	// Target matches by kind, or by kind and id when ID is set.
	Target Target
	// Since and Until bound the entry time: Since <= At < Until. Zero means
	// unbounded.
	Since, Until time.Time
	// Before is the keyset cursor: only entries with a smaller sequence
	// number. 0 starts at the newest entry; pass Page.Next for the next page.
	Before int64
	// Limit is the page size: 1 to MaxPage; 0 means DefaultPage.
	Limit int
}

// Page sizes.
const (
	DefaultPage = 100
	MaxPage     = 1000
)

// Page is one page of a search.
type Page struct {
	Entries []Stored
	// Next is the cursor for the following page (Query.Before), 0 when this
	// page is the last.
	Next int64
}

// Search returns a page of the entries q selects, newest first. Each filter
// is served by an index that ends in the sequence number, so a page costs
// a range read whatever the log's size.
func (l *Log) Search(ctx context.Context, q Query) (Page, error) {
	switch {
	case q.Limit == 0:
		q.Limit = DefaultPage
	case q.Limit < 0 || q.Limit > MaxPage:
		return Page{}, errs.Invalid("limit", "must be 1 to %d", MaxPage)
	}
	if q.Before < 0 {
		return Page{}, errs.Invalid("before", "must not be negative")
	}
	where, args, err := q.filter()
	if err != nil {
		return Page{}, err
	}
	query := `SELECT ` + entryColumns + ` FROM audit_entries`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, " AND ")
	}
	args = append(args, q.Limit+1)
	query += fmt.Sprintf(` ORDER BY seq DESC LIMIT $%d`, len(args))

	rows, err := l.db.QueryContext(ctx, query, args...)
	if err != nil {
		return Page{}, storeError(fmt.Errorf("search audit log: %w", err))
	}
	defer rows.Close()
	var page Page
	for rows.Next() {
		s, _, err := scanEntry(rows.Scan)
		if err != nil {
			return Page{}, storeError(fmt.Errorf("search audit log: %w", err))
		}
		page.Entries = append(page.Entries, s)
	}
	if err := rows.Err(); err != nil {
		return Page{}, storeError(fmt.Errorf("search audit log: %w", err))
	}
	if len(page.Entries) > q.Limit {
		page.Entries = page.Entries[:q.Limit]
		page.Next = page.Entries[q.Limit-1].Seq
	}
	return page, nil
}

// Accesses answers "who accessed customer X": the entries whose target is
// the subject, newest first, a page at a time (before as in Query.Before).
func (l *Log) Accesses(ctx context.Context, subjectID string, before int64, limit int) (Page, error) {
	if subjectID == "" {
		return Page{}, errs.Invalid("subject", "must not be empty")
	}
	return l.Search(ctx, Query{Target: Subject(subjectID), Before: before, Limit: limit})
}

// filter returns the conditions and arguments that select q's entries
// (all but the page size).
func (q Query) filter() (where []string, args []any, err error) {
	if q.Actor.ID != "" && q.Actor.Kind == "" {
		return nil, nil, errs.Invalid("actor.kind", "is needed with an actor id")
	}
	if q.Target.ID != "" && q.Target.Kind == "" {
		return nil, nil, errs.Invalid("target.kind", "is needed with a target id")
	}
	add := func(cond string, arg any) {
		args = append(args, arg)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	if q.Before > 0 {
		add("seq < $%d", q.Before)
	}
	if q.Actor.Kind != "" {
		add("actor_kind = $%d", q.Actor.Kind)
		if q.Actor.ID != "" {
			add("actor_id = $%d", q.Actor.ID)
		}
	}
	if q.Action != "" {
		add("action = $%d", q.Action)
	}
	if q.Target.Kind != "" {
		add("target_kind = $%d", q.Target.Kind)
		if q.Target.ID != "" {
			add("target_id = $%d", q.Target.ID)
		}
	}
	if !q.Since.IsZero() {
		add("at >= $%d", q.Since.UnixMicro())
	}
	if !q.Until.IsZero() {
		add("at < $%d", q.Until.UnixMicro())
	}
	return where, args, nil
}

// CountTx counts, inside tx, the entries q selects, up to q.Limit (it stops
// there; 0 means DefaultPage). It reads in the caller's transaction, so a
// caller that holds a lock (such as a per-actor limit's) counts exactly
// what committed before it.
func (l *Log) CountTx(ctx context.Context, tx *sql.Tx, q Query) (int, error) {
	if q.Limit <= 0 {
		q.Limit = DefaultPage
	}
	where, args, err := q.filter()
	if err != nil {
		return 0, err
	}
	query := `SELECT 1 FROM audit_entries`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, " AND ")
	}
	args = append(args, q.Limit)
	var n int
	if err := tx.QueryRowContext(ctx, fmt.Sprintf(`SELECT count(*) FROM (%s LIMIT $%d) AS counted`, query, len(args)), args...).Scan(&n); err != nil {
		return 0, storeError(fmt.Errorf("count audit entries: %w", err))
	}
	return n, nil
}
