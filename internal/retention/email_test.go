package retention_test

import (
	"context"
	"slices"
	"testing"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/connector"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/retention"
	"github.com/steward-dev/steward/internal/vault"
	"github.com/steward-dev/steward/internal/vault/vaulttest"
)

// TestRunHeldByEmail: a table that finds rows by email keeps a held
// customer's rows, matched by the address in the vault (the reading is
// audited); without the vault to read it, the system's retention fails
// and deletes nothing, and the report names it.
func TestRunHeldByEmail(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := audit.WithActor(context.Background(), audit.System())
		clk := &clock{t: at(31, 0)}
		v := vaulttest.Open(t, store, func(c *vault.Config) { c.Now = clk.Now })
		t.Cleanup(func() { v.Close() })
		if _, err := v.Put(ctx, ada, vault.Field{Name: "email", Category: "contact", Value: []byte("Ada.L@example.org")}); err != nil {
			t.Fatal(err)
		}
		log, err := audit.New(audit.Config{DB: store})
		if err != nil {
			t.Fatal(err)
		}
		shop := openExternal(t, connector.Postgres)
		shop.exec(t, `CREATE TABLE sessions (id INTEGER PRIMARY KEY, customer_id VARCHAR(64), ip VARCHAR(64), created_at TIMESTAMPTZ NOT NULL)`,
			`INSERT INTO sessions VALUES (1, 'ada.l@example.org', '198.51.100.7', '2026-01-01 10:00:00'), (2, 'bob@example.org', '198.51.100.8', '2026-01-01 10:00:00')`)
		ds, err := connector.Parse("shop.yaml", []byte(`connector: shop
engine: postgres
dsn_env: SHOP_DB
tables:
  - name: sessions
    identifier: {column: customer_id, kind: email}
    erase: delete_row
    columns:
      - {name: ip, category: device}
    retention: {column: created_at, period: 30d, strategy: delete}
`))
		if err != nil {
			t.Fatal(err)
		}
		open := func(contacts retention.Contacts) *retention.Service {
			svc, err := retention.New(retention.Config{DB: store, Audit: log, Now: clk.Now, Connectors: []*connector.Dataset{ds},
				Getenv: func(string) string { return shop.dsn }, Contacts: contacts})
			if err != nil {
				t.Fatal(err)
			}
			return svc
		}
		if _, err := open(nil).PlaceHold(ctx, ada, "Claim 2026-17"); err != nil {
			t.Fatal(err)
		}
		blind, err := open(nil).Run(ctx, false)
		if err == nil || !slices.Equal(blind.Failed, []string{"shop"}) || shop.count(t, "1=1") != 2 {
			t.Fatalf("without the vault: %v, failed %v, %d rows left; want a failure and both rows", err, blind.Failed, shop.count(t, "1=1"))
		}
		r, err := open(v).Run(ctx, false)
		if err != nil || counts(r) != "shop/sessions/device delete 1" {
			t.Fatalf("run: %s, %v", counts(r), err)
		}
		if shop.count(t, "id = 1") != 1 {
			t.Fatal("the held customer's row, found by email, went")
		}
		page, err := log.Search(context.Background(), audit.Query{Action: retention.ActionReadHeldContacts, Limit: 10})
		if err != nil || len(page.Entries) != 1 {
			t.Fatalf("entries of reading held addresses: %d, %v; want 1, of the run that read them", len(page.Entries), err)
		}
	})
}
