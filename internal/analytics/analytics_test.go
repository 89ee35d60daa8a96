package analytics_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"math/rand/v2"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/analytics"
	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/receipt"
)

var (
	d1 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC) // a Monday
	d2 = d1.AddDate(0, 0, 1)
	d3 = d1.AddDate(0, 0, 8) // the next week
)

// openLedger returns a consent service on store with two properties, two
// purposes and two published notices, v1 then v2.
func openLedger(t testing.TB, store *db.DB) *consent.Service {
	t.Helper()
	ctx := context.Background()
	key, err := receipt.LoadOrCreateKey(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	signer, err := receipt.NewSigner(key)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := consent.Open(ctx, consent.Config{DB: store, Signer: signer, FollowInterval: -1,
		Now: func() time.Time { return d3.Add(time.Hour) }, Controller: receipt.Controller{PIIController: "Example Shop"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{"shop", "blog"} {
		must(svc.PutProperty(ctx, consent.Property{Key: p, Name: strings.ToUpper(p), Domains: []string{p + ".example"}, DefaultJurisdiction: "DE"}, true))
	}
	for i, p := range []string{"analytics", "marketing"} {
		must(svc.PutPurpose(ctx, consent.Purpose{Key: p, Names: map[string]string{"en": p}, LegalBasis: consent.BasisConsent, Position: i + 1}, true))
	}
	must(svc.PutVendor(ctx, consent.Vendor{Key: "metrics-co", Name: "Metrics Co", Purposes: []string{"analytics"}, Country: "IE"}, true))
	for _, v := range []string{"v1", "v2"} {
		must(svc.PutNotice(ctx, consent.Notice{Version: v, Texts: map[string]string{"en": "We use data " + v}, Material: true}, true, true))
	}
	return svc
}

type choice struct {
	at                                      time.Time
	property, purpose, jurisdiction, notice string
	source                                  consent.Source
	action                                  consent.Action
	n                                       int
}

func events(prefix string, choices ...choice) []consent.Event {
	var out []consent.Event
	for i, c := range choices {
		for j := range c.n {
			out = append(out, consent.Event{ID: fmt.Sprintf("%s-%d-%d", prefix, i, j), Property: c.property, Device: fmt.Sprintf("dev-%d-%d", i, j),
				Purpose: c.purpose, Action: c.action, Source: c.source, NoticeVersion: c.notice, Jurisdiction: c.jurisdiction, At: c.at})
		}
	}
	return out
}

// knownWorkload appends 19 purpose-level choices (and one vendor-level
// choice and one retried event, which count nothing more).
func knownWorkload(t *testing.T, svc *consent.Service) {
	t.Helper()
	ctx := context.Background()
	batch := events("k",
		choice{d1, "shop", "analytics", "DE", "v1", consent.SourceBanner, consent.ActionGrant, 3},
		choice{d1, "shop", "analytics", "DE", "v1", consent.SourceBanner, consent.ActionDeny, 1},
		choice{d1, "shop", "marketing", "DE", "v1", consent.SourceBanner, consent.ActionGrant, 1},
		choice{d1, "shop", "marketing", "DE", "v1", consent.SourceBanner, consent.ActionDeny, 3},
		choice{d2, "shop", "analytics", "DE", "v2", consent.SourceBanner, consent.ActionGrant, 4},
		choice{d2, "shop", "marketing", "DE", "v2", consent.SourceBanner, consent.ActionGrant, 2},
		choice{d2, "shop", "marketing", "DE", "v2", consent.SourceBanner, consent.ActionDeny, 1},
		choice{d2, "shop", "marketing", "DE", "v2", consent.SourceBanner, consent.ActionWithdraw, 1},
		choice{d2, "shop", "marketing", "US-CA", "v2", consent.SourceGPC, consent.ActionDeny, 1},
		choice{d3, "blog", "analytics", "FR", "v2", consent.SourcePortal, consent.ActionWithdraw, 1},
		choice{d3, "blog", "marketing", "FR", "v2", consent.FormSource("newsletter"), consent.ActionObject, 1},
	)
	vendorLevel := events("vendor", choice{d1, "shop", "analytics", "DE", "v1", consent.SourceBanner, consent.ActionGrant, 1})
	vendorLevel[0].Vendor = "metrics-co"
	if _, err := svc.Append(ctx, batch[:10]); err != nil {
		t.Fatal(err)
	}
	// The rest one by one, concurrently (group commit), with the first
	// event retried: a duplicate, counted once.
	var wg sync.WaitGroup
	for _, e := range append(append(batch[10:], vendorLevel...), batch[0]) {
		wg.Go(func() {
			if _, err := svc.Append(ctx, []consent.Event{e}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
}

// TestSharesOfAKnownWorkload: the report of a known workload counts and
// shares it out exactly, by day, by week, by dimension and per notice
// change, and the filters narrow it; the CSV says the same figures.
func TestSharesOfAKnownWorkload(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		svc := openLedger(t, store)
		knownWorkload(t, svc)
		a := analytics.New(store, nil).WithFlush(svc.FlushRollups)
		a.SetMinGroupForTest(1) // the workload's figures are a handful of choices each
		query := func(q string) *analytics.Report {
			t.Helper()
			values, _ := url.ParseQuery(q)
			f, problems := analytics.ParseFilter(values, d3)
			if problems != nil {
				t.Fatalf("%s: %v", q, problems)
			}
			r, err := a.Query(ctx, f, []string{"v1", "v2"})
			if err != nil {
				t.Fatal(err)
			}
			return r
		}
		r := query("from=2026-03-02&to=2026-03-10")
		if len(r.Series) != 9 || r.Total.Total() != 19 {
			t.Fatalf("series of %d days, %d choices; want 9, 19", len(r.Series), r.Total.Total())
		}
		if got, want := r.Series[0].Counts, (analytics.Counts{Grants: 4, Denials: 4}); got != want {
			t.Errorf("day 1 = %+v, want %+v", got, want)
		}
		if got, want := r.Series[1].Counts, (analytics.Counts{Grants: 6, Denials: 2, Withdrawals: 1}); got != want {
			t.Errorf("day 2 = %+v, want %+v", got, want)
		}
		if s := analytics.Share(r.Series[1].GrantShare()); s != "66.7" {
			t.Errorf("day 2 grant share %s, want 66.7", s)
		}
		if got, want := r.Series[8].Counts, (analytics.Counts{Withdrawals: 1, Objections: 1}); got != want {
			t.Errorf("day 9 = %+v, want %+v", got, want)
		}
		byPurpose := map[string]analytics.Counts{}
		for _, g := range r.Breakdown {
			byPurpose[g.Key] = g.Counts
		}
		if want := (map[string]analytics.Counts{"analytics": {Grants: 7, Denials: 1, Withdrawals: 1}, "marketing": {Grants: 3, Denials: 5, Withdrawals: 1, Objections: 1}}); !reflect.DeepEqual(byPurpose, want) {
			t.Errorf("by purpose %+v, want %+v", byPurpose, want)
		}
		if r.Breakdown[0].Key != "marketing" || analytics.Share(r.Breakdown[1].GrantShare()) != "77.8" || analytics.Share(r.Breakdown[0].GrantShare()) != "30.0" {
			t.Errorf("breakdown order or shares: %+v", r.Breakdown)
		}
		if len(r.Changes) != 1 || r.Changes[0].From != "v1" || r.Changes[0].To != "v2" || len(r.Changes[0].Purposes) != 2 {
			t.Fatalf("changes %+v", r.Changes)
		}
		for _, c := range []struct {
			effect        analytics.NoticeEffect
			before, after string
		}{{r.Changes[0].Purposes[0], "75.0", "80.0"}, {r.Changes[0].Purposes[1], "25.0", "33.3"}} {
			if b, a := analytics.Share(c.effect.Before.GrantShare()), analytics.Share(c.effect.After.GrantShare()); b != c.before || a != c.after {
				t.Errorf("%s: before %s after %s, want %s %s", c.effect.Purpose, b, a, c.before, c.after)
			}
		}

		weekly := query("from=2026-03-02&to=2026-03-10&every=week&by=source")
		if len(weekly.Series) != 2 || weekly.Series[0].Total() != 17 || weekly.Series[1].Total() != 2 || !weekly.Series[1].Start.Equal(d3.Truncate(24*time.Hour).AddDate(0, 0, -1)) {
			t.Errorf("weekly %+v", weekly.Series)
		}
		sources := map[string]int64{}
		for _, g := range weekly.Breakdown {
			sources[g.Key] = g.Total()
		}
		if want := (map[string]int64{"banner": 16, "gpc": 1, "portal": 1, "form:newsletter": 1}); !reflect.DeepEqual(sources, want) {
			t.Errorf("by source %v, want %v", sources, want)
		}
		for q, want := range map[string]int64{
			"from=2026-03-02&to=2026-03-10&source=gpc":                  1,
			"from=2026-03-02&to=2026-03-10&source=forms":                1,
			"from=2026-03-02&to=2026-03-10&property=blog":               2,
			"from=2026-03-02&to=2026-03-10&jurisdiction=us-ca":          1,
			"from=2026-03-02&to=2026-03-10&notice=v1":                   8,
			"from=2026-03-02&to=2026-03-10&purpose=analytics":           9,
			"from=2026-03-03&to=2026-03-03":                             9,
			"from=2026-03-02&to=2026-03-10&purpose=nope":                0,
			"from=2026-03-02&to=2026-03-02&purpose=marketing&by=notice": 4,
		} {
			if got := query(q).Total.Total(); got != want {
				t.Errorf("%s: %d choices, want %d", q, got, want)
			}
		}

		// The CSV holds the same figures as the report.
		var buf bytes.Buffer
		if err := analytics.WriteCSV(&buf, r); err != nil {
			t.Fatal(err)
		}
		rows, err := csv.NewReader(&buf).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if want := 1 + 9 + 2 + 4; len(rows) != want || !slices.Equal(rows[0], analytics.CSVHeader) {
			t.Fatalf("%d rows, want %d: %v", len(rows), want, rows)
		}
		for _, want := range [][]string{
			{"over_time", "2026-03-03", "", "", "9", "6", "2", "1", "0", "66.7", "22.2", "11.1", "0.0"},
			{"by_purpose", "analytics", "", "", "9", "7", "1", "1", "0", "77.8", "11.1", "11.1", "0.0"},
			{"notice_after", "marketing", "v1", "v2", "6", "2", "2", "1", "1", "33.3", "33.3", "16.7", "16.7"},
		} {
			if !slices.ContainsFunc(rows, func(row []string) bool { return slices.Equal(row, want) }) {
				t.Errorf("CSV lacks %v", want)
			}
		}
	})
}

func TestParseFilterNamesFieldsAtFault(t *testing.T) {
	today := d3
	for q, want := range map[string][]string{
		"":                                       nil,
		"from=2026-13-01":                        {"from"},
		"from=2026-03-10&to=2026-03-01":          {"to"},
		"from=2020-01-01&to=2026-03-01":          {"from"},
		"by=vendor&every=month":                  {"by", "every"},
		"source=mail&jurisdiction=Germany":       {"jurisdiction", "source"},
		"source=forms&jurisdiction=de&by=notice": nil,
	} {
		values, _ := url.ParseQuery(q)
		f, problems := analytics.ParseFilter(values, today)
		var got []string
		for k := range problems {
			got = append(got, k)
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("%q: problems %v, want %v", q, problems, want)
		}
		if f.To.Before(f.From) {
			t.Errorf("%q: range %v to %v", q, f.From, f.To)
		}
	}
	f, _ := analytics.ParseFilter(url.Values{}, today)
	if f.To.Format(time.DateOnly) != "2026-03-10" || f.From.Format(time.DateOnly) != "2025-12-11" || f.By != analytics.ByPurpose || f.Every != analytics.Daily {
		t.Errorf("default filter %+v", f)
	}
}

type rollupRow struct {
	Day                                             int64
	Purpose, Property, Jurisdiction, Notice, Source string
	Grants, Denials, Withdrawals, Objections        int64
}

func rollups(t *testing.T, store *db.DB) []rollupRow {
	t.Helper()
	rows, err := db.QueryAll(context.Background(), store, `SELECT day, purpose, property, jurisdiction, notice_version, source,
		grants, denials, withdrawals, objections FROM consent_rollups
		ORDER BY day, purpose, property, jurisdiction, notice_version, source`, nil, func(scan func(...any) error) (rollupRow, error) {
		var r rollupRow
		err := scan(&r.Day, &r.Purpose, &r.Property, &r.Jurisdiction, &r.Notice, &r.Source, &r.Grants, &r.Denials, &r.Withdrawals, &r.Objections)
		return r, err
	})
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func purposeRollups(t *testing.T, store *db.DB) []rollupRow {
	t.Helper()
	rows, err := db.QueryAll(context.Background(), store, `SELECT day, purpose, notice_version, grants, denials, withdrawals, objections
		FROM consent_rollups_purpose ORDER BY day, purpose, notice_version`, nil, func(scan func(...any) error) (rollupRow, error) {
		var r rollupRow
		err := scan(&r.Day, &r.Purpose, &r.Notice, &r.Grants, &r.Denials, &r.Withdrawals, &r.Objections)
		return r, err
	})
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// TestRebuildEqualsIncrementalRollups: after a mixed workload (batches
// and single events in parallel, duplicates, a conflicting retry that
// fails, vendor-level choices, every outcome and source), the rollups the
// appends kept equal those a rebuild computes from the ledger, sum to the
// ledger's purpose-level choices, and hold no subject or device id.
func TestRebuildEqualsIncrementalRollups(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		svc := openLedger(t, store)
		rng := rand.New(rand.NewPCG(1, 2))
		pick := func(xs ...string) string { return xs[rng.IntN(len(xs))] }
		var all []consent.Event
		for i := range 600 {
			e := consent.Event{ID: fmt.Sprintf("m-%d", i), Property: pick("shop", "blog"), Purpose: pick("analytics", "marketing"),
				Action: consent.Action(pick("grant", "grant", "deny", "withdraw", "object")),
				Source: consent.Source(pick("banner", "banner", "portal", "gpc", "form:signup", "api")), NoticeVersion: pick("v1", "v2"),
				Jurisdiction: pick("DE", "FR", "US-CA", "GB"), At: d1.Add(time.Duration(rng.IntN(20*24)) * time.Hour)}
			if rng.IntN(2) == 0 {
				e.Subject = fmt.Sprintf("subj-%d", rng.IntN(50))
			} else {
				e.Device = fmt.Sprintf("dev-%d", rng.IntN(50))
			}
			if rng.IntN(10) == 0 {
				e.Vendor = "metrics-co"
			}
			all = append(all, e)
		}
		// Chunks of 1 to 40 events (single events half the time), appended
		// by six workers at once.
		var chunks [][]consent.Event
		for rest := all; len(rest) > 0; {
			n := 1
			if rng.IntN(2) == 0 {
				n = 1 + rng.IntN(40)
			}
			n = min(n, len(rest))
			chunks, rest = append(chunks, rest[:n]), rest[n:]
		}
		var wg sync.WaitGroup
		for w := range 6 {
			wg.Go(func() {
				for i := w; i < len(chunks); i += 6 {
					if _, err := svc.Append(ctx, chunks[i]); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		// Retries: one faithful (a duplicate), one with other content (a
		// conflict, refused, nothing written).
		if _, err := svc.Append(ctx, all[:3]); err != nil {
			t.Fatal(err)
		}
		changed := all[5]
		changed.Action = consent.ActionDeny
		if changed.Action == all[5].Action {
			changed.Action = consent.ActionGrant
		}
		if _, err := svc.Append(ctx, []consent.Event{all[10], changed}); err == nil {
			t.Fatal("a conflicting retry was accepted")
		}

		if err := svc.FlushRollups(ctx); err != nil {
			t.Fatal(err)
		}
		incremental, incrementalByPurpose := rollups(t, store), purposeRollups(t, store)
		incrementalTables := allRollupTables(t, store)
		var counted, ledger int64
		for _, r := range incremental {
			counted += r.Grants + r.Denials + r.Withdrawals + r.Objections
			for _, v := range []string{r.Purpose, r.Property, r.Jurisdiction, r.Notice, r.Source} {
				if strings.HasPrefix(v, "subj-") || strings.HasPrefix(v, "dev-") || strings.HasPrefix(v, "m-") {
					t.Errorf("a rollup holds an identifier: %+v", r)
				}
			}
		}
		if err := store.QueryRowContext(ctx, `SELECT COUNT(*) FROM consent_events WHERE vendor = ''`).Scan(&ledger); err != nil {
			t.Fatal(err)
		}
		if counted != ledger || ledger == 0 {
			t.Fatalf("rollups count %d choices, the ledger holds %d", counted, ledger)
		}
		res, err := analytics.New(store, nil).Rebuild(ctx)
		if err != nil {
			t.Fatal(err)
		}
		rebuilt := rollups(t, store)
		if !reflect.DeepEqual(incremental, rebuilt) {
			t.Fatalf("rebuilt rollups differ from the incremental ones:\n%v\n%v", incremental, rebuilt)
		}
		if rebuiltByPurpose := purposeRollups(t, store); !reflect.DeepEqual(incrementalByPurpose, rebuiltByPurpose) || len(rebuiltByPurpose) == 0 {
			t.Fatalf("rebuilt rollups by purpose differ from the incremental ones:\n%v\n%v", incrementalByPurpose, rebuiltByPurpose)
		}
		if rebuiltTables := allRollupTables(t, store); !reflect.DeepEqual(incrementalTables, rebuiltTables) {
			t.Fatalf("rebuilt rollup tables differ from the incremental ones:\n%v\n%v", incrementalTables, rebuiltTables)
		}
		// Each table is the full cells summed over what it leaves out.
		for _, table := range consent.RollupTables[1:] {
			cols := strings.Join(table.Columns(), ", ")
			want := dump(t, store, `SELECT `+cols+`, CAST(SUM(grants) AS BIGINT), CAST(SUM(denials) AS BIGINT), CAST(SUM(withdrawals) AS BIGINT),
				CAST(SUM(objections) AS BIGINT) FROM consent_rollups GROUP BY `+cols)
			if got := incrementalTables[table.Name]; !reflect.DeepEqual(got, want) || len(got) == 0 {
				t.Errorf("%s holds\n%v\nthe full cells sum to\n%v", table.Name, got, want)
			}
		}
		// The rollups by purpose are the full ones summed.
		sums := map[rollupRow]rollupRow{}
		for _, r := range incremental {
			k := rollupRow{Day: r.Day, Purpose: r.Purpose, Notice: r.Notice}
			s := sums[k]
			s.Grants, s.Denials, s.Withdrawals, s.Objections = s.Grants+r.Grants, s.Denials+r.Denials, s.Withdrawals+r.Withdrawals, s.Objections+r.Objections
			sums[k] = s
		}
		for _, r := range incrementalByPurpose {
			k := rollupRow{Day: r.Day, Purpose: r.Purpose, Notice: r.Notice}
			if s := sums[k]; s.Grants != r.Grants || s.Denials != r.Denials || s.Withdrawals != r.Withdrawals || s.Objections != r.Objections {
				t.Errorf("by purpose %+v, the full rollups sum to %+v", r, s)
			}
		}
		if res.Events != ledger || res.Cells != int64(len(rebuilt)) {
			t.Errorf("rebuild says %+v; %d cells, %d choices", res, len(rebuilt), ledger)
		}
		// Appends after a rebuild add to the rebuilt cells.
		if _, err := svc.Append(ctx, events("after", choice{d1, "shop", "analytics", "DE", "v1", consent.SourceBanner, consent.ActionGrant, 2})); err != nil {
			t.Fatal(err)
		}
		if err := svc.FlushRollups(ctx); err != nil {
			t.Fatal(err)
		}
		var after int64
		if err := store.QueryRowContext(ctx, `SELECT COALESCE(SUM(grants + denials + withdrawals + objections), 0) FROM consent_rollups`).Scan(&after); err != nil {
			t.Fatal(err)
		}
		if after != ledger+2 {
			t.Errorf("after two more choices the rollups count %d, want %d", after, ledger+2)
		}
	})
}

// TestSmallFiguresAreWithheld: in a narrow filter, a figure of fewer
// than MinGroup choices is withheld in the report (counts zero, Small),
// the charts and the CSV ("< 10", no share), and so is the next smallest
// part of the same total when it alone is withheld; figures of MinGroup
// choices or more stay.
func TestSmallFiguresAreWithheld(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		svc := openLedger(t, store)
		// Day 1: 12 in DE; day 2: 15 in DE, 3 in FR (a narrow cell), 11 in
		// GB by the same notice.
		if _, err := svc.Append(ctx, events("s",
			choice{d1, "shop", "analytics", "DE", "v1", consent.SourceBanner, consent.ActionGrant, 8},
			choice{d1, "shop", "analytics", "DE", "v1", consent.SourceBanner, consent.ActionDeny, 4},
			choice{d2, "shop", "analytics", "DE", "v2", consent.SourceBanner, consent.ActionGrant, 15},
			choice{d2, "shop", "analytics", "FR", "v2", consent.SourceBanner, consent.ActionDeny, 2},
			choice{d2, "shop", "analytics", "FR", "v2", consent.SourcePortal, consent.ActionWithdraw, 1},
			choice{d2, "shop", "analytics", "GB", "v2", consent.SourceBanner, consent.ActionGrant, 11},
		)); err != nil {
			t.Fatal(err)
		}
		a := analytics.New(store, nil).WithFlush(svc.FlushRollups)
		query := func(q string) *analytics.Report {
			t.Helper()
			values, _ := url.ParseQuery(q + "&from=2026-03-02&to=2026-03-04")
			f, problems := analytics.ParseFilter(values, d3)
			if problems != nil {
				t.Fatalf("%s: %v", q, problems)
			}
			r, err := a.Query(ctx, f, []string{"v1", "v2"})
			if err != nil {
				t.Fatal(err)
			}
			return r
		}
		small := analytics.Counts{Small: true}

		// By jurisdiction: FR (3) is withheld, and GB (11, the next
		// smallest), else DE + GB + FR = total would give FR away.
		r := query("by=jurisdiction")
		got := map[string]analytics.Counts{}
		for _, g := range r.Breakdown {
			got[g.Key] = g.Counts
		}
		if got["FR"] != small || got["GB"] != small || got["DE"] != (analytics.Counts{Grants: 23, Denials: 4}) {
			t.Errorf("by jurisdiction: %+v", got)
		}
		if r.Total.Total() != 41 {
			t.Errorf("total %+v, want 41 choices", r.Total)
		}

		// Filtered to FR: every figure is the 3 choices or nothing.
		r = query("jurisdiction=FR")
		if r.Total != small || r.Series[1].Counts != small || r.Series[0].Counts != (analytics.Counts{}) {
			t.Errorf("FR: total %+v, series %+v", r.Total, r.Series)
		}
		if len(r.Breakdown) != 1 || r.Breakdown[0].Counts != small {
			t.Errorf("FR by purpose: %+v", r.Breakdown)
		}
		var buf strings.Builder
		if err := analytics.WriteCSV(&buf, r); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(buf.String(), "by_purpose,analytics,,,< 10,< 10,< 10,< 10,< 10,,,,\n") || strings.Contains(buf.String(), ",3,") {
			t.Errorf("FR CSV:\n%s", buf.String())
		}
		name := func(s string) string { return s }
		chart := string(analytics.BreakdownChart(r.Breakdown, name, analytics.Chart{ID: "b", Title: "t", Desc: "d"}, analytics.Legend{}))
		if !strings.Contains(chart, "&lt; 10") || strings.Contains(chart, "<rect x=\"170.0\"") {
			t.Errorf("FR chart: %s", chart)
		}
		series := string(analytics.SeriesChart(r.Series, analytics.Chart{ID: "s", Title: "t", Desc: "d"}, analytics.Legend{}))
		if strings.Contains(series, "<path d=") {
			t.Errorf("a withheld day is drawn: %s", series)
		}

		// The notice change v1 → v2 by purpose: 12 before, 29 after in
		// all; in FR alone, before is nothing and the change is not
		// shown; in DE 12 and 15, both shown.
		r = query("jurisdiction=DE")
		if len(r.Changes) != 1 || !r.Changes[0].Purposes[0].Known() || r.Changes[0].Purposes[0].After.Total() != 15 {
			t.Errorf("DE changes: %+v", r.Changes)
		}
		if r.Series[0].Total() != 12 || r.Series[1].Total() != 15 {
			t.Errorf("DE series: %+v", r.Series)
		}
		// A source alone in a day of 1: the portal's withdrawal.
		r = query("source=portal")
		if r.Total != small || len(r.Changes) != 0 {
			t.Errorf("portal: %+v", r)
		}
	})
}

// dump is the rows of query as sorted lines.
func dump(t *testing.T, store *db.DB, query string) []string {
	t.Helper()
	rows, err := store.QueryContext(context.Background(), query)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		line := make([]string, len(vals))
		for i, v := range vals {
			if b, ok := v.([]byte); ok {
				v = string(b)
			}
			line[i] = fmt.Sprint(v)
		}
		out = append(out, strings.Join(line, "|"))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// allRollupTables dumps every rollup table.
func allRollupTables(t *testing.T, store *db.DB) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, table := range consent.RollupTables {
		out[table.Name] = dump(t, store, `SELECT `+strings.Join(table.Columns(), ", ")+`, grants, denials, withdrawals, objections FROM `+table.Name)
	}
	return out
}

// TestTablePlanner: each aggregate reads the smallest table that keeps
// the dimensions it filters and groups by.
func TestTablePlanner(t *testing.T) {
	for _, c := range []struct {
		dims []string
		want string
	}{
		{nil, "consent_rollups_purpose"},
		{[]string{"property"}, "consent_rollups_property"},
		{[]string{"jurisdiction"}, "consent_rollups_jurisdiction"},
		{[]string{"source"}, "consent_rollups_source"},
		{[]string{"property", "source"}, "consent_rollups"},
		{[]string{"property", "jurisdiction", "source"}, "consent_rollups"},
	} {
		dims := map[string]bool{}
		for _, d := range c.dims {
			dims[d] = true
		}
		if got := analytics.TableForTest(dims); got != c.want {
			t.Errorf("%v: %s, want %s", c.dims, got, c.want)
		}
	}
}

// TestRollupColumnsHoldNoIdentifiers: the rollup table has the dimension
// and count columns only, on both engines.
func TestRollupColumnsHoldNoIdentifiers(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		for table, want := range map[string][]string{
			"consent_rollups":              {"day", "purpose", "property", "jurisdiction", "notice_version", "source", "grants", "denials", "withdrawals", "objections"},
			"consent_rollups_purpose":      {"day", "purpose", "notice_version", "grants", "denials", "withdrawals", "objections"},
			"consent_rollups_property":     {"day", "purpose", "notice_version", "property", "grants", "denials", "withdrawals", "objections"},
			"consent_rollups_jurisdiction": {"day", "purpose", "notice_version", "jurisdiction", "grants", "denials", "withdrawals", "objections"},
			"consent_rollups_source":       {"day", "purpose", "notice_version", "source", "grants", "denials", "withdrawals", "objections"},
		} {
			rows, err := store.QueryContext(context.Background(), `SELECT * FROM `+table+` WHERE 1 = 0`)
			if err != nil {
				t.Fatal(err)
			}
			cols, err := rows.Columns()
			rows.Close()
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(cols, want) {
				t.Errorf("%s: columns %v, want %v (a rollup holds counts, never a subject, device or event id)", table, cols, want)
			}
		}
	})
}

// TestRebuildWithPendingRollups: a rebuild while the ledger holds cells in
// memory (SQLite writes them about once a second) counts them once: the
// cells of events before the rebuild are dropped, those after it written,
// and the rollups equal a rebuild's afterwards.
func TestRebuildWithPendingRollups(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		svc := openLedger(t, store)
		if _, err := svc.Append(ctx, events("before",
			choice{d1, "shop", "analytics", "DE", "v1", consent.SourceBanner, consent.ActionGrant, 5},
			choice{d2, "blog", "marketing", "FR", "v2", consent.SourcePortal, consent.ActionDeny, 3})); err != nil {
			t.Fatal(err)
		}
		if _, err := analytics.New(store, nil).Rebuild(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Append(ctx, events("after",
			choice{d1, "shop", "analytics", "DE", "v1", consent.SourceBanner, consent.ActionGrant, 4},
			choice{d3, "shop", "marketing", "GB", "v2", consent.SourceAPI, consent.ActionObject, 2})); err != nil {
			t.Fatal(err)
		}
		if err := svc.FlushRollups(ctx); err != nil {
			t.Fatal(err)
		}
		incremental := allRollupTables(t, store)
		var counted int64
		if err := store.QueryRowContext(ctx, `SELECT COALESCE(SUM(grants + denials + withdrawals + objections), 0) FROM consent_rollups`).Scan(&counted); err != nil {
			t.Fatal(err)
		}
		if counted != 14 {
			t.Fatalf("the rollups count %d choices, want 14", counted)
		}
		if _, err := analytics.New(store, nil).Rebuild(ctx); err != nil {
			t.Fatal(err)
		}
		if rebuilt := allRollupTables(t, store); !reflect.DeepEqual(incremental, rebuilt) {
			t.Fatalf("rollups after a rebuild with cells pending differ from a rebuild:\n%v\n%v", incremental, rebuilt)
		}
	})
}
