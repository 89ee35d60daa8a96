package transparency

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/dsr"
	"github.com/steward-dev/steward/internal/reveal"
)

// MinGroup is the fewest people a consent figure may describe: a month
// and purpose (or a month's GPC share) chosen by fewer is left out, so that
// no figure narrows down to a handful of people.
const MinGroup = 50

// Period is the span of the figures: the twelve whole calendar months
// before the month of generation (UTC), From inclusive, To exclusive. A
// month in progress is never shown, so the figures of a period only grow
// when a new month closes.
type Period struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
}

// PeriodOf is the period of figures generated at now.
func PeriodOf(now time.Time) Period {
	now = now.UTC()
	to := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	return Period{From: to.AddDate(0, -12, 0), To: to}
}

// Figures are what the page counts over its period.
type Figures struct {
	Period Period `json:"period"`
	// MinGroup is the threshold under which consent figures are left out.
	MinGroup int             `json:"min_group"`
	Requests []RequestFigure `json:"requests"`
	Reveals  []RevealFigure  `json:"reveals"`
	Consent  []ConsentFigure `json:"consent"`
	GPC      []GPCFigure     `json:"gpc"`
}

// RequestFigure counts the rights requests of one kind received in the
// period: how many were completed, the median days from receipt to
// completion and the share completed by their deadline (the extended one
// when extended). Median and share are absent when none was completed.
type RequestFigure struct {
	Kind        string   `json:"kind"`
	Received    int      `json:"received"`
	Completed   int      `json:"completed"`
	MedianDays  *float64 `json:"median_days,omitempty"`
	OnTimeShare *float64 `json:"on_time_share,omitempty"`
}

// RevealFigure counts the personal data fields staff (in the console, or
// through a reveal key) read in plaintext in one month for one stated
// purpose. A purpose is free text a staff member typed, and may name the
// customer it was about, so it is published only when stated for at least
// MinGroup reveals that month; the rest are counted together under Purpose
// "" (other reasons).
type RevealFigure struct {
	Month   string `json:"month"`
	Purpose string `json:"purpose"`
	Reveals int    `json:"reveals"`
}

// ConsentFigure is, for one month and purpose, how the people (customers
// or devices) who chose decided last that month: the shares that accepted
// and that refused (a withdrawal counts as a refusal).
type ConsentFigure struct {
	Month         string  `json:"month"`
	Purpose       string  `json:"purpose"`
	People        int     `json:"people"`
	AcceptedShare float64 `json:"accepted_share"`
	RefusedShare  float64 `json:"refused_share"`
}

// GPCFigure is the share of the people who made a choice in a month whose
// browser sent Global Privacy Control.
type GPCFigure struct {
	Month  string  `json:"month"`
	People int     `json:"people"`
	Share  float64 `json:"share"`
}

// countFigures reads the figures of period from the stores, each an SQL
// aggregate: the ledger and the audit log are never read row by row.
func countFigures(ctx context.Context, store *db.DB, period Period) (Figures, error) {
	f := Figures{Period: period, MinGroup: MinGroup, Requests: []RequestFigure{}, Reveals: []RevealFigure{}, Consent: []ConsentFigure{}, GPC: []GPCFigure{}}
	from, to := period.From.UnixMicro(), period.To.UnixMicro()
	err := store.ReadTx(ctx, func(tx *sql.Tx) error {
		var err error
		if f.Requests, err = requestFigures(ctx, tx, from, to); err != nil {
			return err
		}
		if f.Reveals, err = revealFigures(ctx, tx, store.Dialect, from, to); err != nil {
			return err
		}
		if f.Consent, err = consentFigures(ctx, tx, store, from, to); err != nil {
			return err
		}
		f.GPC, err = gpcFigures(ctx, tx, store, from, to)
		return err
	})
	if err != nil {
		return Figures{}, fmt.Errorf("transparency figures: %w", err)
	}
	return f, nil
}

// month is the SQL expression of the UTC month ("2026-03") of a column of
// Unix microseconds.
func month(dialect db.Dialect, column string) string {
	if dialect == db.Postgres {
		return "to_char(to_timestamp(" + column + " / 1000000) AT TIME ZONE 'UTC', 'YYYY-MM')"
	}
	return "strftime('%Y-%m', " + column + " / 1000000, 'unixepoch')"
}

// requestFigures counts per kind in SQL; the median needs the completed
// requests' durations, one number each, read in order (requests are few:
// thousands a year where the ledger holds millions of events).
func requestFigures(ctx context.Context, tx *sql.Tx, from, to int64) ([]RequestFigure, error) {
	byKind := map[string]*RequestFigure{}
	for _, k := range dsr.Kinds {
		byKind[string(k)] = &RequestFigure{Kind: string(k)}
	}
	rows, err := tx.QueryContext(ctx, `SELECT kind, COUNT(*),
		SUM(CASE WHEN state = $3 AND closed_at IS NOT NULL THEN 1 ELSE 0 END),
		SUM(CASE WHEN state = $3 AND closed_at IS NOT NULL AND closed_at <= COALESCE(extended_until, due_at) THEN 1 ELSE 0 END)
		FROM dsr_requests WHERE received_at >= $1 AND received_at < $2 GROUP BY kind`, from, to, string(dsr.StateCompleted))
	if err != nil {
		return nil, fmt.Errorf("count requests: %w", err)
	}
	onTime := map[string]int{}
	for rows.Next() {
		var kind string
		var received, completed, inTime int
		if err := rows.Scan(&kind, &received, &completed, &inTime); err != nil {
			rows.Close()
			return nil, fmt.Errorf("count requests: %w", err)
		}
		fig := byKind[kind]
		if fig == nil {
			fig = &RequestFigure{Kind: kind}
			byKind[kind] = fig
		}
		fig.Received, fig.Completed, onTime[kind] = received, completed, inTime
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count requests: %w", err)
	}
	rows, err = tx.QueryContext(ctx, `SELECT kind, closed_at - received_at FROM dsr_requests
		WHERE received_at >= $1 AND received_at < $2 AND state = $3 AND closed_at IS NOT NULL ORDER BY kind, closed_at - received_at`,
		from, to, string(dsr.StateCompleted))
	if err != nil {
		return nil, fmt.Errorf("request durations: %w", err)
	}
	durations := map[string][]int64{}
	for rows.Next() {
		var kind string
		var micros int64
		if err := rows.Scan(&kind, &micros); err != nil {
			rows.Close()
			return nil, fmt.Errorf("request durations: %w", err)
		}
		durations[kind] = append(durations[kind], micros)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("request durations: %w", err)
	}
	out := make([]RequestFigure, 0, len(byKind))
	for kind, fig := range byKind {
		if d := durations[kind]; len(d) > 0 {
			median := medianDays(d)
			share := round(float64(onTime[kind]) / float64(fig.Completed))
			fig.MedianDays, fig.OnTimeShare = &median, &share
		}
		out = append(out, *fig)
	}
	slices.SortFunc(out, func(a, b RequestFigure) int { return kindOrder(a.Kind) - kindOrder(b.Kind) })
	return out, nil
}

// kindOrder puts the kinds in dsr.Kinds order, unknown ones last.
func kindOrder(kind string) int {
	if i := slices.Index(dsr.Kinds, dsr.Kind(kind)); i >= 0 {
		return i
	}
	return len(dsr.Kinds)
}

// medianDays is the median of sorted durations in microseconds, in days
// to one decimal.
func medianDays(sorted []int64) float64 {
	n := len(sorted)
	var micros float64
	if n%2 == 1 {
		micros = float64(sorted[n/2])
	} else {
		micros = (float64(sorted[n/2-1]) + float64(sorted[n/2])) / 2
	}
	return math.Round(micros/float64(24*time.Hour/time.Microsecond)*10) / 10
}

// round keeps three decimals of a share.
func round(share float64) float64 { return math.Round(share*1000) / 1000 }

// revealFigures counts plaintext reads by month and stated purpose in
// SQL, then folds the purposes stated for fewer than MinGroup reveals into
// one line per month.
func revealFigures(ctx context.Context, tx *sql.Tx, dialect db.Dialect, from, to int64) ([]RevealFigure, error) {
	purpose := "json_extract(details, '$.purpose')"
	if dialect == db.Postgres {
		purpose = "(details::jsonb ->> 'purpose')"
	}
	rows, err := tx.QueryContext(ctx, `SELECT m, p, COUNT(*) FROM (SELECT `+month(dialect, "at")+` AS m, COALESCE(`+purpose+`, '') AS p
		FROM audit_entries WHERE action IN ($1, $2) AND at >= $3 AND at < $4) r GROUP BY m, p ORDER BY m, p`,
		reveal.ActionReveal, reveal.ActionDetokenize, from, to)
	if err != nil {
		return nil, fmt.Errorf("count reveals: %w", err)
	}
	defer rows.Close()
	out := []RevealFigure{}
	other := map[string]int{}
	var months []string
	for rows.Next() {
		var f RevealFigure
		if err := rows.Scan(&f.Month, &f.Purpose, &f.Reveals); err != nil {
			return nil, fmt.Errorf("count reveals: %w", err)
		}
		if len(months) == 0 || months[len(months)-1] != f.Month {
			months = append(months, f.Month)
		}
		if f.Reveals < MinGroup || f.Purpose == "" {
			other[f.Month] += f.Reveals
			continue
		}
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count reveals: %w", err)
	}
	for _, m := range months {
		if n := other[m]; n > 0 {
			out = append(out, RevealFigure{Month: m, Reveals: n})
		}
	}
	slices.SortStableFunc(out, func(a, b RevealFigure) int {
		return cmp.Or(cmp.Compare(a.Month, b.Month), cmp.Compare(b.Reveals, a.Reveals))
	})
	return out, nil
}

// person is the SQL expression of who made a choice: the customer, else
// the device (prefixed, so that the two id spaces never meet).
const person = "COALESCE('s:' || subject_id, 'd:' || device_id)"

// consentFigures takes each person's last purpose-level choice per month
// and purpose, and shares them out; groups under MinGroup are dropped by
// the query itself.
func consentFigures(ctx context.Context, tx *sql.Tx, store *db.DB, from, to int64) ([]ConsentFigure, error) {
	rows, err := tx.QueryContext(ctx, `SELECT m, purpose, COUNT(*), SUM(CASE WHEN action = 'grant' THEN 1 ELSE 0 END) FROM (
			SELECT `+month(store.Dialect, "at")+` AS m, purpose, action,
				ROW_NUMBER() OVER (PARTITION BY `+month(store.Dialect, "at")+`, purpose, `+person+` ORDER BY seq DESC) AS n
			FROM consent_events WHERE at >= $1 AND at < $2 AND vendor = '' AND action IN ('grant', 'deny', 'withdraw')
		) c WHERE n = 1 GROUP BY m, purpose HAVING COUNT(*) >= $3 ORDER BY m, purpose`, from, to, MinGroup)
	if err != nil {
		return nil, fmt.Errorf("count consents: %w", err)
	}
	defer rows.Close()
	out := []ConsentFigure{}
	for rows.Next() {
		var f ConsentFigure
		var accepted int
		if err := rows.Scan(&f.Month, &f.Purpose, &f.People, &accepted); err != nil {
			return nil, fmt.Errorf("count consents: %w", err)
		}
		f.AcceptedShare = round(float64(accepted) / float64(f.People))
		f.RefusedShare = round(float64(f.People-accepted) / float64(f.People))
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count consents: %w", err)
	}
	return out, nil
}

// gpcFigures is, per month, the share of the people who made any choice
// whose browser sent GPC with one.
func gpcFigures(ctx context.Context, tx *sql.Tx, store *db.DB, from, to int64) ([]GPCFigure, error) {
	rows, err := tx.QueryContext(ctx, `SELECT m, COUNT(DISTINCT p), COUNT(DISTINCT CASE WHEN g THEN p END) FROM (
			SELECT `+month(store.Dialect, "at")+` AS m, `+person+` AS p, gpc = `+store.Bool(true)+` AS g
			FROM consent_events WHERE at >= $1 AND at < $2
		) c GROUP BY m HAVING COUNT(DISTINCT p) >= $3 ORDER BY m`, from, to, MinGroup)
	if err != nil {
		return nil, fmt.Errorf("count gpc: %w", err)
	}
	defer rows.Close()
	out := []GPCFigure{}
	for rows.Next() {
		var f GPCFigure
		var withGPC int
		if err := rows.Scan(&f.Month, &f.People, &withGPC); err != nil {
			return nil, fmt.Errorf("count gpc: %w", err)
		}
		f.Share = round(float64(withGPC) / float64(f.People))
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count gpc: %w", err)
	}
	return out, nil
}
