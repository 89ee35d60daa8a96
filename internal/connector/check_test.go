package connector

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	const people = `CREATE TABLE ${p}people (
  id INTEGER NOT NULL PRIMARY KEY,
  email VARCHAR(255) NOT NULL,
  code VARCHAR(20),
  short VARCHAR(3),
  age INTEGER,
  note TEXT
);
CREATE TABLE ${p}visits (
  id INTEGER NOT NULL PRIMARY KEY,
  person_ref VARCHAR(20) NOT NULL,
  page TEXT
);`
	head := "connector: check\nengine: sqlite\ndsn_env: DB\nhmac_key_env: KEY\ntables:\n"
	cases := []struct {
		name    string
		engines []Engine // all when empty
		schema  string
		dataset string
		want    []string // each mismatch as "LINE: text", table prefix removed
	}{
		{name: "everything there", schema: people, dataset: head + `
  - name: people
    identifier: {column: email, kind: email}
    columns:
      - {name: email, category: contact, erase: hash_hmac}
      - {name: code, category: identifier, erase: null}
      - {name: age, category: demographic, erase: keep, legal_reason: law}
      - {name: note, category: other, erase: mask}
  - name: visits
    identifier: {column: person_ref, kind: external_id}
    erase: delete_row
    columns: [{name: page, category: behavioural}]
`},
		{name: "missing table and columns", schema: people, dataset: head + `
  - name: ghosts
    identifier: {column: id, kind: external_id}
    erase: delete_row
    columns: [{name: boo, category: other}]
  - name: people
    identifier: {column: customer_no, kind: external_id}
    columns:
      - {name: nickname, category: contact, erase: mask}
`, want: []string{
			"7: table ghosts: no such table in the database",
			"12: table people, column customer_no: identifier column of table people does not exist",
			"14: table people, column nickname: no such column in the database",
		}},
		{name: "strategy against type", schema: people, dataset: head + `
  - name: people
    identifier: {column: age, kind: email}
    columns:
      - {name: email, category: contact, erase: null}
      - {name: age, category: demographic, erase: hash_hmac}
      - {name: id, category: identifier, erase: mask}
`, want: []string{
			"8: table people, column age: an email identifier needs a text column, but the column is",
			"10: table people, column email: erase null, but the column is NOT NULL",
			"11: table people, column age: hash_hmac writes 64 hex digits, but the column is",
			"12: table people, column id: erase mask writes text, but the column is",
		}},
		{name: "lengths", engines: []Engine{Postgres, MySQL}, schema: people, dataset: head + `
  - name: people
    identifier: {column: id, kind: external_id}
    columns:
      - {name: code, category: identifier, erase: hash_hmac}
      - {name: short, category: identifier, erase: mask}
      - {name: note, category: other, erase: mask, mask: "--"}
`, want: []string{
			"10: table people, column code: hash_hmac writes 64 hex digits, but the column holds at most 20 characters",
			`11: table people, column short: the mask "[erased]" has 8 characters, but the column holds at most 3`,
		}},
		{name: "join path", schema: people + "\nCREATE TABLE ${p}visits2 (id INTEGER NOT NULL PRIMARY KEY, page TEXT);\nCREATE TABLE ${p}extra (id INTEGER NOT NULL PRIMARY KEY, page TEXT);", dataset: head + `
  - name: visits
    identifier:
      via: [{column: person_ref, references: people.id}]
      column: email
      kind: email
    erase: delete_row
    columns: [{name: page, category: behavioural}]
  - name: people
    identifier:
      via:
        - {column: nope, references: extra.id}
        - {column: page, references: orders.id}
      column: id
      kind: external_id
    erase: delete_row
    columns: [{name: email, category: contact}]
  - name: visits2
    identifier:
      via: [{column: id, references: people.missing}]
      column: email
      kind: email
    erase: delete_row
    columns: [{name: page, category: behavioural}]
`, want: []string{
			"9: table visits, column person_ref: join column person_ref (",
			"17: table people, column nope: join column nope (via of table people) does not exist",
			"18: table people: join path references table orders, which does not exist",
			"25: table people, column missing: join path of table visits2 references column people.missing, which does not exist",
		}},
		{name: "retention against the table", engines: []Engine{Postgres, MySQL}, schema: people, dataset: head + `
  - name: people
    identifier: {column: id, kind: external_id}
    columns:
      - {name: short, category: identifier, erase: null}
      - {name: age, category: demographic, erase: null}
    retention: {column: note, period: 30d, strategy: mask, key: pk}
  - name: visits
    identifier: {column: person_ref, kind: external_id}
    erase: delete_row
    columns: [{name: page, category: behavioural}]
    retention: {column: seen_at, period: 2y, strategy: delete}
`, want: []string{
			"12: table people, column note: retention: the period runs from this column, but it is",
			"12: table people, column pk: retention: the key column the batches walk does not exist",
			`12: table people, column short: retention: strategy mask writes "[erased]" (8 characters), but the column holds at most 3`,
			`12: table people, column age: retention: strategy mask writes "[erased]", but the column is`,
			"17: table visits, column seen_at: retention: the timestamp column does not exist",
		}},
		{name: "storage that cannot roll back", engines: []Engine{MySQL},
			schema: "CREATE TABLE ${p}logs (id INTEGER NOT NULL PRIMARY KEY, who VARCHAR(64)) ENGINE=MyISAM;",
			dataset: head + `
  - name: logs
    identifier: {column: who, kind: email}
    erase: delete_row
    columns: [{name: who, category: contact}]
`, want: []string{"7: table logs: storage engine MyISAM cannot roll back"}},
	}

	for _, engine := range engines {
		t.Run(string(engine), func(t *testing.T) {
			// Every case gets its own tables: a prefix of its own on MariaDB,
			// a database or schema of its own elsewhere.
			for _, c := range cases {
				if len(c.engines) > 0 && !slices.Contains(c.engines, engine) {
					continue
				}
				t.Run(c.name, func(t *testing.T) {
					td := newTestDB(t, engine)
					td.exec(t, c.schema+"\n", nil)
					ds := td.dataset(t, c.dataset)
					conn := td.open(t, ds)
					mismatches, err := conn.Check(context.Background())
					if err != nil {
						t.Fatal(err)
					}
					var got []string
					for _, m := range mismatches {
						if m.Warning {
							continue // TestExternalIDsMatchExactly checks the one warning
						}
						got = append(got, strings.ReplaceAll(strconv.Itoa(m.Line)+": "+m.String(), td.prefix, ""))
					}
					t.Logf("mismatches:\n%s", strings.Join(got, "\n"))
					if len(got) != len(c.want) {
						t.Errorf("%d mismatches, want %d:\n%s", len(got), len(c.want), strings.Join(got, "\n"))
					}
					for _, w := range c.want {
						if !slices.ContainsFunc(got, func(g string) bool { return strings.HasPrefix(g, w) }) {
							t.Errorf("no mismatch %q in\n%s", w, strings.Join(got, "\n"))
						}
					}
				})
			}
		})
	}
}

func TestCheckShop(t *testing.T) {
	for _, engine := range engines {
		t.Run(string(engine), func(t *testing.T) {
			td := newTestDB(t, engine)
			td.loadShop(t, "")
			mismatches, err := td.open(t, td.shop(t)).Check(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if len(mismatches) > 0 {
				t.Errorf("testdata/shop.yaml does not match testdata/shop.sql: %v", mismatches)
			}
		})
	}
}
