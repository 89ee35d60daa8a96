package db_test

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
)

// intendedDrift lists the differences between the migrated SQLite and
// PostgreSQL schemas that are meant to be, by drift key (as the test prints
// it), each with its reason. An entry that no longer matches a difference
// fails the test too, so that the list stays true.
var intendedDrift = map[string]string{
	"audit_entries index audit_entries_target columns":  "SQLite ends every index in the rowid (seq) by itself; PostgreSQL names seq so that newest-first pages read the index backwards without a sort (0003)",
	"audit_entries index audit_entries_actor columns":   "as audit_entries_target: seq is the implicit last column on SQLite (0003)",
	"audit_entries index audit_entries_action columns":  "as audit_entries_target: seq is the implicit last column on SQLite (0003)",
	"consent_events foreign key (property)":             "PostgreSQL drops the ledger's catalog references for append throughput; SQLite keeps them, dropping one would rebuild the ledger table (0017)",
	"consent_events foreign key (purpose)":              "as consent_events foreign key (property) (0017)",
	"audit_entries trigger before truncate":             "SQLite has no TRUNCATE; PostgreSQL's append-only trigger refuses it too (0003)",
	"consent_rollups index consent_rollups_by_property": "SQLite sorts a GROUP BY the index does not order: the analytics' views of the full cells read them through it; PostgreSQL hashes and needs none (0048)",
}

// A drift is one difference between the two schemas.
type drift struct {
	key              string // stable name of what differs, the allow-list's key
	sqlite, postgres string // each side's value; "(absent)" when missing
}

func (d drift) String() string {
	return fmt.Sprintf("%s: sqlite %s; postgres %s", d.key, d.sqlite, d.postgres)
}

const absent = "(absent)"

// typeMapping says which PostgreSQL types match a declared SQLite type.
// SQLite's INTEGER is 64 bits and its rowid; booleans are INTEGER 0/1 on
// SQLite and BOOLEAN on PostgreSQL. An INTEGER column that is not the rowid
// must be INTEGER or BOOLEAN on PostgreSQL: a SQLite INTEGER that holds
// 64-bit values is declared BIGINT on both sides.
var typeMapping = map[string][]string{
	"text":    {"text"},
	"blob":    {"bytea"},
	"bigint":  {"bigint"},
	"integer": {"integer", "boolean"},
	"boolean": {"boolean"},
	"real":    {"double precision"},
}

func typesMatch(sqliteType, postgresType string, rowidAlias bool) bool {
	if rowidAlias && sqliteType == "integer" && postgresType == "bigint" {
		// INTEGER PRIMARY KEY is SQLite's rowid, a 64-bit integer.
		return true
	}
	return slices.Contains(typeMapping[sqliteType], postgresType)
}

// compareSchemas returns every difference between the SQLite and the
// PostgreSQL schema, sorted by key.
func compareSchemas(lite, pg *schemaInfo) []drift {
	var out []drift
	add := func(key, sqlite, postgres string) {
		out = append(out, drift{key: key, sqlite: sqlite, postgres: postgres})
	}
	for _, name := range unionKeys(lite.tables, pg.tables) {
		l, p := lite.tables[name], pg.tables[name]
		switch {
		case p == nil:
			add("table "+name, "present", absent)
			continue
		case l == nil:
			add("table "+name, absent, "present")
			continue
		}

		lcols, pcols := map[string]columnInfo{}, map[string]columnInfo{}
		var lorder, porder []string
		for _, c := range l.columns {
			lcols[c.name] = c
			lorder = append(lorder, c.name)
		}
		for _, c := range p.columns {
			pcols[c.name] = c
			porder = append(porder, c.name)
		}
		for _, col := range unionKeys(lcols, pcols) {
			lc, lok := lcols[col]
			pc, pok := pcols[col]
			key := name + "." + col
			switch {
			case !pok:
				add(key, "present", absent)
				continue
			case !lok:
				add(key, absent, "present")
				continue
			}
			if !typesMatch(lc.typ, pc.typ, l.rowidAlias == col) {
				add(key+" type", strings.ToUpper(lc.typ), strings.ToUpper(pc.typ)+" (SQLite "+strings.ToUpper(lc.typ)+" maps to "+strings.ToUpper(strings.Join(typeMapping[lc.typ], " or "))+")")
			}
			// A primary key column is NOT NULL on PostgreSQL by definition.
			// SQLite lets a non-INTEGER primary key hold NULL unless it is
			// declared NOT NULL (a legacy quirk); Steward always supplies
			// its keys, so both count as NOT NULL here.
			lnn := lc.notNull || slices.Contains(l.primaryKey, col)
			if lnn != pc.notNull {
				add(key+" not null", fmt.Sprint(lnn), fmt.Sprint(pc.notNull))
			}
			pd := pc.dflt
			if pc.typ == "boolean" {
				// A boolean default is 0 or 1 on SQLite.
				switch pd {
				case "false":
					pd = "0"
				case "true":
					pd = "1"
				}
			}
			if lc.dflt != pd {
				add(key+" default", orNone(lc.dflt), orNone(pc.dflt))
			}
		}
		if len(lcols) == len(pcols) && !slices.Equal(lorder, porder) {
			// SELECT * and backups see columns in this order.
			add(name+" column order", strings.Join(lorder, ","), strings.Join(porder, ","))
		}
		if !slices.Equal(l.primaryKey, p.primaryKey) {
			add(name+" primary key", orNone(strings.Join(l.primaryKey, ",")), orNone(strings.Join(p.primaryKey, ",")))
		}
		for _, u := range symmetricDifference(l.uniques, p.uniques) {
			add(fmt.Sprintf("%s unique (%s)", name, u.value), u.sqlite, u.postgres)
		}
		for _, c := range symmetricDifference(l.checks, p.checks) {
			add(fmt.Sprintf("%s check (%s)", name, c.value), c.sqlite, c.postgres)
		}
		for _, cols := range unionKeys(l.foreign, p.foreign) {
			lf, lok := l.foreign[cols]
			pf, pok := p.foreign[cols]
			switch {
			case !pok:
				add(fmt.Sprintf("%s foreign key (%s)", name, cols), lf.String(), absent)
			case !lok:
				add(fmt.Sprintf("%s foreign key (%s)", name, cols), absent, pf.String())
			case lf != pf:
				add(fmt.Sprintf("%s foreign key (%s)", name, cols), lf.String(), pf.String())
			}
		}
		for _, tr := range symmetricDifference(l.triggers, p.triggers) {
			add(fmt.Sprintf("%s trigger %s", name, tr.value), tr.sqlite, tr.postgres)
		}
		if !slices.Equal(l.rows, p.rows) {
			add(name+" rows after migration", strings.Join(l.rows, " "), strings.Join(p.rows, " "))
		}
		for _, idx := range unionKeys(l.indexes, p.indexes) {
			li, lok := l.indexes[idx]
			pi, pok := p.indexes[idx]
			key := name + " index " + idx
			switch {
			case !pok:
				add(key, "("+li.columns+")", absent)
				continue
			case !lok:
				add(key, absent, "("+pi.columns+")")
				continue
			}
			if li.columns != pi.columns {
				add(key+" columns", "("+li.columns+")", "("+pi.columns+")")
			}
			if li.unique != pi.unique {
				add(key+" unique", fmt.Sprint(li.unique), fmt.Sprint(pi.unique))
			}
			if li.predicate != pi.predicate {
				add(key+" predicate", orNone(li.predicate), orNone(pi.predicate))
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].key < out[j].key })
	return out
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func unionKeys[V any](a, b map[string]V) []string {
	seen := map[string]bool{}
	var keys []string
	for _, m := range []map[string]V{a, b} {
		for k := range m {
			if !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	sort.Strings(keys)
	return keys
}

type oneSided struct{ value, sqlite, postgres string }

// symmetricDifference returns the values of two sorted lists (with
// repeats) that only one side has, and how many times.
func symmetricDifference(lite, pg []string) []oneSided {
	count := map[string][2]int{}
	for _, v := range lite {
		c := count[v]
		c[0]++
		count[v] = c
	}
	for _, v := range pg {
		c := count[v]
		c[1]++
		count[v] = c
	}
	var out []oneSided
	for _, v := range unionKeys(count, nil) {
		c := count[v]
		if c[0] == c[1] {
			continue
		}
		side := func(n int) string {
			switch n {
			case 0:
				return absent
			case 1:
				return "present"
			}
			return fmt.Sprintf("present %d times", n)
		}
		out = append(out, oneSided{value: v, sqlite: side(c[0]), postgres: side(c[1])})
	}
	return out
}

// TestSchemaParity migrates a fresh SQLite and a fresh PostgreSQL store and
// fails on any difference of tables, columns (mapped types, nullability,
// defaults, order), primary keys, unique and check constraints, foreign keys,
// indexes (key terms, uniqueness, partial predicate), triggers (timing and
// event) and the rows the migrations insert, that intendedDrift does not
// name.
func TestSchemaParity(t *testing.T) {
	lite := readSchema(t, dbtest.Open(t, db.SQLite))
	pg := readSchema(t, dbtest.Open(t, db.Postgres))
	if len(lite.tables) < 40 {
		t.Fatalf("read %d SQLite tables; the reader is missing some", len(lite.tables))
	}
	matched := map[string]bool{}
	for _, d := range compareSchemas(lite, pg) {
		if _, ok := intendedDrift[d.key]; ok {
			matched[d.key] = true
			continue
		}
		t.Errorf("schema drift: %s", d)
	}
	if t.Failed() {
		t.Log("fix a drift with a new migration pair, or name it in intendedDrift with its reason")
	}
	for key, reason := range intendedDrift {
		if !matched[key] {
			t.Errorf("intendedDrift names %q (%s), which no longer differs: remove the entry", key, reason)
		}
	}
}

// TestSchemaParityFindsDrift runs the readers and the comparison on pairs
// of deliberately different schemas: each case must report exactly its
// drift, so that TestSchemaParity passing means something.
func TestSchemaParityFindsDrift(t *testing.T) {
	tests := []struct {
		name, sqlite, postgres string
		// common, when set, is one DDL for both, as in migrations/common.
		common string
		want   []string
	}{
		{
			name:   "one common migration gives both engines the same schema",
			common: `CREATE TABLE c (id TEXT PRIMARY KEY, h {{BLOB}} NOT NULL DEFAULT {{EMPTY_BLOB}}, on_ {{BOOLEAN}} NOT NULL DEFAULT {{TRUE}}, off {{BOOLEAN}} NOT NULL DEFAULT {{FALSE}}, n BIGINT NOT NULL DEFAULT 0, s TEXT NOT NULL DEFAULT '' CHECK (s IN ('', 'a'))); CREATE INDEX c_s ON c (s, n) WHERE s <> ''; INSERT INTO c (id, on_) VALUES ('x', {{FALSE}})`,
		},
		{
			name:     "same schema",
			sqlite:   `CREATE TABLE p (id TEXT PRIMARY KEY); CREATE TABLE t (id INTEGER PRIMARY KEY, on_ INTEGER NOT NULL DEFAULT 0, data BLOB NOT NULL DEFAULT X'', p TEXT REFERENCES p (id) ON DELETE CASCADE, s TEXT NOT NULL CHECK (s IN ('a', 'b')), UNIQUE (p, s)); CREATE INDEX t_s ON t (s) WHERE s != 'a'`,
			postgres: `CREATE TABLE p (id TEXT PRIMARY KEY); CREATE TABLE t (id BIGINT PRIMARY KEY, on_ BOOLEAN NOT NULL DEFAULT FALSE, data BYTEA NOT NULL DEFAULT '\x'::bytea, p TEXT REFERENCES p (id) ON DELETE CASCADE, s TEXT NOT NULL CHECK (s IN ('a', 'b')), UNIQUE (p, s)); CREATE INDEX t_s ON t (s) WHERE s <> 'a'`,
		},
		{
			name:     "table missing",
			sqlite:   `CREATE TABLE a (id TEXT PRIMARY KEY); CREATE TABLE b (id TEXT PRIMARY KEY)`,
			postgres: `CREATE TABLE a (id TEXT PRIMARY KEY)`,
			want:     []string{"table b"},
		},
		{
			name:     "column missing, type and nullability",
			sqlite:   `CREATE TABLE a (id TEXT PRIMARY KEY, n BIGINT, flag INTEGER NOT NULL, extra TEXT)`,
			postgres: `CREATE TABLE a (id TEXT PRIMARY KEY, n INTEGER, flag INTEGER)`,
			want:     []string{"a.extra", "a.flag not null", "a.n type"},
		},
		{
			name:     "integer that is not the rowid is not bigint",
			sqlite:   `CREATE TABLE a (id TEXT PRIMARY KEY, n INTEGER NOT NULL)`,
			postgres: `CREATE TABLE a (id TEXT PRIMARY KEY, n BIGINT NOT NULL)`,
			want:     []string{"a.n type"},
		},
		{
			name:     "defaults",
			sqlite:   `CREATE TABLE a (id TEXT PRIMARY KEY, s TEXT NOT NULL DEFAULT 'en', b INTEGER NOT NULL DEFAULT 1, h BLOB DEFAULT X'00')`,
			postgres: `CREATE TABLE a (id TEXT PRIMARY KEY, s TEXT NOT NULL DEFAULT 'de', b BOOLEAN NOT NULL DEFAULT FALSE, h BYTEA)`,
			want:     []string{"a.b default", "a.h default", "a.s default"},
		},
		{
			name:     "column order",
			sqlite:   `CREATE TABLE a (id TEXT PRIMARY KEY, x TEXT, y TEXT)`,
			postgres: `CREATE TABLE a (id TEXT PRIMARY KEY, y TEXT, x TEXT)`,
			want:     []string{"a column order"},
		},
		{
			name:     "primary key, unique and check",
			sqlite:   `CREATE TABLE a (id TEXT, k TEXT NOT NULL, s TEXT CHECK (s IN ('a', 'b')), PRIMARY KEY (id, k), UNIQUE (s))`,
			postgres: `CREATE TABLE a (id TEXT, k TEXT NOT NULL, s TEXT CHECK (s IN ('a', 'c')), PRIMARY KEY (id))`,
			want:     []string{"a check (s in ( 'a' , 'b' ))", "a check (s in ( 'a' , 'c' ))", "a primary key", "a unique (s)"},
		},
		{
			name:     "foreign keys",
			sqlite:   `CREATE TABLE p (id TEXT PRIMARY KEY); CREATE TABLE a (id TEXT PRIMARY KEY, p TEXT REFERENCES p ON DELETE CASCADE, q TEXT REFERENCES p (id))`,
			postgres: `CREATE TABLE p (id TEXT PRIMARY KEY); CREATE TABLE a (id TEXT PRIMARY KEY, p TEXT REFERENCES p (id), q TEXT)`,
			want:     []string{"a foreign key (p)", "a foreign key (q)"},
		},
		{
			name:     "indexes",
			sqlite:   `CREATE TABLE a (id TEXT PRIMARY KEY, x TEXT, y TEXT); CREATE INDEX a_x ON a (x, y); CREATE UNIQUE INDEX a_y ON a (y) WHERE y IS NOT NULL; CREATE INDEX a_only ON a (y); CREATE INDEX a_p ON a (x) WHERE x IN ('a', 'b')`,
			postgres: `CREATE TABLE a (id TEXT PRIMARY KEY, x TEXT, y TEXT); CREATE INDEX a_x ON a (x); CREATE INDEX a_y ON a (y); CREATE INDEX a_p ON a (x) WHERE x IN ('a', 'b', 'c')`,
			want:     []string{"a index a_only", "a index a_p predicate", "a index a_x columns", "a index a_y predicate", "a index a_y unique"},
		},
		{
			name:     "expression index",
			sqlite:   `CREATE TABLE a (id TEXT PRIMARY KEY, x BIGINT, y BIGINT); CREATE INDEX a_e ON a ((coalesce(x, y)), id); CREATE INDEX a_f ON a (coalesce(x, y) DESC)`,
			postgres: `CREATE TABLE a (id TEXT PRIMARY KEY, x BIGINT, y BIGINT); CREATE INDEX a_e ON a ((COALESCE(x, y)), id); CREATE INDEX a_f ON a ((COALESCE(y, x)) DESC)`,
			want:     []string{"a index a_f columns"},
		},
		{
			name:     "triggers",
			sqlite:   `CREATE TABLE a (id TEXT PRIMARY KEY); CREATE TRIGGER a_no_update BEFORE UPDATE ON a BEGIN SELECT RAISE(ABORT, 'no'); END`,
			postgres: `CREATE TABLE a (id TEXT PRIMARY KEY); CREATE FUNCTION a_no() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'no'; END $$; CREATE TRIGGER a_no_delete BEFORE DELETE ON a FOR EACH ROW EXECUTE FUNCTION a_no()`,
			want:     []string{"a trigger before delete", "a trigger before update"},
		},
		{
			name:     "seed rows",
			sqlite:   `CREATE TABLE a (id INTEGER PRIMARY KEY, on_ INTEGER NOT NULL, h BLOB NOT NULL); INSERT INTO a VALUES (1, 1, zeroblob(2)); CREATE TABLE b (id INTEGER PRIMARY KEY, h BLOB NOT NULL); INSERT INTO b VALUES (1, zeroblob(2))`,
			postgres: `CREATE TABLE a (id BIGINT PRIMARY KEY, on_ BOOLEAN NOT NULL, h BYTEA NOT NULL); INSERT INTO a VALUES (1, TRUE, '\x0000'); CREATE TABLE b (id BIGINT PRIMARY KEY, h BYTEA NOT NULL); INSERT INTO b VALUES (1, '\x00')`,
			want:     []string{"b rows after migration"},
		},
	}
	ctx := context.Background()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lite, err := db.Open(ctx, "sqlite:"+t.TempDir()+"/drift.db", "")
			if err != nil {
				t.Fatal(err)
			}
			defer lite.Close()
			pg, err := db.Open(ctx, dbtest.PostgresURL(t), "")
			if err != nil {
				t.Fatal(err)
			}
			defer pg.Close()
			for _, side := range []struct {
				store *db.DB
				ddl   string
			}{{lite, tt.sqlite}, {pg, tt.postgres}} {
				if tt.common != "" {
					if side.ddl, err = db.ExpandCommon(tt.common, side.store.Dialect); err != nil {
						t.Fatal(err)
					}
				}
				if _, err := side.store.ExecContext(ctx, side.ddl); err != nil {
					t.Fatalf("%s: %v", side.store.Dialect, err)
				}
			}
			var got []string
			for _, d := range compareSchemas(readSchema(t, lite), readSchema(t, pg)) {
				got = append(got, d.key)
				t.Logf("found %s", d)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("drift keys = %q, want %q", got, tt.want)
			}
		})
	}
}
