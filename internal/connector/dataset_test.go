package connector

import (
	"errors"
	"strings"
	"testing"

	"github.com/steward-dev/steward/internal/errs"
)

func TestParseExample(t *testing.T) {
	ds, err := ParseFile("testdata/shop.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if ds.Name != "shop" || ds.Engine != Postgres || ds.DSNEnv != "SHOP_DB_URL" || ds.HMACKeyEnv != "SHOP_ERASURE_KEY" {
		t.Fatalf("header: %+v", ds)
	}
	byName := map[string]*Table{}
	for i := range ds.Tables {
		byName[ds.Tables[i].Name] = &ds.Tables[i]
	}
	phone := byName["customers"].Columns[2]
	if phone.Name != "phone" || phone.Erase != SetNull {
		t.Errorf("a bare \"erase: null\" reads as %q, want %q", phone.Erase, SetNull)
	}
	if phone.Line != 22 {
		t.Errorf("customers.phone at line %d, want 22", phone.Line)
	}
	items := byName["order_items"]
	if table, column := items.Identifier.Via[0].Target(); table != "orders" || column != "id" {
		t.Errorf("order_items joins %s.%s, want orders.id", table, column)
	}
	if got := byName["orders"].Columns[1].MaskValue(); got != "***" {
		t.Errorf("orders.shipping_name mask %q", got)
	}
	if got := byName["customers"].Columns[1].MaskValue(); got != DefaultMask {
		t.Errorf("customers.full_name mask %q, want the default", got)
	}
	order, err := eraseOrder(ds)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, i := range order {
		names = append(names, ds.Tables[i].Name)
	}
	want := "customers addresses order_items orders wishlist_items wishlists newsletter support_tickets"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("erase order\n got %s\nwant %s", got, want)
	}
}

func TestParseMariaDBIsMySQL(t *testing.T) {
	ds, err := Parse("x.yaml", []byte(header("mariadb")+`
  - name: t
    identifier: {column: id, kind: external_id}
    erase: delete_row
    columns: [{name: a, category: other}]
`))
	if err != nil {
		t.Fatal(err)
	}
	if ds.Engine != MySQL {
		t.Fatalf("engine %q, want mysql", ds.Engine)
	}
}

func header(engine string) string {
	return "connector: shop\nengine: " + engine + "\ndsn_env: SHOP_DB_URL\ntables:"
}

// TestParseProblems gives broken files and the problems they must report,
// each as "LINE: words of the message".
func TestParseProblems(t *testing.T) {
	const good = `
  - name: t
    identifier: {column: id, kind: external_id}
    columns:
      - {name: a, category: contact, erase: mask}
`
	cases := []struct {
		name string
		file string
		want []string
	}{
		{"unknown top-level key", "connector: shop\nengine: sqlite\ndsn_env: X\ndsn: postgres://secret\ntables:" + good,
			[]string{`4: unknown field "dsn"`}},
		{"unknown column key", header("sqlite") + `
  - name: t
    identifier: {column: id, kind: external_id}
    columns:
      - {name: a, category: contact, erase: mask}
      - name: b
        category: contact
        erase: keep
        legal_reasons: typo
`, []string{`12: unknown field "legal_reasons"`}},
		{"syntax error", header("sqlite") + "\n  - name: [t\n", []string{"5: "}},
		{"wrong type", "connector: shop\nengine: sqlite\ndsn_env: X\ntables: {name: t}\n", []string{"4: "}},
		{"empty file", "", []string{"1: connector: give the connector a name", "1: engine: give", "1: dsn_env: name", "1: tables: declare"}},
		{"bad header", "connector: My Shop\nengine: oracle\ndsn_env: 'SHOP DB'\nhmac_key_env: 1KEY\ntables:" + good, []string{
			`1: connector "My Shop": use lowercase`,
			`2: engine "oracle": want postgres, mysql, mariadb or sqlite`,
			`3: dsn_env "SHOP DB" is not an environment variable name`,
			`4: hmac_key_env "1KEY" is not`,
		}},
		{"every column problem at its line", header("postgres") + `
  - name: t
    identifier: {column: id, kind: external_id}
    columns:
      - name: a
        category: contact
        erase: keep
      - name: b
        category: secrets
        erase: shred
      - {name: c, category: contact}
      - {name: d, category: contact, erase: delete_row}
      - {name: e, category: contact, erase: null, legal_reason: "why not"}
      - {name: f, category: contact, erase: null, mask: "xx"}
      - {name: a, category: contact, erase: null}
`, []string{
			"8: table t, column a: erase keep needs a legal_reason",
			`12: table t, column b: category "secrets": want one of contact`,
			`13: table t, column b: erase "shred": want null, mask, hash_hmac or keep`,
			"14: table t, column c: erase: give null",
			"15: table t, column d: delete_row belongs to the table",
			"16: table t, column e: legal_reason only goes with erase: keep",
			"17: table t, column f: mask only goes with erase: mask",
			"18: table t: column a is declared twice (first at line 8)",
		}},
		{"column strategy in a delete_row table", header("sqlite") + `
  - name: t
    identifier: {column: id, kind: email}
    erase: delete_row
    columns:
      - {name: a, category: contact, erase: mask}
`, []string{"9: table t, column a: erase mask: the table's rows are deleted"}},
		{"table problems", header("sqlite") + `
  - name: t
    erase: mask
    columns: []
  - name: t
    identifier: {column: id, kind: phone}
    columns: [{name: a, category: other, erase: keep, legal_reason: law}]
  - identifier: {column: id, kind: email}
    columns: [{name: a, category: other, erase: keep, legal_reason: law}]
`, []string{
			"5: table t: identifier: say which column",
			`6: table t: erase "mask": a table takes only delete_row`,
			"7: table t: columns: declare the columns",
			"8: table t is declared twice (first at line 5)",
			`9: table t: identifier kind "phone": want external_id or email`,
			"11: table: name is missing",
		}},
		{"injection in names", header("sqlite") + `
  - name: 't"; DROP TABLE customers; --'
    identifier: {column: id, kind: external_id}
    columns: [{name: a, category: other, erase: keep, legal_reason: law}]
  - name: u
    identifier: {column: "id) OR 1=1 --", kind: external_id}
    columns: [{name: "a` + "`" + `b", category: other, erase: keep, legal_reason: law}]
`, []string{
			`5: table name "t\"; DROP TABLE customers; --": use letters`,
			`9: table u: identifier column name "id) OR 1=1 --": use letters`,
			"10: table u: column name \"a`b\": use letters",
		}},
		{"join path problems", header("sqlite") + `
  - name: items
    identifier:
      via:
        - {column: order_id, references: orders}
        - {column: x, references: items.id}
      column: customer_id
      kind: external_id
    columns: [{name: a, category: other, erase: keep, legal_reason: law}]
`, []string{
			`8: table items: via references "orders": write table.column`,
			"9: table items: the join path visits table items twice",
		}},
		{"join path cycle", header("sqlite") + `
  - name: a
    identifier:
      via: [{column: b_id, references: b.id}]
      column: id
      kind: external_id
    erase: delete_row
    columns: [{name: x, category: other}]
  - name: b
    identifier:
      via: [{column: a_id, references: a.id}]
      column: id
      kind: external_id
    erase: delete_row
    columns: [{name: x, category: other}]
`, []string{"5: the join paths of tables a, b form a cycle"}},
		{"hash_hmac without a key", header("sqlite") + `
  - name: t
    identifier: {column: id, kind: external_id}
    columns: [{name: a, category: contact, erase: hash_hmac}]
`, []string{"1: hmac_key_env: a column uses hash_hmac"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("shop.yaml", []byte(c.file))
			if err == nil {
				t.Fatal("parsed, want problems")
			}
			if !errs.Is(err, errs.CodeInvalid) {
				t.Errorf("code %s, want invalid", errs.CodeOf(err))
			}
			var problems Problems
			if !errors.As(err, &problems) {
				t.Fatalf("%v: no Problems inside", err)
			}
			var got []string
			for _, p := range problems {
				got = append(got, p.String())
			}
			if len(got) != len(c.want) {
				t.Errorf("%d problems, want %d:\n%s", len(got), len(c.want), strings.Join(got, "\n"))
			}
			for _, w := range c.want {
				line, words, _ := strings.Cut(w, ": ")
				found := false
				for _, g := range got {
					if strings.HasPrefix(g, "shop.yaml:"+line+": ") && strings.Contains(g, words) {
						found = true
					}
				}
				if !found {
					t.Errorf("no problem %q in\n%s", w, strings.Join(got, "\n"))
				}
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("message has several lines: %q", err)
			}
		})
	}
}

func TestQuoteAndParameters(t *testing.T) {
	table := &Table{
		Name: "order_items",
		Identifier: Identifier{
			Via:    []Hop{{Column: "order_id", References: "orders.id"}},
			Column: "email", Kind: KindEmail,
		},
	}
	cases := []struct {
		engine Engine
		want   string
	}{
		{Postgres, `DELETE FROM "order_items" WHERE "order_items"."order_id" IN (SELECT "orders"."id" FROM "orders" WHERE LOWER("orders"."email") IN (LOWER($1), LOWER($2)))`},
		{MySQL, "DELETE FROM `order_items` WHERE `order_items`.`order_id` IN (SELECT `orders`.`id` FROM `orders` WHERE LOWER(`orders`.`email`) IN (LOWER(?), LOWER(?)))"},
		{SQLite, `DELETE FROM "order_items" WHERE "order_items"."order_id" IN (SELECT "orders"."id" FROM "orders" WHERE LOWER("orders"."email") IN (LOWER(?), LOWER(?)))`},
	}
	hostile := []any{"x') OR 1=1 --", `"; DROP TABLE orders; --`}
	for _, c := range cases {
		t.Run(string(c.engine), func(t *testing.T) {
			b := &builder{engine: c.engine}
			b.write("DELETE FROM ").name(table.Name).write(" WHERE ")
			where(b, table, hostile)
			if b.String() != c.want {
				t.Errorf("\n got %s\nwant %s", b, c.want)
			}
			if len(b.args) != 2 || b.args[0] != hostile[0] || b.args[1] != hostile[1] {
				t.Errorf("args %q", b.args)
			}
		})
	}
	// Quoting is the second fence behind name validation: it must hold alone.
	for _, q := range []struct {
		engine     Engine
		name, want string
	}{
		{Postgres, `a"b`, `"a""b"`},
		{SQLite, `a"b`, `"a""b"`},
		{MySQL, "a`b", "`a``b`"},
	} {
		if got := quote(q.engine, q.name); got != q.want {
			t.Errorf("quote(%s, %s) = %s, want %s", q.engine, q.name, got, q.want)
		}
	}
}

func TestLooksHashed(t *testing.T) {
	cases := []struct {
		in   string
		want bool
	}{
		{strings.Repeat("ab", 32), true},
		{strings.Repeat("AB", 32), false},
		{strings.Repeat("ab", 31), false},
		{strings.Repeat("g", 64), false},
		{"ada@example.org", false},
	}
	for _, c := range cases {
		if got := looksHashed(c.in); got != c.want {
			t.Errorf("looksHashed(%q) = %v", c.in, got)
		}
	}
}
