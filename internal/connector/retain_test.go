package connector

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
)

// retainDataset keeps sessions 30 days from created_at and then deletes
// them; profiles' notes are masked after 1 year.
const retainDataset = `connector: shop
engine: postgres
dsn_env: SHOP_DB
tables:
  - name: sessions
    identifier: {column: customer_id, kind: external_id}
    erase: delete_row
    columns:
      - {name: ip, category: device}
    retention: {column: created_at, period: 30d, strategy: delete, category: device}
  - name: profiles
    identifier: {column: customer_id, kind: external_id}
    columns:
      - {name: notes, category: communications, erase: mask}
      - {name: nickname, category: contact, erase: null}
      - {name: country, category: location, erase: keep, legal_reason: "tax records"}
    retention: {column: seen_at, period: 1y, strategy: erase, key: pid}
`

// retainTables creates the tables with rows stamped relative to day 0
// (2026-01-01): sessions 1..6 on days 0..5, customers 1001 and 1002
// alternating; profiles 1..2 last seen on day 0.
const retainTables = `CREATE TABLE ${p}sessions (id INTEGER PRIMARY KEY, customer_id INTEGER, ip VARCHAR(64), created_at ${ts} NOT NULL);
INSERT INTO ${p}sessions VALUES (1, 1001, '192.0.2.1', '2026-01-01 10:00:00'), (2, 1002, '192.0.2.2', '2026-01-02 10:00:00'),
 (3, 1001, '192.0.2.3', '2026-01-03 10:00:00'), (4, 1002, '192.0.2.4', '2026-01-04 10:00:00'),
 (5, NULL, '192.0.2.5', '2026-01-05 10:00:00'), (6, 1002, '192.0.2.6', '2026-01-06 10:00:00');
CREATE TABLE ${p}profiles (pid INTEGER PRIMARY KEY, customer_id INTEGER, notes VARCHAR(200), nickname VARCHAR(50), country VARCHAR(2), seen_at ${ts} NOT NULL);
INSERT INTO ${p}profiles VALUES (1, 1001, 'likes tea', 'ada', 'GB', '2026-01-01 10:00:00'), (2, 1002, NULL, 'bob', 'FR', '2026-01-01 10:00:00');
`

func timestampType(e Engine) string {
	if e == MySQL {
		return "DATETIME"
	}
	return "TIMESTAMP"
}

func day(n int, hour int) time.Time {
	return time.Date(2026, 1, 1, hour, 0, 0, 0, time.UTC).AddDate(0, 0, n)
}

func retainCounts(prefix string, steps []RetainStep) string {
	var out []string
	for _, s := range steps {
		out = append(out, strings.TrimPrefix(s.Table, prefix)+" "+s.Category+" "+string(s.Strategy)+" "+strconv.FormatInt(s.Rows, 10))
	}
	return strings.Join(out, ", ")
}

// TestRetainDay: a session goes on the day its 30 days are over, not the
// day before; a held customer's sessions stay; a dry run reports the same
// counts and changes nothing; a second run changes nothing. On PostgreSQL
// and MariaDB (and SQLite, which the connector also serves).
func TestRetainDay(t *testing.T) {
	for _, engine := range engines {
		t.Run(string(engine), func(t *testing.T) {
			td := newTestDB(t, engine)
			td.exec(t, retainTables, map[string]string{"ts": timestampType(engine)})
			ds := td.dataset(t, retainDataset)
			c := td.open(t, ds)
			ctx := context.Background()
			run := func(now time.Time, dry bool, held ...string) string {
				t.Helper()
				steps, err := c.Retain(ctx, RetainOptions{Now: now, DryRun: dry, Batch: 2, Held: Identifiers{ExternalIDs: held}})
				if err != nil {
					t.Fatal(err)
				}
				return retainCounts(td.prefix, steps)
			}
			before := td.snapshot(t, "sessions", "profiles")
			// Day 30 at 09:59: session 1 (day 0, 10:00) has 1 minute left.
			if got, want := run(day(30, 9), false), "sessions device delete 0, profiles communications erase 0"; got != want {
				t.Fatalf("the day before: %s, want %s", got, want)
			}
			if td.snapshot(t, "sessions", "profiles") != before {
				t.Fatal("the run before the day changed rows")
			}
			// Day 33, 11:00: sessions 1-3 are past; 1002 is held, so 2 stays.
			dry := run(day(33, 11), true, "1002")
			if want := "sessions device delete 2, profiles communications erase 0"; dry != want {
				t.Fatalf("dry run: %s, want %s", dry, want)
			}
			if td.snapshot(t, "sessions", "profiles") != before {
				t.Fatal("the dry run changed rows")
			}
			if got := run(day(33, 11), false, "1002"); got != dry {
				t.Fatalf("run: %s, dry run said %s", got, dry)
			}
			if got, want := td.value(t, "SELECT COUNT(*) FROM ${p}sessions WHERE id IN (1, 3)"), "0"; got != want {
				t.Fatalf("sessions 1 and 3 left: %s", got)
			}
			if got := td.value(t, "SELECT COUNT(*) FROM ${p}sessions WHERE id = 2"); got != "1" {
				t.Fatal("the held customer's session went")
			}
			// The hold lifted, day 40: 2, 4, 5 (no customer) and 6 go.
			if got, want := run(day(40, 11), false), "sessions device delete 4, profiles communications erase 0"; got != want {
				t.Fatalf("after the hold: %s, want %s", got, want)
			}
			// A year and a day on: profiles are erased column by column,
			// the kept column stays; 1001 held keeps profile 1.
			if got, want := run(day(366, 11), false, "1001"), "sessions device delete 0, profiles communications erase 1"; got != want {
				t.Fatalf("profiles: %s, want %s", got, want)
			}
			if got := td.value(t, "SELECT nickname FROM ${p}profiles WHERE pid = 2"); got != "NULL" {
				t.Fatalf("profile 2 nickname %s, want NULL", got)
			}
			if got := td.value(t, "SELECT country FROM ${p}profiles WHERE pid = 2"); got != "FR" {
				t.Fatalf("profile 2 country %s, want kept", got)
			}
			if got := td.value(t, "SELECT nickname FROM ${p}profiles WHERE pid = 1"); got != "ada" {
				t.Fatalf("the held profile changed: %s", got)
			}
			after := td.snapshot(t, "sessions", "profiles")
			if got, want := run(day(366, 11), false, "1001"), "sessions device delete 0, profiles communications erase 0"; got != want {
				t.Fatalf("second run: %s, want %s", got, want)
			}
			if td.snapshot(t, "sessions", "profiles") != after {
				t.Fatal("the second run changed rows")
			}
		})
	}
}

// TestRetainMask: strategy mask overwrites the declared columns that are
// not kept, leaves NULLs, and only once.
func TestRetainMask(t *testing.T) {
	td := newTestDB(t, Postgres)
	td.exec(t, retainTables, map[string]string{"ts": "TIMESTAMP"})
	ds := td.dataset(t, strings.Replace(retainDataset, "strategy: erase, key: pid", "strategy: mask, key: pid", 1))
	c := td.open(t, ds)
	for i, want := range []int64{2, 0} {
		steps, err := c.Retain(context.Background(), RetainOptions{Now: day(400, 0)})
		if err != nil {
			t.Fatal(err)
		}
		if steps[1].Rows != want {
			t.Fatalf("run %d: masked %d rows, want %d", i, steps[1].Rows, want)
		}
	}
	if got := td.snapshot(t, "profiles"); got != "profiles 1|1001|[erased]|[erased]|GB|2026-01-01 10:00:00 +0000 UTC\n"+
		"profiles 2|1002|NULL|[erased]|FR|2026-01-01 10:00:00 +0000 UTC" {
		t.Fatalf("profiles after mask:\n%s", got)
	}
}

// TestRetentionSection: the section's mistakes are reported with their
// lines, in words an operator can act on.
func TestRetentionSection(t *testing.T) {
	base := `connector: shop
engine: postgres
dsn_env: SHOP_DB
hmac_key_env: K
tables:
  - name: t
    identifier: {column: c, kind: external_id}
    columns:
      - {name: a, category: contact, erase: hash_hmac}
      - {name: b, category: contact, erase: keep, legal_reason: law}
    retention: `
	cases := []struct {
		name, section, want string
	}{
		{"no column", `{period: 30d, strategy: delete}`, "column: name the timestamp column"},
		{"no period", `{column: at, strategy: delete}`, "period: say how long"},
		{"bad unit", `{column: at, period: 30s, strategy: delete}`, `unit "s"`},
		{"zero", `{column: at, period: 0d, strategy: delete}`, "whole number above 0"},
		{"padded", `{column: at, period: 07d, strategy: delete}`, "whole number above 0"},
		{"too long", `{column: at, period: 101y, strategy: delete}`, "at most 100 years"},
		{"no strategy", `{column: at, period: 30d}`, "give delete, mask or erase"},
		{"bad strategy", `{column: at, period: 30d, strategy: shred}`, `strategy "shred"`},
		{"hmac", `{column: at, period: 30d, strategy: erase}`, "column a uses hash_hmac"},
		{"category", `{column: at, period: 30d, strategy: delete, category: secrets}`, `category "secrets"`},
		{"unknown key", `{column: at, period: 30d, strategy: delete, when: never}`, "when"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("shop.yaml", []byte(base+tc.section+"\n"))
			var ps Problems
			if !errors.As(err, &ps) {
				t.Fatalf("want problems, got %v", err)
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "shop.yaml:11") {
				t.Fatalf("got %v, want %q at line 11", err, tc.want)
			}
		})
	}
	for _, ok := range []string{`{column: at, period: 18m, strategy: mask}`, `{column: at, period: 2y, strategy: delete_row, key: pk, purpose: billing}`} {
		ds, err := Parse("shop.yaml", []byte(base+ok+"\n"))
		if err != nil {
			t.Fatalf("%s: %v", ok, err)
		}
		if r := ds.Tables[0].Retention; r.Parsed.N == 0 || (r.Strategy != Mask && r.Strategy != RetainDelete) {
			t.Fatalf("%s: parsed %+v", ok, r)
		}
	}
}

// TestRetainShrinksSlowBatches: writes slower than half the lock budget
// halve the next batch (to 50 rows at least), fast ones double it (to the
// configured most), and every expired row still goes, once.
func TestRetainShrinksSlowBatches(t *testing.T) {
	r := &retainer{opts: RetainOptions{Batch: 2000, LockBudget: 100 * time.Millisecond}}
	for _, tc := range []struct {
		batch int
		took  time.Duration
		want  int
	}{
		{2000, 60 * time.Millisecond, 1000},
		{1000, 30 * time.Millisecond, 1000},
		{1000, 5 * time.Millisecond, 2000},
		{2000, time.Millisecond, 2000},
		{60, time.Second, 50},
		{50, time.Second, 50},
	} {
		if got := r.nextBatch(tc.batch, tc.took); got != tc.want {
			t.Errorf("nextBatch(%d, %s) = %d, want %d", tc.batch, tc.took, got, tc.want)
		}
	}

	td := newTestDB(t, Postgres)
	td.exec(t, `CREATE TABLE sessions (id INTEGER PRIMARY KEY, customer_id INTEGER, ip VARCHAR(64), created_at TIMESTAMP NOT NULL);
INSERT INTO sessions SELECT g, g % 7, '192.0.2.1', TIMESTAMP '2026-01-01 10:00:00' FROM generate_series(1, 777) g;`, nil)
	ds := td.dataset(t, strings.SplitN(retainDataset, "  - name: profiles", 2)[0])
	c := td.open(t, ds)
	var writes int
	steps, err := c.Retain(context.Background(), RetainOptions{Now: day(40, 0), Batch: 200, LockBudget: time.Nanosecond,
		Held:    Identifiers{ExternalIDs: []string{"3"}},
		Observe: func(write bool, _ time.Duration) { writes += map[bool]int{true: 1}[write] }})
	if err != nil {
		t.Fatal(err)
	}
	// 666 rows past, 111 held: 200, 100, 50, then 50 at a time.
	if steps[0].Rows != 666 || writes != 3+(666-350+49)/50 {
		t.Fatalf("deleted %d rows in %d writes, want 666 in %d", steps[0].Rows, writes, 3+(666-350+49)/50)
	}
	if got := td.value(t, "SELECT COUNT(*) FROM sessions"); got != "111" {
		t.Fatalf("%s rows left, want the 111 held", got)
	}
}
