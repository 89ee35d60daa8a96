package web_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/steward-dev/steward/internal/analytics"
	"github.com/steward-dev/steward/internal/app"
	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/staff"
)

// seedAnalytics publishes a second notice and appends 170 purpose-level
// choices over two days before today, the second day under the new
// notice, each figure at least analytics.MinGroup; it returns the first
// day.
func seedAnalytics(t *testing.T, svc *consent.Service) time.Time {
	t.Helper()
	ctx := context.Background()
	if _, err := svc.PutNotice(ctx, consent.Notice{Version: "2026-12", Material: true, Texts: map[string]string{"en": "We changed our notice."}}, true, true); err != nil {
		t.Fatal(err)
	}
	day1 := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -3).Add(10 * time.Hour)
	day2 := day1.AddDate(0, 0, 1)
	var events []consent.Event
	add := func(at time.Time, purpose, notice, jurisdiction string, source consent.Source, action consent.Action, n int) {
		for range n * 10 {
			events = append(events, consent.Event{ID: fmt.Sprintf("an-%d", len(events)), Property: app.DemoPropertyKey, Device: fmt.Sprintf("an-device-%d", len(events)),
				Purpose: purpose, Action: action, Source: source, NoticeVersion: notice, Jurisdiction: jurisdiction, At: at})
		}
	}
	add(day1, "analytics", "2026-11", "DE", consent.SourceBanner, consent.ActionGrant, 3)
	add(day1, "analytics", "2026-11", "DE", consent.SourceBanner, consent.ActionDeny, 1)
	add(day1, "marketing", "2026-11", "DE", consent.SourceBanner, consent.ActionGrant, 1)
	add(day1, "marketing", "2026-11", "DE", consent.SourceBanner, consent.ActionDeny, 3)
	add(day2, "analytics", "2026-12", "DE", consent.SourceBanner, consent.ActionGrant, 4)
	add(day2, "marketing", "2026-12", "DE", consent.SourceBanner, consent.ActionGrant, 2)
	add(day2, "marketing", "2026-12", "DE", consent.SourceBanner, consent.ActionDeny, 1)
	add(day2, "marketing", "2026-12", "DE", consent.SourceBanner, consent.ActionWithdraw, 1)
	add(day2, "marketing", "2026-12", "US-CA", consent.SourceGPC, consent.ActionDeny, 1)
	if _, err := svc.Append(ctx, events); err != nil {
		t.Fatal(err)
	}
	return day1
}

// TestConsoleAnalytics: the analytics page is for the roles that see
// aggregates (support is refused the page and its CSV), draws its charts
// as SVG with a title and a description beside tables of the same
// figures, needs no script, names no person; the CSV says what the
// tables say; a wrong filter is named; only administrators rebuild, with
// the CSRF token, and the rebuild is audited.
func TestConsoleAnalytics(t *testing.T) {
	for _, dialect := range []db.Dialect{db.SQLite, db.Postgres} {
		t.Run(string(dialect), func(t *testing.T) {
			f := newConsoleFixture(t, dialect)
			srv := f.srv.App
			day1 := seedAnalytics(t, srv.Consent)
			from, to := day1.Format(time.DateOnly), day1.AddDate(0, 0, 1).Format(time.DateOnly)
			query := "?from=" + from + "&to=" + to

			support, _ := f.browserFor(t, staff.RoleSupport)
			for _, path := range []string{"/admin/analytics", "/admin/analytics" + query, "/admin/analytics.csv" + query} {
				if got := support.do("GET", path, nil); got.status != http.StatusForbidden || strings.Contains(got.body, "2026-12") {
					t.Errorf("support GET %s: %d", path, got.status)
				}
			}
			if nav := support.do("GET", "/admin", nil); strings.Contains(nav.body, `href="/admin/analytics"`) {
				t.Error("support's navigation links to the analytics")
			}

			b, _ := f.browserFor(t, staff.RoleAnalyst)
			got := b.do("GET", "/admin/analytics"+query, nil)
			if got.status != http.StatusOK {
				t.Fatalf("analyst: %d %.500s", got.status, got.body)
			}
			for _, want := range []string{`href="/admin/analytics"`, `<svg xmlns="http://www.w3.org/2000/svg" class="chart"`, `role="img" aria-labelledby="an-series-title an-series-desc"`,
				`<title id="an-series-title">Shares over time, per Day</title>`, `<desc id="an-series-desc">From ` + from + ` to ` + to + `: 170 choices, 58.8 % accepted, 35.3 % refused, 5.9 % withdrawn.`,
				`<title id="an-breakdown-title">`, `<title id="an-notice-0-title">Version 2026-11 → 2026-12`, "Visitors who chose nothing", "not how often the banner was shown",
				`<th scope="row">Analytics</th><td class="num">80</td><td class="num">70 (87.5 %)</td>`,
				`<td class="num">30 / 40 (75.0 %)</td><td class="num">40 / 40 (100.0 %)</td><td class="num">25.0</td>`,
				`<td class="num">10 / 40 (25.0 %)</td><td class="num">20 / 50 (40.0 %)</td><td class="num">15.0</td>`,
				`href="/admin/analytics.csv?by=purpose&amp;every=day&amp;from=` + from} {
				if !strings.Contains(got.body, want) {
					t.Errorf("the page lacks %q", want)
				}
			}
			for _, never := range []string{"<script", "an-device-", "an-0", `action="/admin/analytics/rebuild"`} {
				if strings.Contains(got.body, never) {
					t.Errorf("the analyst's page holds %q", never)
				}
			}
			if c := strings.Count(got.body, "<svg"); c != 3 || strings.Count(got.body, "<table") != 3 {
				t.Errorf("%d charts and %d tables, want 3 each", c, strings.Count(got.body, "<table"))
			}

			// The CSV's figures are the tables'.
			csvAnswer := b.do("GET", "/admin/analytics.csv"+query, nil)
			if csvAnswer.status != http.StatusOK || !strings.HasPrefix(csvAnswer.header.Get("Content-Type"), "text/csv") {
				t.Fatalf("csv: %d %s", csvAnswer.status, csvAnswer.header.Get("Content-Type"))
			}
			rows, err := csv.NewReader(strings.NewReader(csvAnswer.body)).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != 1+2+2+4 {
				t.Fatalf("%d CSV rows: %v", len(rows), rows)
			}
			for _, row := range rows[1:] {
				var want string
				switch row[0] {
				case "over_time", "by_purpose":
					want = fmt.Sprintf(`<td class="num">%s</td><td class="num">%s (%s %%)</td><td class="num">%s (%s %%)</td><td class="num">%s (%s %%)</td><td class="num">%s (%s %%)</td>`,
						row[4], row[5], row[9], row[6], row[10], row[7], row[11], row[8], row[12])
				case "notice_before", "notice_after":
					want = fmt.Sprintf(`<td class="num">%s / %s (%s %%)</td>`, row[5], row[4], row[9])
				default:
					t.Errorf("unknown figure %v", row)
				}
				if !strings.Contains(got.body, want) {
					t.Errorf("CSV row %v is not in the page's tables (%s)", row, want)
				}
			}

			bySource := b.do("GET", "/admin/analytics"+query+"&by=source&source=gpc&every=week&lang=de", nil)
			for _, want := range []string{"Einwilligungs-Analysen", `<th scope="row">Global Privacy Control</th><td class="num">10</td>`, "Anteile nach Quelle"} {
				if !strings.Contains(bySource.body, want) {
					t.Errorf("by source, in German: lacks %q", want)
				}
			}
			bad := b.do("GET", "/admin/analytics?from=03/02/2026&by=vendor&lang=en", nil)
			if bad.status != http.StatusBadRequest || !strings.Contains(bad.body, "give a date as YYYY-MM-DD") || !strings.Contains(bad.body, "<strong>Group by</strong>") {
				t.Errorf("a wrong filter: %d %.400s", bad.status, bad.body)
			}

			// Rebuilding: administrators only, with the token.
			csrf := b.formToken("/admin/training")
			if got := b.do("POST", "/admin/analytics/rebuild", url.Values{"csrf": {csrf}}); got.status != http.StatusForbidden {
				t.Errorf("analyst rebuilds: %d", got.status)
			}
			admin, _ := f.browserFor(t, staff.RoleAdmin)
			page := admin.do("GET", "/admin/analytics", nil)
			if !strings.Contains(page.body, `action="/admin/analytics/rebuild"`) {
				t.Fatal("the administrator's page has no rebuild button")
			}
			if got := admin.do("POST", "/admin/analytics/rebuild", url.Values{}); got.status != http.StatusForbidden {
				t.Errorf("rebuild without the token: %d", got.status)
			}
			token := admin.formToken("/admin/analytics")
			rebuilt := admin.do("POST", "/admin/analytics/rebuild", url.Values{"csrf": {token}})
			if rebuilt.status != http.StatusOK || !strings.Contains(rebuilt.body, "Rebuilt from the ledger in") || !strings.Contains(rebuilt.body, ": 170 choices in") {
				t.Errorf("rebuild: %d %.600s", rebuilt.status, rebuilt.body)
			}
			entries, err := srv.Audit.Search(context.Background(), audit.Query{Action: analytics.ActionRebuilt})
			if err != nil {
				t.Fatal(err)
			}
			if len(entries.Entries) != 1 || entries.Entries[0].Actor.Kind != audit.KindStaff {
				t.Errorf("rebuild audit entries: %+v", entries.Entries)
			}
			if again := b.do("GET", "/admin/analytics"+query, nil); !strings.Contains(again.body, `<th scope="row">Analytics</th><td class="num">80</td><td class="num">70 (87.5 %)</td>`) {
				t.Error("the figures changed with the rebuild")
			}
		})
	}
}

// TestConsoleAnalyticsWithholdsSmallFigures: a narrow filter that comes
// down to fewer than analytics.MinGroup choices shows "< 10" in the
// tables, the charts' texts and the CSV, never the count or its shares;
// the next smallest group of the same breakdown is withheld with it, so
// the total does not give it away; larger groups are shown.
func TestConsoleAnalyticsWithholdsSmallFigures(t *testing.T) {
	f := newConsoleFixture(t, db.SQLite)
	svc := f.srv.App.Consent
	day1 := seedAnalytics(t, svc)
	var few []consent.Event
	for i := range 3 {
		few = append(few, consent.Event{ID: fmt.Sprintf("few-%d", i), Property: app.DemoPropertyKey, Device: fmt.Sprintf("few-device-%d", i),
			Purpose: "analytics", Action: consent.ActionDeny, Source: consent.SourcePortal, NoticeVersion: "2026-11", Jurisdiction: "FR", At: day1})
	}
	if _, err := svc.Append(context.Background(), few); err != nil {
		t.Fatal(err)
	}
	query := "?from=" + day1.Format(time.DateOnly) + "&to=" + day1.AddDate(0, 0, 1).Format(time.DateOnly)
	b, _ := f.browserFor(t, staff.RoleAnalyst)

	narrow := b.do("GET", "/admin/analytics"+query+"&jurisdiction=FR", nil)
	if narrow.status != http.StatusOK {
		t.Fatalf("FR: %d", narrow.status)
	}
	for _, want := range []string{`<th scope="row">Analytics</th><td class="num">&lt; 10</td><td class="num">&lt; 10</td>`, `: &lt; 10 choices,`} {
		if !strings.Contains(narrow.body, want) {
			t.Errorf("FR: the page lacks %q", want)
		}
	}
	for _, never := range []string{`<td class="num">3</td>`, `(100.0 %)`, "few-device"} {
		if strings.Contains(narrow.body, never) {
			t.Errorf("FR: the page shows %q", never)
		}
	}
	csvAnswer := b.do("GET", "/admin/analytics.csv"+query+"&jurisdiction=FR", nil)
	if !strings.Contains(csvAnswer.body, "by_purpose,analytics,,,< 10,< 10,< 10,< 10,< 10,,,,") || strings.Contains(csvAnswer.body, ",3,") {
		t.Errorf("FR CSV:\n%s", csvAnswer.body)
	}

	byJurisdiction := b.do("GET", "/admin/analytics"+query+"&by=jurisdiction", nil)
	for _, want := range []string{`<th scope="row">DE</th><td class="num">160</td>`, `<th scope="row">FR</th><td class="num">&lt; 10</td>`,
		`<th scope="row">US-CA</th><td class="num">&lt; 10</td>`, `<text x="658" y="49">&lt; 10</text>`, `<text x="658" y="75">&lt; 10</text>`} {
		if !strings.Contains(byJurisdiction.body, want) {
			t.Errorf("by jurisdiction: the page lacks %q", want)
		}
	}
}

// TestConsoleAnalyticsAccessible runs axe-core over the analytics page
// in Chromium, by purpose and by source, signed in as an analyst.
func TestConsoleAnalyticsAccessible(t *testing.T) {
	ctx := context.Background()
	f := newConsoleFixture(t, db.SQLite)
	day1 := seedAnalytics(t, f.srv.App.Consent)
	base := strings.Replace(f.srv.URL, "127.0.0.1", "localhost", 1)
	a, err := f.srv.App.Staff.Create(ctx, audit.System(), staff.NewAccount{Email: "analyst.a11y@shop.example", Name: "Ana", Role: staff.RoleAnalyst, Password: staffPassword})
	if err != nil {
		t.Fatal(err)
	}
	tab := chromium.Tab(t)
	if _, err := chromedp.Call(tab, page.SetBypassCSP, page.SetBypassCSPParams{Enabled: true}); err != nil {
		t.Fatal(err)
	}
	visit(t, tab, base+"/admin/signin")
	totp, _ := staff.TOTPCode(a.TOTPSecret, time.Now())
	if err := chromedp.Do(tab,
		chromedp.SendKeys(chromedp.CSS("#email"), a.Email),
		chromedp.SendKeys(chromedp.CSS("#password"), staffPassword),
		chromedp.SendKeys(chromedp.CSS("#code"), totp),
		chromedp.Click(chromedp.CSS("button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("nav[aria-label=Console]")),
	); err != nil {
		t.Fatalf("staff sign-in: %v", err)
	}
	q := "?from=" + day1.Format(time.DateOnly) + "&to=" + day1.AddDate(0, 0, 1).Format(time.DateOnly)
	for _, path := range []string{"/admin/analytics" + q, "/admin/analytics" + q + "&by=source&every=week&lang=fr"} {
		visit(t, tab, base+path)
		axeRun(t, tab, path)
	}
}
