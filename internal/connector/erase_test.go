package connector

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/steward-dev/steward/internal/errs"
)

var ada = Identifiers{ExternalIDs: []string{"1001"}, Emails: []string{"ada@example.org"}}

// adaErasure is the report of erasing Ada from testdata/shop.sql, in the
// order the steps run; adaAgain is the report of erasing her again.
var (
	adaErasure = []string{
		"customers.email hash_hmac 1",
		"customers.full_name mask 1",
		"customers.phone null 1",
		"customers.country keep 1",
		"addresses delete_row 2",
		"order_items.sku keep 3",
		"order_items.gift_message null 2",
		"orders.total_cents keep 2",
		"orders.shipping_name mask 2",
		"orders.shipping_address null 1",
		"wishlist_items delete_row 2",
		"wishlists delete_row 1",
		"newsletter delete_row 1",
		"support_tickets.body null 2",
		"support_tickets.customer_email hash_hmac 2",
	}
	adaAgain = []string{
		"customers.email hash_hmac 0",
		"customers.full_name mask 0",
		"customers.phone null 0",
		"customers.country keep 1",
		"addresses delete_row 0",
		"order_items.sku keep 3",
		"order_items.gift_message null 0",
		"orders.total_cents keep 2",
		"orders.shipping_name mask 0",
		"orders.shipping_address null 0",
		"wishlist_items delete_row 0",
		"wishlists delete_row 0",
		"newsletter delete_row 0",
		// The tickets were found by the email that is now an HMAC.
		"support_tickets.body null 0",
		"support_tickets.customer_email hash_hmac 0",
	}
)

func steps(prefix string, r *Report) []string {
	out := make([]string, len(r.Steps))
	for i, s := range r.Steps {
		name := strings.TrimPrefix(s.Table, prefix)
		if s.Column != "" {
			name += "." + s.Column
		}
		out[i] = fmt.Sprintf("%s %s %d", name, s.Action, s.Rows)
	}
	return out
}

func sameSteps(t *testing.T, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s:\n got %s\nwant %s", what, strings.Join(got, "\n     "), strings.Join(want, "\n     "))
	}
}

func TestErase(t *testing.T) {
	for _, engine := range engines {
		t.Run(string(engine), func(t *testing.T) {
			td := newTestDB(t, engine)
			td.loadShop(t, "")
			c := td.open(t, td.shop(t))
			ctx := context.Background()
			before := td.snapshot(t, shopTables...)

			dry, err := c.Erase(ctx, ada, true)
			if err != nil {
				t.Fatal(err)
			}
			if !dry.DryRun || dry.Connector != "shop" {
				t.Errorf("report header %+v", dry)
			}
			sameSteps(t, "dry run", steps(td.prefix, dry), adaErasure)
			if td.snapshot(t, shopTables...) != before {
				t.Fatal("the dry run changed the database")
			}

			done, err := c.Erase(ctx, ada, false)
			if err != nil {
				t.Fatal(err)
			}
			sameSteps(t, "erasure", steps(td.prefix, done), adaErasure)
			after := td.snapshot(t, shopTables...)
			for _, trace := range []string{"Ada", "ada@", "ADA@", "Lovelace", "Ockham", "St James", "birthday", "brass", "analytical", "+44"} {
				if strings.Contains(after, trace) {
					t.Errorf("%q is still in the database:\n%s", trace, after)
				}
			}
			for _, line := range strings.Split(before, "\n") {
				if strings.Contains(strings.ToLower(line), "bob") || strings.Contains(line, "Berlin") || strings.Contains(line, "hammer") {
					if !strings.Contains(after, line) {
						t.Errorf("another subject's row changed: %s", line)
					}
				}
			}
			mac := hmac.New(sha256.New, []byte(testKey))
			mac.Write([]byte("ada@example.org"))
			wantHash := hex.EncodeToString(mac.Sum(nil))
			checks := []struct{ query, want string }{
				{"SELECT email FROM ${p}customers WHERE id = 1001", wantHash},
				{"SELECT full_name FROM ${p}customers WHERE id = 1001", DefaultMask},
				{"SELECT phone FROM ${p}customers WHERE id = 1001", "NULL"},
				{"SELECT country FROM ${p}customers WHERE id = 1001", "GB"},
				{"SELECT shipping_name FROM ${p}orders WHERE id = 10", "***"},
				{"SELECT total_cents FROM ${p}orders WHERE id = 10", "4200"},
				{"SELECT COUNT(*) FROM ${p}support_tickets WHERE body IS NULL AND LENGTH(customer_email) = 64", "2"},
			}
			for _, ch := range checks {
				if got := td.value(t, ch.query); got != ch.want {
					t.Errorf("%s = %s, want %s", ch.query, got, ch.want)
				}
			}

			again, err := c.Erase(ctx, ada, false)
			if err != nil {
				t.Fatal(err)
			}
			sameSteps(t, "second erasure", steps(td.prefix, again), adaAgain)
			if td.snapshot(t, shopTables...) != after {
				t.Error("the second erasure changed the database")
			}
		})
	}
}

// TestEraseRollsBackOnFailure makes the last statement of the erasure fail
// (a CHECK constraint the HMAC breaks): nothing before it may stay.
func TestEraseRollsBackOnFailure(t *testing.T) {
	for _, engine := range engines {
		t.Run(string(engine), func(t *testing.T) {
			td := newTestDB(t, engine)
			td.loadShop(t, ",\n  CHECK (LENGTH(customer_email) < 60)")
			c := td.open(t, td.shop(t))
			before := td.snapshot(t, shopTables...)
			for _, dryRun := range []bool{true, false} {
				report, err := c.Erase(context.Background(), ada, dryRun)
				if err == nil {
					t.Fatalf("dry run %v: erasure succeeded: %v", dryRun, report.Steps)
				}
				if !strings.Contains(err.Error(), "support_tickets, column customer_email: hash_hmac") {
					t.Errorf("error %q does not say where", err)
				}
				if report != nil {
					t.Errorf("a failed erasure returned a report")
				}
				if td.snapshot(t, shopTables...) != before {
					t.Fatalf("dry run %v: the failed erasure left changes", dryRun)
				}
			}
		})
	}
}

func TestEraseWithoutKey(t *testing.T) {
	td := newTestDB(t, SQLite)
	td.loadShop(t, "")
	ds := td.shop(t)
	env := map[string]string{ds.DSNEnv: td.dsn, ds.HMACKeyEnv: "too short"}
	c, err := Open(context.Background(), ds, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	before := td.snapshot(t, shopTables...)
	if _, err := c.Erase(context.Background(), ada, false); !errs.Is(err, errs.CodeInvalid) || !strings.Contains(err.Error(), "SHOP_ERASURE_KEY") {
		t.Fatalf("erase without a usable key: %v, want an invalid error naming the variable", err)
	}
	dry, err := c.Erase(context.Background(), ada, true)
	if err != nil {
		t.Fatalf("dry run without a key: %v", err)
	}
	sameSteps(t, "dry run without a key", steps("", dry), adaErasure)
	if td.snapshot(t, shopTables...) != before {
		t.Fatal("changed the database")
	}
	mismatches, err := c.Check(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(mismatches) != 1 || !strings.Contains(mismatches[0].Problem, "SHOP_ERASURE_KEY") {
		t.Errorf("check: %v, want the short key alone", mismatches)
	}
}

// TestEraseHashesManyValues erases a column with more distinct values than
// one batch of hash_hmac reads.
func TestEraseHashesManyValues(t *testing.T) {
	const rows = 2*hmacBatch + 3
	for _, engine := range engines {
		t.Run(string(engine), func(t *testing.T) {
			td := newTestDB(t, engine)
			td.exec(t, `CREATE TABLE ${p}events (id INTEGER NOT NULL PRIMARY KEY, customer_id INTEGER NOT NULL, ip VARCHAR(64));`, nil)
			var values []string
			for i := range rows + 2 {
				customer := 7
				if i >= rows {
					customer = 8 // someone else
				}
				values = append(values, fmt.Sprintf("(%d, %d, '10.0.%d.%d')", i, customer, i/256, i%256))
			}
			td.exec(t, "INSERT INTO ${p}events (id, customer_id, ip) VALUES "+strings.Join(values, ", ")+";", nil)
			ds := td.dataset(t, `connector: events
engine: sqlite
dsn_env: EVENTS_DB
hmac_key_env: EVENTS_KEY
tables:
  - name: events
    identifier: {column: customer_id, kind: external_id}
    columns: [{name: ip, category: location, erase: hash_hmac}]
`)
			c := td.open(t, ds)
			for i, want := range []int64{rows, 0} {
				r, err := c.Erase(context.Background(), Identifiers{ExternalIDs: []string{"7"}}, false)
				if err != nil {
					t.Fatal(err)
				}
				if r.Steps[0].Rows != want {
					t.Errorf("erasure %d hashed %d rows, want %d", i+1, r.Steps[0].Rows, want)
				}
			}
			if got := td.value(t, "SELECT COUNT(*) FROM ${p}events WHERE LENGTH(ip) = 64"); got != fmt.Sprint(rows) {
				t.Errorf("%s rows hashed, want %d", got, rows)
			}
			if got := td.value(t, "SELECT COUNT(*) FROM ${p}events WHERE customer_id = 8 AND ip LIKE '10.0.%'"); got != "2" {
				t.Errorf("%s of the other customer's rows intact, want 2", got)
			}
		})
	}
}
