package inventory_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/connector"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/inventory"
	"github.com/steward-dev/steward/internal/vault"
)

type vaultCounts []vault.FieldCount

func (v vaultCounts) FieldCounts(context.Context) ([]vault.FieldCount, error) { return v, nil }

func openService(t *testing.T, store *db.DB, now func() time.Time) (*inventory.Service, *audit.Log) {
	t.Helper()
	log, err := audit.New(audit.Config{DB: store, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := inventory.New(inventory.Config{DB: store, Audit: log, Now: now,
		Catalog:    catalog{categories: vocabulary(), purposes: purposes(), vendors: vendors()},
		Datasets:   []*connector.Dataset{shopDataset()},
		Vault:      vaultCounts{{Name: "iban", Category: "financial", Count: 2}},
		Controller: inventory.Controller{Name: "Example Shop"}})
	if err != nil {
		t.Fatal(err)
	}
	return svc, log
}

// TestFacts: an officer's facts about a system are stored on both engines,
// read back into the map and the record, stamped with who and when, each
// change audited naming the fields (not their text); invalid facts name
// their field, an unknown system is not found, an unchanged save writes
// nothing.
func TestFacts(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		now := fixedNow
		clock := func() time.Time { return now }
		svc, log := openService(t, store, clock)
		ctx := audit.WithActor(context.Background(), audit.Staff("st-officer"))

		f, err := svc.PutFacts(ctx, "shop", inventory.Facts{Owner: " Web team ", Location: "de", Description: "Orders and tickets",
			SecurityMeasures: "TLS 1.3; disk encryption"})
		if err != nil || f.Location != "DE" || f.Owner != "Web team" || f.UpdatedBy != "staff:st-officer" || !f.UpdatedAt.Equal(now) {
			t.Fatalf("put shop = %+v, %v", f, err)
		}
		now = now.Add(time.Hour)
		if _, err := svc.PutFacts(ctx, "steward.vault", inventory.Facts{SecurityMeasures: "Per-customer keys"}); err != nil {
			t.Fatal(err)
		}
		m, err := svc.Map(ctx)
		if err != nil {
			t.Fatal(err)
		}
		shop := find(t, m.Systems, systemKey, "shop")
		if shop.Facts.Owner != "Web team" || shop.Facts.Location != "DE" || !shop.Facts.UpdatedAt.Equal(fixedNow) {
			t.Errorf("shop facts in the map = %+v", shop.Facts)
		}
		if v := find(t, m.Systems, systemKey, "steward.vault"); v.Facts.SecurityMeasures != "Per-customer keys" || len(v.Fields) != 1 {
			t.Errorf("vault in the map = %+v", v)
		}
		r, err := svc.ROPA(ctx)
		if err != nil || !r.GeneratedAt.Equal(now) || find(t, r.Systems, func(s inventory.SystemRecord) string { return s.Key }, "shop").Owner != "Web team" {
			t.Errorf("record = %+v, %v", r, err)
		}

		// A second save changing only the owner audits only the owner.
		if _, err := svc.PutFacts(ctx, "shop", inventory.Facts{Owner: "Shop team", Location: "DE", Description: "Orders and tickets",
			SecurityMeasures: "TLS 1.3; disk encryption"}); err != nil {
			t.Fatal(err)
		}
		page, err := log.Search(ctx, audit.Query{Action: "inventory.system.update"})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Entries) != 3 {
			t.Fatalf("audit entries = %d, want 3", len(page.Entries))
		}
		last := page.Entries[0]
		if last.Target.ID != "shop" || last.Actor != audit.Staff("st-officer") || last.Details.String() != `{"changed":["owner"]}` {
			t.Errorf("last entry = %+v %s", last, last.Details.String())
		}
		for _, e := range page.Entries {
			if strings.Contains(e.Details.String(), "team") {
				t.Errorf("audit details hold the text: %s", e.Details.String())
			}
		}
		// Saving the same again writes no entry.
		if _, err := svc.PutFacts(ctx, "shop", inventory.Facts{Owner: "Shop team", Location: "DE", Description: "Orders and tickets",
			SecurityMeasures: "TLS 1.3; disk encryption"}); err != nil {
			t.Fatal(err)
		}
		if page, _ := log.Search(ctx, audit.Query{Action: "inventory.system.update"}); len(page.Entries) != 3 {
			t.Errorf("an unchanged save was audited: %d entries", len(page.Entries))
		}

		invalid := []struct {
			name, field string
			facts       inventory.Facts
		}{
			{"country not a code", "location", inventory.Facts{Location: "Germany"}},
			{"owner over two lines", "owner", inventory.Facts{Owner: "a\nb"}},
			{"owner too long", "owner", inventory.Facts{Owner: strings.Repeat("x", 201)}},
			{"measures too long", "security_measures", inventory.Facts{SecurityMeasures: strings.Repeat("x", 8001)}},
			{"description not text", "description", inventory.Facts{Description: "a\x00b"}},
		}
		for _, c := range invalid {
			_, err := svc.PutFacts(ctx, "shop", c.facts)
			if e, ok := errs.As(err); !ok || e.Code != errs.CodeInvalid || e.Fields[c.field] == "" {
				t.Errorf("%s: %v, want invalid naming %s", c.name, err, c.field)
			}
		}
		if _, err := svc.PutFacts(ctx, "payroll-db", inventory.Facts{Owner: "x"}); errs.CodeOf(err) != errs.CodeNotFound {
			t.Errorf("facts of an unknown system: %v, want not found", err)
		}
		if _, err := svc.System(ctx, "nope"); errs.CodeOf(err) != errs.CodeNotFound {
			t.Errorf("unknown system: %v, want not found", err)
		}
	})
}
