package analytics

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/db"
)

// Dimension is what the breakdown groups by.
type Dimension string

// The dimensions, each a column of consent_rollups.
const (
	ByPurpose      Dimension = "purpose"
	ByProperty     Dimension = "property"
	ByJurisdiction Dimension = "jurisdiction"
	ByNotice       Dimension = "notice"
	BySource       Dimension = "source"
)

// Dimensions lists the dimensions in the order pages offer them.
var Dimensions = []Dimension{ByPurpose, ByProperty, ByJurisdiction, ByNotice, BySource}

var columns = map[Dimension]string{ByPurpose: "purpose", ByProperty: "property", ByJurisdiction: "jurisdiction",
	ByNotice: "notice_version", BySource: "source"}

// Period is the step of the series over time.
type Period string

// The periods: UTC days, or ISO weeks (Monday to Sunday, UTC).
const (
	Daily  Period = "day"
	Weekly Period = "week"
)

// FormsSource, as Filter.Source, stands for every form's source
// (form:<id>).
const FormsSource = "forms"

// Sources are the sources a filter may name: the ledger's own, and
// FormsSource.
var Sources = []string{string(consent.SourceBanner), string(consent.SourcePortal), string(consent.SourceGPC), FormsSource,
	string(consent.SourceAPI), string(consent.SourceImport), string(consent.SourcePreferences)}

// MaxDays bounds a filter's range.
const MaxDays = 3 * 366

// Filter selects the choices a Report counts. From and To are UTC days,
// both included; an empty dimension field means every value.
type Filter struct {
	From, To                                        time.Time
	Purpose, Property, Jurisdiction, Notice, Source string
	By                                              Dimension
	Every                                           Period
}

// ParseFilter reads a filter from a query string (from, to as
// 2006-01-02; purpose, property, jurisdiction, notice, source; by; every).
// Without dates it covers the 90 days up to today. It returns the fields
// at fault with the filter as far as it could read it.
func ParseFilter(q url.Values, today time.Time) (Filter, map[string]string) {
	today = day(today)
	f := Filter{To: today, From: today.AddDate(0, 0, -89), By: ByPurpose, Every: Daily,
		Purpose: strings.TrimSpace(q.Get("purpose")), Property: strings.TrimSpace(q.Get("property")),
		Jurisdiction: strings.ToUpper(strings.TrimSpace(q.Get("jurisdiction"))), Notice: strings.TrimSpace(q.Get("notice")),
		Source: strings.TrimSpace(q.Get("source"))}
	problems := map[string]string{}
	for _, d := range []struct {
		field string
		into  *time.Time
	}{{"from", &f.From}, {"to", &f.To}} {
		if v := strings.TrimSpace(q.Get(d.field)); v != "" {
			t, err := time.Parse(time.DateOnly, v)
			if err != nil {
				problems[d.field] = "date"
				continue
			}
			*d.into = t
		}
	}
	if f.To.Before(f.From) {
		problems["to"] = "order"
		f.From, f.To = f.To, f.From
	}
	if f.To.Sub(f.From) > MaxDays*24*time.Hour {
		problems["from"] = "range"
		f.From = f.To.AddDate(0, 0, -MaxDays)
	}
	if v := q.Get("by"); v != "" {
		if _, ok := columns[Dimension(v)]; !ok {
			problems["by"] = "choice"
		} else {
			f.By = Dimension(v)
		}
	}
	if v := q.Get("every"); v != "" {
		if v != string(Daily) && v != string(Weekly) {
			problems["every"] = "choice"
		} else {
			f.Every = Period(v)
		}
	}
	if f.Source != "" && !slices.Contains(Sources, f.Source) {
		problems["source"] = "choice"
		f.Source = ""
	}
	if f.Jurisdiction != "" && !consent.ValidJurisdiction(f.Jurisdiction) {
		problems["jurisdiction"] = "code"
		f.Jurisdiction = ""
	}
	if len(problems) == 0 {
		problems = nil
	}
	return f, problems
}

// Query is the filter as a query string, for links and the CSV export.
func (f Filter) Query() url.Values {
	q := url.Values{"from": {f.From.Format(time.DateOnly)}, "to": {f.To.Format(time.DateOnly)}, "by": {string(f.By)}, "every": {string(f.Every)}}
	for k, v := range map[string]string{"purpose": f.Purpose, "property": f.Property, "jurisdiction": f.Jurisdiction, "notice": f.Notice, "source": f.Source} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q
}

// MinGroup is the fewest choices a figure of a report may count. The
// rollups name no one, but a narrow filter (a day, a property, a
// jurisdiction, a source) can narrow a figure down to a handful of
// choices, which someone who knows who visited that day could tell apart:
// a figure of 1 to MinGroup-1 choices is withheld (Counts.Small) and
// shown as "< MinGroup". Ten is the usual floor of small-cell suppression
// in published statistics; the transparency page, public and per month,
// uses a higher one (transparency.MinGroup, 50), which would blank most
// days of a small site here, where only staff entitled to aggregates look.
const MinGroup = 10

// Counts are choices by outcome.
type Counts struct {
	Grants, Denials, Withdrawals, Objections int64
	// Small says the figure counted 1 to MinGroup-1 choices (or was
	// withheld so that it cannot be worked out from the others): its
	// counts are then zero and the pages say "< MinGroup" instead.
	Small bool
}

// withhold zeroes c's counts and marks it Small.
func (c *Counts) withhold() { *c = Counts{Small: true} }

// suppress withholds the figures of rows (the parts of one shown total)
// that count 1 to floor-1 choices; when that is a single row, the smallest
// other non-empty row too, so that the total minus the others does not
// give it away.
func suppress(rows []*Counts, floor int64) {
	var withheld int
	var next *Counts
	for _, c := range rows {
		t := c.Total()
		switch {
		case t > 0 && t < floor:
			c.withhold()
			withheld++
		case t > 0 && (next == nil || t < next.Total()):
			next = c
		}
	}
	if withheld == 1 && next != nil {
		next.withhold()
	}
}

// Total is every choice counted.
func (c Counts) Total() int64 { return c.Grants + c.Denials + c.Withdrawals + c.Objections }

func (c *Counts) add(o Counts) {
	c.Grants += o.Grants
	c.Denials += o.Denials
	c.Withdrawals += o.Withdrawals
	c.Objections += o.Objections
}

// share is n in percent of c's total, 0 when there is none.
func (c Counts) share(n int64) float64 {
	if t := c.Total(); t > 0 {
		return 100 * float64(n) / float64(t)
	}
	return 0
}

// GrantShare, DenialShare, WithdrawalShare and ObjectionShare are the
// outcomes in percent of the choices.
func (c Counts) GrantShare() float64      { return c.share(c.Grants) }
func (c Counts) DenialShare() float64     { return c.share(c.Denials) }
func (c Counts) WithdrawalShare() float64 { return c.share(c.Withdrawals) }
func (c Counts) ObjectionShare() float64  { return c.share(c.Objections) }

// Point is the choices of one day or week (Start, UTC midnight).
type Point struct {
	Start time.Time
	Counts
}

// Group is the choices of one value of the breakdown's dimension.
type Group struct {
	Key string
	Counts
}

// NoticeChange compares, per purpose, the choices recorded under a notice
// version with those under the one published before it.
type NoticeChange struct {
	From, To string
	Purposes []NoticeEffect
}

// NoticeEffect is one purpose's choices before and after a change.
type NoticeEffect struct {
	Purpose       string
	Before, After Counts
}

// Delta is the change of the grant share, in percentage points (0 when
// either side is withheld, see Known).
func (e NoticeEffect) Delta() float64 {
	if !e.Known() {
		return 0
	}
	return e.After.GrantShare() - e.Before.GrantShare()
}

// Known says neither side of the change is withheld (Counts.Small).
func (e NoticeEffect) Known() bool { return !e.Before.Small && !e.After.Small }

// Report is what a filter selects: the series over time (every period of
// the range, empty ones too), the total, the breakdown (largest first) and
// the notice changes.
type Report struct {
	Filter    Filter
	Series    []Point
	Total     Counts
	Breakdown []Group
	Changes   []NoticeChange
}

func day(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

func dayNumber(t time.Time) int64 { return day(t).Unix() / 86400 }

// weekStart is the Monday of the ISO week of day number d (1970-01-01 was
// a Thursday).
func weekStart(d int64) int64 { return d - (d+3)%7 }

// sums are the outcome columns summed, as BIGINT on both engines
// (PostgreSQL's SUM of a BIGINT is a NUMERIC).
const sums = `CAST(SUM(grants) AS BIGINT), CAST(SUM(denials) AS BIGINT), CAST(SUM(withdrawals) AS BIGINT), CAST(SUM(objections) AS BIGINT)`

// where is the filter as SQL conditions and their arguments.
func (f Filter) where() (string, []any) {
	conds := []string{"day >= $1", "day <= $2"}
	args := []any{dayNumber(f.From), dayNumber(f.To)}
	for _, c := range []struct{ column, value string }{{"purpose", f.Purpose}, {"property", f.Property},
		{"jurisdiction", f.Jurisdiction}, {"notice_version", f.Notice}} {
		if c.value != "" {
			args = append(args, c.value)
			conds = append(conds, fmt.Sprintf("%s = $%d", c.column, len(args)))
		}
	}
	switch f.Source {
	case "":
	case FormsSource:
		conds = append(conds, "source LIKE 'form:%'")
	default:
		args = append(args, f.Source)
		conds = append(conds, fmt.Sprintf("source = $%d", len(args)))
	}
	return strings.Join(conds, " AND "), args
}

// dimensions are the columns among property, jurisdiction and source
// that f filters on.
func (f Filter) dimensions() map[string]bool {
	d := map[string]bool{}
	for c, v := range map[string]string{"property": f.Property, "jurisdiction": f.Jurisdiction, "source": f.Source} {
		if v != "" {
			d[c] = true
		}
	}
	return d
}

// table is the smallest rollup table that keeps dims: the tables are
// listed the full cells first, each other one smaller.
func table(dims map[string]bool) string {
	best := consent.RollupTables[0]
	for _, t := range consent.RollupTables[1:] {
		covers := true
		for d := range dims {
			covers = covers && t.Has(d)
		}
		if covers && len(t.Dims) < len(best.Dims) {
			best = t
		}
	}
	return best.Name
}

// Query reads the report of f from the rollups. noticeOrder lists the
// notice versions in publication order: the changes compare each version
// with the one before it.
func (s *Service) Query(ctx context.Context, f Filter, noticeOrder []string) (*Report, error) {
	if f.By == "" {
		f.By = ByPurpose
	}
	if f.Every == "" {
		f.Every = Daily
	}
	column, ok := columns[f.By]
	if !ok {
		return nil, fmt.Errorf("analytics: no dimension %q", f.By)
	}
	if s.flush != nil {
		if err := s.flush(ctx); err != nil {
			return nil, fmt.Errorf("write pending rollups: %w", err)
		}
	}
	where, args := f.where()
	// Each aggregate reads the smallest table that holds the dimensions it
	// filters and groups by.
	filtered := f.dimensions()
	seriesTable := table(filtered)
	if f.By != ByPurpose && f.By != ByNotice {
		filtered[column] = true
	}
	groupTable := table(filtered)
	r := &Report{Filter: f}
	byDay := map[int64]Counts{}
	type cell struct{ purpose, version, key string }
	cells := map[cell]Counts{}
	// Two aggregates of the same rows, side by side (reads do not queue
	// behind each other on either engine): the days, and the purposes ×
	// versions × the breakdown's dimension (× the other dimensions, from
	// the full cells), from which the breakdown and the notice changes are
	// summed here (a few thousand rows at most).
	group := []string{"purpose", "notice_version"}
	if f.By != ByPurpose && f.By != ByNotice {
		group = append(group, column)
	}
	groupFrom := groupTable
	if groupTable == consent.RollupTables[0].Name && s.db.Dialect == db.SQLite {
		// The full cells on SQLite: grouped by every dimension, in the
		// order of the index consent_rollups_by_property (migration 0048),
		// and read through it: a view of one property reads that
		// property's cells, the others every cell, in group order, summed
		// as they come without a sort (sorting the cells of the range was
		// most of such a view's cost); the few thousand rows are summed
		// here. PostgreSQL hashes instead of sorting and groups as the
		// other tables.
		group = []string{"property", "purpose", "notice_version", "jurisdiction", "source"}
		groupFrom += " INDEXED BY consent_rollups_by_property"
	}
	at := func(col string) int { return slices.Index(group, col) }
	purposeAt, versionAt, keyAt := at("purpose"), at("notice_version"), at(column)
	queries := []struct {
		sql  string
		scan func(func(...any) error) error
	}{
		{`SELECT day, ` + sums + ` FROM ` + seriesTable + ` WHERE ` + where + ` GROUP BY day`, func(scan func(...any) error) error {
			var d int64
			var c Counts
			err := scan(&d, &c.Grants, &c.Denials, &c.Withdrawals, &c.Objections)
			byDay[d] = c
			return err
		}},
		{`SELECT ` + strings.Join(group, ", ") + `, ` + sums + ` FROM ` + groupFrom + ` WHERE ` + where + ` GROUP BY ` + strings.Join(group, ", "), func(scan func(...any) error) error {
			keys := make([]string, len(group))
			dest := make([]any, 0, len(group)+4)
			for i := range keys {
				dest = append(dest, &keys[i])
			}
			var c Counts
			if err := scan(append(dest, &c.Grants, &c.Denials, &c.Withdrawals, &c.Objections)...); err != nil {
				return err
			}
			k := cell{purpose: keys[purposeAt], version: keys[versionAt]}
			if f.By != ByPurpose && f.By != ByNotice {
				k.key = keys[keyAt]
			}
			sum := cells[k]
			sum.add(c)
			cells[k] = sum
			return nil
		}},
	}
	errs := make([]error, len(queries))
	var wg sync.WaitGroup
	for i, q := range queries {
		wg.Go(func() { errs[i] = s.each(ctx, q.sql, args, q.scan) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, db.Classify(fmt.Errorf("read rollups: %w", err))
		}
	}
	type byVersion struct{ purpose, version string }
	versions := map[byVersion]Counts{}
	groups := map[string]Counts{}
	for k, c := range cells {
		v := versions[byVersion{k.purpose, k.version}]
		v.add(c)
		versions[byVersion{k.purpose, k.version}] = v
		key := k.key
		switch f.By {
		case ByPurpose:
			key = k.purpose
		case ByNotice:
			key = k.version
		}
		g := groups[key]
		g.add(c)
		groups[key] = g
	}
	for key, c := range groups {
		r.Breakdown = append(r.Breakdown, Group{Key: key, Counts: c})
	}

	from, to := dayNumber(f.From), dayNumber(f.To)
	step := int64(1)
	first := from
	if f.Every == Weekly {
		step, first = 7, weekStart(from)
	}
	for d := first; d <= to; d += step {
		var c Counts
		for i := max(d, from); i < d+step && i <= to; i++ {
			c.add(byDay[i])
		}
		r.Series = append(r.Series, Point{Start: time.Unix(d*86400, 0).UTC(), Counts: c})
		r.Total.add(c)
	}
	slices.SortFunc(r.Breakdown, func(a, b Group) int { return cmp.Or(cmp.Compare(b.Total(), a.Total()), cmp.Compare(a.Key, b.Key)) })

	purposes := map[string]bool{}
	present := map[string]bool{}
	for k := range versions {
		purposes[k.purpose], present[k.version] = true, true
	}
	var order []string
	for _, v := range noticeOrder {
		if present[v] {
			order = append(order, v)
		}
	}
	r.suppress(s.minGroup)
	for i := 1; i < len(order); i++ {
		change := NoticeChange{From: order[i-1], To: order[i]}
		for _, p := range slices.Sorted(maps.Keys(purposes)) {
			before, after := versions[byVersion{p, change.From}], versions[byVersion{p, change.To}]
			if before.Total() > 0 && after.Total() > 0 {
				for _, c := range []*Counts{&before, &after} {
					if c.Total() < s.minGroup {
						c.withhold()
					}
				}
				change.Purposes = append(change.Purposes, NoticeEffect{Purpose: p, Before: before, After: after})
			}
		}
		if len(change.Purposes) > 0 {
			r.Changes = append(r.Changes, change)
		}
	}
	return r, nil
}

// suppress withholds the series' and the breakdown's small figures (see
// MinGroup), and the total when it is small itself.
func (r *Report) suppress(floor int64) {
	points := make([]*Counts, len(r.Series))
	for i := range r.Series {
		points[i] = &r.Series[i].Counts
	}
	suppress(points, floor)
	groups := make([]*Counts, len(r.Breakdown))
	for i := range r.Breakdown {
		groups[i] = &r.Breakdown[i].Counts
	}
	suppress(groups, floor)
	if t := r.Total.Total(); t > 0 && t < floor {
		r.Total.withhold()
	}
}

// each runs query and hands each row to scan.
func (s *Service) each(ctx context.Context, query string, args []any, scan func(func(...any) error) error) error {
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows.Scan); err != nil {
			return err
		}
	}
	return rows.Err()
}
