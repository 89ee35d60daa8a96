package drift

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/connector"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
)

func candidateLines(cs []Candidate) []string {
	var out []string
	for _, c := range cs {
		out = append(out, fmt.Sprintf("%s.%s %s %s %.1f", c.Table, c.Column, c.Category, c.Evidence, c.Ratio))
	}
	slices.Sort(out)
	return out
}

// TestScanRealDatabases reads the schema of real PostgreSQL, MariaDB and
// SQLite databases: the undeclared columns are found by name (boolean
// flags, dates of record and free text are not); with sampling, columns
// whose names say nothing are found by their values (an email column with
// one non-address, IBANs with valid checksums), and the rest are not.
func TestScanRealDatabases(t *testing.T) {
	byName := []string{
		"customers.phone contact name 0.0",
		"signups.geburtsdatum demographic name 0.0",
		"signups.remote_ip identifier name 0.0",
		"signups.telefon contact name 0.0",
	}
	byValues := []string{
		"signups.kontakt contact values 0.8",
		"signups.zahlung financial values 1.0",
	}
	for _, engine := range []connector.Engine{connector.Postgres, connector.MySQL, connector.SQLite} {
		t.Run(string(engine), func(t *testing.T) {
			ctx := context.Background()
			company := newCompanyDB(t, engine)
			company.exec(t, shopSchema)
			ds, getenv := company.dataset(t, shopDataset)
			conn, err := connector.Open(ctx, ds, getenv)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			now := func() time.Time { return time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC) }
			res, err := Scan(ctx, conn, ScanOptions{Now: now})
			if err != nil {
				t.Fatal(err)
			}
			if got := candidateLines(res.Candidates); !slices.Equal(got, byName) {
				t.Errorf("by name:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(byName, "\n"))
			}
			for _, ref := range []ColumnRef{{"customers", "email"}, {"customers", "id"}} {
				if !res.Declared[ref] || !res.Live[ref] {
					t.Errorf("%v: declared %v, live %v", ref, res.Declared[ref], res.Live[ref])
				}
			}
			if len(res.Live) != 15 {
				t.Errorf("%d live columns, want 15", len(res.Live))
			}
			res, err = Scan(ctx, conn, ScanOptions{Sample: true, Now: now})
			if err != nil {
				t.Fatal(err)
			}
			want := slices.Sorted(slices.Values(slices.Concat(byName, byValues)))
			if got := candidateLines(res.Candidates); !slices.Equal(got, want) || res.Unsampled != 0 {
				t.Errorf("with samples (%d unsampled):\n%s\nwant\n%s", res.Unsampled, strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

// TestScanAllKeepsNoValue runs the daily scan with sampling against a real
// company database, twice: each new finding is announced once, and no
// sampled value reaches Steward's store, its log or a webhook.
func TestScanAllKeepsNoValue(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		company := newCompanyDB(t, connector.SQLite)
		company.exec(t, shopSchema)
		ds, getenv := company.dataset(t, shopDataset)
		f := newFixture(t, store, []*connector.Dataset{ds}, getenv, true)
		if err := f.svc.ScanAll(ctx); err != nil {
			t.Fatal(err)
		}
		open, err := f.svc.OpenFindings(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(open) != 6 {
			t.Fatalf("%d open findings, want 6: %+v", len(open), open)
		}
		hooks := f.webhooks(t)
		if len(hooks) != 6 {
			t.Fatalf("%d webhooks, want one per finding (6)", len(hooks))
		}
		for _, body := range hooks {
			if !strings.Contains(body, `"system":"shop"`) || !strings.Contains(body, `"finding_id":"drf_`) {
				t.Errorf("webhook %s", body)
			}
		}
		if !slices.ContainsFunc(hooks, func(b string) bool {
			return strings.Contains(b, `"column":"zahlung"`) && strings.Contains(b, `"evidence":"values"`) && strings.Contains(b, `"match_ratio":1`)
		}) {
			t.Errorf("no webhook for signups.zahlung by values: %v", hooks)
		}
		f.now = f.now.Add(ScanEvery)
		if err := f.svc.ScanAll(ctx); err != nil {
			t.Fatal(err)
		}
		if n := len(f.webhooks(t)); n != 6 {
			t.Errorf("the second scan sent %d more webhooks", n-6)
		}
		for _, v := range sampleValues {
			if n := dbtest.RawHits(t, store, v); n != 0 {
				t.Errorf("the store holds the sampled value %q %d times", v, n)
			}
			if strings.Contains(f.logs.String(), v) {
				t.Errorf("the log holds the sampled value %q", v)
			}
			for _, b := range f.webhooks(t) {
				if strings.Contains(b, v) {
					t.Errorf("a webhook holds the sampled value %q", v)
				}
			}
		}
		if !strings.Contains(f.logs.String(), "new=0") {
			t.Errorf("log: %s", f.logs)
		}
	})
}

// TestSampleTimeout: a sample that would read a large table past its time
// limit is stopped (by the server on PostgreSQL and MariaDB), and a scan
// goes on without that column, counting it.
func TestSampleTimeout(t *testing.T) {
	fill := map[connector.Engine][2]string{
		connector.Postgres: {`INSERT INTO slow (id) SELECT g FROM generate_series(1, 400000) g`, "statement timeout"},
		connector.MySQL:    {`INSERT INTO slow (id) SELECT seq FROM seq_1_to_400000`, "max_statement_time exceeded"},
	}
	for engine, setup := range fill {
		stmt, serverSays := setup[0], setup[1]
		t.Run(string(engine), func(t *testing.T) {
			ctx := context.Background()
			company := newCompanyDB(t, engine)
			company.exec(t, "CREATE TABLE slow (id INTEGER PRIMARY KEY, note ${text});\n"+stmt)
			ds, getenv := company.dataset(t, shopDataset)
			conn, err := connector.Open(ctx, ds, getenv)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			start := time.Now()
			values, err := conn.SampleColumn(ctx, "slow", "note", SampleRows, time.Millisecond)
			if err == nil || len(values) != 0 || !strings.Contains(err.Error(), serverSays) {
				t.Fatalf("a sample over its time limit: %d values, %v; want the server's %q", len(values), err, serverSays)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("the sample took %v", d)
			}
			if values, err := conn.SampleColumn(ctx, "slow", "note", SampleRows, 10*time.Second); err != nil || len(values) != 0 {
				t.Errorf("with time enough: %d values, %v", len(values), err)
			}
		})
	}
	t.Run("scan", func(t *testing.T) {
		src := &failingSample{ds: &connector.Dataset{Name: "shop"}, cols: []connector.LiveColumn{
			{Table: "t", Column: "remark", Text: true}, {Table: "t", Column: "email", Text: true}}}
		res, err := Scan(context.Background(), src, ScanOptions{Sample: true})
		if err != nil || res.Unsampled != 1 || len(res.Candidates) != 1 || res.Candidates[0].Column != "email" {
			t.Fatalf("%+v %v", res, err)
		}
	})
}

type failingSample struct {
	ds   *connector.Dataset
	cols []connector.LiveColumn
}

func (f *failingSample) Dataset() *connector.Dataset { return f.ds }
func (f *failingSample) Columns(context.Context) ([]connector.LiveColumn, error) {
	return f.cols, nil
}
func (f *failingSample) SampleColumn(context.Context, string, string, int, time.Duration) ([]string, error) {
	return nil, context.DeadlineExceeded
}

// TestHostileNames replays a schema whose names are written to break the
// statements that sample it: a table and a column named with quotes,
// backticks and a statement after them. The names are quoted, so the
// sample reads the column (found by its values) and nothing else runs.
func TestHostileNames(t *testing.T) {
	const table, column = "odd\"t`x", "n\"; DROP TABLE victims; -- `x"
	quote := func(engine connector.Engine, name string) string {
		if engine == connector.MySQL {
			return "`" + strings.ReplaceAll(name, "`", "``") + "`"
		}
		return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
	}
	for _, engine := range []connector.Engine{connector.Postgres, connector.MySQL, connector.SQLite} {
		t.Run(string(engine), func(t *testing.T) {
			ctx := context.Background()
			company := newCompanyDB(t, engine)
			company.exec(t, shopSchema+"CREATE TABLE victims (id INTEGER PRIMARY KEY);\n"+
				"CREATE TABLE "+quote(engine, table)+" (id INTEGER PRIMARY KEY, "+quote(engine, column)+" ${text});\n"+
				"INSERT INTO "+quote(engine, table)+" VALUES (1, 'hostile-one@example.net');\n"+
				"INSERT INTO "+quote(engine, table)+" VALUES (2, 'hostile-two@example.net')")
			ds, getenv := company.dataset(t, shopDataset)
			conn, err := connector.Open(ctx, ds, getenv)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			res, err := Scan(ctx, conn, ScanOptions{Sample: true})
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, c := range res.Candidates {
				found = found || c.Table == table && c.Column == column && c.Evidence == ByValues && c.Ratio == 1
			}
			if !found || res.Unsampled != 0 {
				t.Errorf("the hostile column was not sampled: %+v", res)
			}
			var n int
			if err := company.db.QueryRow("SELECT COUNT(*) FROM victims").Scan(&n); err != nil {
				t.Fatalf("the victims table is gone: %v", err)
			}
			if got := eventName(column); strings.ContainsAny(got, "\"; `") {
				t.Errorf("eventName(%q) = %q", column, got)
			}
		})
	}
}
