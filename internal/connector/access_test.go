package connector

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
)

// adaRows are Ada's rows of testdata/shop.sql, per table, sorted.
var adaRows = map[string][]string{
	"customers":       {"ada@example.org|Ada Lovelace|+44 20 7946 0001|GB"},
	"addresses":       {"12 St James's Square|London|SW1Y 4JH", "Ockham Park|Ockham|GU23 6NP"},
	"orders":          {"1999|A. Lovelace|NULL", "4200|Ada Lovelace|12 St James's Square, London"},
	"order_items":     {"SKU-1|Happy birthday, Ada!", "SKU-2|NULL", "SKU-3|For the engine"},
	"wishlists":       {"Ada wishes"},
	"wishlist_items":  {"SKU-8|NULL", "SKU-9|brass gears"},
	"newsletter":      {"ADA@Example.org|2024-01-01"},
	"support_tickets": {"Ada@Example.org|Still broken", "ada@example.org|My analytical engine broke"},
}

var shopTables = []string{"customers", "addresses", "orders", "order_items", "wishlists", "wishlist_items", "newsletter", "support_tickets"}

func TestAccess(t *testing.T) {
	emailTables := map[string][]string{"newsletter": adaRows["newsletter"], "support_tickets": adaRows["support_tickets"]}
	cases := []struct {
		name    string
		subject Identifiers
		want    map[string][]string // tables not named have no rows
	}{
		{"external id and email", Identifiers{ExternalIDs: []string{"1001"}, Emails: []string{"ada@example.org"}}, adaRows},
		{"email in another case", Identifiers{Emails: []string{" ADA@EXAMPLE.ORG "}}, emailTables},
		{"nobody", Identifiers{}, nil},
		{"unknown ids", Identifiers{ExternalIDs: []string{"999999"}, Emails: []string{"nobody@example.org"}}, nil},
		{"a number written otherwise is another id", Identifiers{ExternalIDs: []string{"01001", "1001.0", "+1001"}}, nil},
		{"injection attempts are plain values", Identifiers{
			ExternalIDs: []string{"1001 OR 1=1", "1001; DROP TABLE customers", "' OR '1'='1", "1001) OR (1=1"},
			Emails:      []string{"' OR '1'='1", "x') OR 1=1 --", `"; DELETE FROM newsletter; --`, "%"},
		}, nil},
	}
	for _, engine := range engines {
		t.Run(string(engine), func(t *testing.T) {
			td := newTestDB(t, engine)
			td.loadShop(t, "")
			c := td.open(t, td.shop(t))
			before := td.snapshot(t, shopTables...)
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					rec := newRecorder()
					if err := c.Access(context.Background(), tc.subject, rec); err != nil {
						t.Fatal(err)
					}
					if len(rec.tables) != len(shopTables) {
						t.Errorf("tables %v, want all %d", rec.tables, len(shopTables))
					}
					for _, table := range shopTables {
						got := rec.rows[td.prefix+table]
						slices.Sort(got)
						if strings.Join(got, "\n") != strings.Join(tc.want[table], "\n") {
							t.Errorf("%s:\n got %q\nwant %q", table, got, tc.want[table])
						}
						if n := rec.ends[td.prefix+table]; n != int64(len(got)) {
							t.Errorf("%s: EndTable says %d rows, Row saw %d", table, n, len(got))
						}
						for _, row := range got {
							if strings.Contains(strings.ToLower(row), "bob") || strings.Contains(row, "Berlin") {
								t.Errorf("%s: another subject's row %q", table, row)
							}
						}
					}
					for typ := range rec.types {
						if typ != "string" && typ != "int64" && typ != "<nil>" {
							t.Errorf("a value of type %s reached the sink", typ)
						}
					}
				})
			}
			if after := td.snapshot(t, shopTables...); after != before {
				t.Errorf("access changed the database")
			}
		})
	}
}

// TestAccessIsReadOnly runs a write inside Access's transaction: every
// engine must refuse it, and the connection must be writable again after.
func TestAccessIsReadOnly(t *testing.T) {
	for _, engine := range engines {
		t.Run(string(engine), func(t *testing.T) {
			td := newTestDB(t, engine)
			td.loadShop(t, "")
			c := td.open(t, td.shop(t))
			ctx := context.Background()
			err := c.readOnly(ctx, func(q querier) error {
				_, err := q.ExecContext(ctx, "DELETE FROM "+quote(engine, td.prefix+"newsletter"))
				return err
			})
			if err == nil {
				t.Fatal("a write inside the read-only transaction succeeded")
			}
			if got := td.value(t, "SELECT COUNT(*) FROM ${p}newsletter"); got != "2" {
				t.Fatalf("newsletter has %s rows after the refused write, want 2", got)
			}
			// The pool has a handful of connections: each must be writable.
			for range 6 {
				if _, err := c.Erase(ctx, Identifiers{Emails: []string{"nobody@example.org"}}, false); err != nil {
					t.Fatalf("erase after access: %v", err)
				}
			}
		})
	}
}

type failingSink struct {
	recorder
	err error
}

func (f *failingSink) Row([]any) error { return f.err }

func TestAccessStopsOnSinkError(t *testing.T) {
	td := newTestDB(t, SQLite)
	td.loadShop(t, "")
	c := td.open(t, td.shop(t))
	stop := errors.New("disk full")
	sink := &failingSink{recorder: *newRecorder(), err: stop}
	err := c.Access(context.Background(), Identifiers{ExternalIDs: []string{"1001"}}, sink)
	if !errors.Is(err, stop) {
		t.Fatalf("error %v, want the sink's", err)
	}
	if len(sink.tables) != 1 {
		t.Errorf("Access went on to %v after the sink failed", sink.tables)
	}
}
