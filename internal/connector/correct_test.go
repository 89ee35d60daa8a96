package connector

import (
	"context"
	"strings"
	"testing"

	"github.com/steward-dev/steward/internal/errs"
)

// correctDataset is the shop's customers and orders with some columns
// open to rectification.
const correctDataset = `
connector: shop
engine: postgres
dsn_env: SHOP_DB_URL
tables:
  - name: customers
    identifier: {column: id, kind: external_id}
    correct: update
    columns:
      - {name: email, category: contact, erase: null}
      - {name: full_name, category: contact, erase: mask, correctable: true}
      - {name: phone, category: contact, erase: null, correctable: true, auto_correct: true}
  - name: orders
    identifier: {column: customer_id, kind: external_id}
    columns:
      - {name: shipping_name, category: contact, erase: mask, correctable: true}
      - {name: total_cents, category: financial, erase: keep, legal_reason: invoices, correctable: true}
`

// TestCorrect: a correction reaches the subject's rows, and only theirs,
// on every engine (a PostgreSQL and a MariaDB row among them), with the
// values bound as parameters (a value that is SQL stays text); a column
// that is not correctable is refused, naming it, and nothing is written.
func TestCorrect(t *testing.T) {
	for _, engine := range engines {
		t.Run(string(engine), func(t *testing.T) {
			td := newTestDB(t, engine)
			td.loadShop(t, "")
			c := td.open(t, td.dataset(t, correctDataset))
			ctx := context.Background()
			p := td.prefix
			before := td.snapshot(t, "customers", "orders")

			_, err := c.Correct(ctx, ada, []Change{{Table: p + "customers", Column: "email", Value: "eve@example.org"},
				{Table: p + "customers", Column: "phone", Value: "+44 1"}})
			e, ok := errs.As(err)
			if !ok || e.Code != errs.CodeInvalid || e.Fields[p+"customers.email"] == "" {
				t.Fatalf("a non-correctable column: %v, want invalid naming customers.email", err)
			}
			if td.snapshot(t, "customers", "orders") != before {
				t.Fatal("a refused correction wrote")
			}

			// A value the column cannot hold is refused, named, and the
			// transaction rolled back: the table written first is as it was.
			if engine != SQLite { // SQLite enforces no declared length
				_, err = c.Correct(ctx, ada, []Change{{Table: p + "customers", Column: "phone", Value: strings.Repeat("9", 41)}})
				if e, ok := errs.As(err); !ok || e.Code != errs.CodeInvalid || e.Fields[p+"customers.phone"] == "" {
					t.Fatalf("a phone longer than its column: %v", err)
				}
			}
			_, err = c.Correct(ctx, ada, []Change{{Table: p + "customers", Column: "phone", Value: "+44 1"},
				{Table: p + "orders", Column: "total_cents", Value: "lots"}})
			if e, ok := errs.As(err); !ok || e.Code != errs.CodeInvalid || e.Fields[p+"orders.total_cents"] == "" {
				t.Fatalf("text for an integer column: %v", err)
			}
			if td.snapshot(t, "customers", "orders") != before {
				t.Fatal("a refused value left a write behind")
			}
			const sneaky = "Ada'); DROP TABLE customers; --"
			report, err := c.Correct(ctx, ada, []Change{{Table: p + "customers", Column: "phone", Value: "+44 20 7946 0999"},
				{Table: p + "customers", Column: "full_name", Value: sneaky},
				{Table: p + "orders", Column: "shipping_name", Value: "Augusta Ada King"},
				{Table: p + "orders", Column: "total_cents", Value: "4300"}})
			if err != nil {
				t.Fatal(err)
			}
			sameSteps(t, "correction", steps(p, report), []string{"customers.phone,full_name correct 1", "orders.shipping_name,total_cents correct 2"})
			checks := []struct{ query, want string }{
				{"SELECT phone FROM ${p}customers WHERE id = 1001", "+44 20 7946 0999"},
				{"SELECT full_name FROM ${p}customers WHERE id = 1001", sneaky},
				{"SELECT COUNT(*) FROM ${p}orders WHERE customer_id = 1001 AND shipping_name = 'Augusta Ada King'", "2"},
				{"SELECT phone FROM ${p}customers WHERE id = 1002", "+49 30 1234567"},
				{"SELECT shipping_name FROM ${p}orders WHERE id = 12", "Bob Builder"},
				{"SELECT total_cents FROM ${p}orders WHERE id = 10", "4300"},
				{"SELECT email FROM ${p}customers WHERE id = 1001", "ada@example.org"},
			}
			for _, ch := range checks {
				if got := td.value(t, ch.query); got != ch.want {
					t.Errorf("%s = %s, want %s", ch.query, got, ch.want)
				}
			}
			// The same correction again changes nothing.
			after := td.snapshot(t, "customers", "orders")
			if _, err := c.Correct(ctx, ada, []Change{{Table: p + "customers", Column: "phone", Value: "+44 20 7946 0999"}}); err != nil {
				t.Fatal(err)
			}
			if td.snapshot(t, "customers", "orders") != after {
				t.Error("a repeated correction changed the database")
			}
		})
	}
}

// TestParseCorrectable: the dataset file's correct keys are checked, each
// problem naming its field.
func TestParseCorrectable(t *testing.T) {
	tests := []struct{ name, column, table, field string }{
		{"auto without correctable", "{name: phone, category: contact, erase: null, auto_correct: true}", "", "tables[0].columns[0].auto_correct"},
		{"the identifier column", "{name: id, category: identifier, erase: keep, legal_reason: x, correctable: true}", "", "tables[0].columns[0].correctable"},
		{"unknown strategy", "{name: phone, category: contact, erase: null, correctable: true}", "correct: overwrite", "tables[0].correct"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			text := "connector: shop\nengine: sqlite\ndsn_env: X\ntables:\n  - name: customers\n    identifier: {column: id, kind: external_id}\n"
			if tc.table != "" {
				text += "    " + tc.table + "\n"
			}
			text += "    columns:\n      - " + tc.column + "\n"
			_, err := Parse("test.yaml", []byte(text))
			e, ok := errs.As(err)
			if !ok || e.Fields[tc.field] == "" {
				t.Fatalf("Parse = %v, want a problem at %s", err, tc.field)
			}
		})
	}
	ds, err := Parse("test.yaml", []byte(strings.Replace(correctDataset, "engine: postgres", "engine: sqlite", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if ok, auto := ds.Correctable("customers", "phone"); !ok || !auto {
		t.Error("customers.phone: want correctable, auto")
	}
	if ok, _ := ds.Correctable("customers", "email"); ok {
		t.Error("customers.email: want not correctable")
	}
}
