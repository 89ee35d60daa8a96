package apikey_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/apikey"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/errs"
)

func TestCreateCheckRevoke(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		if _, err := store.ExecContext(ctx, `INSERT INTO properties (key, name, domains, jurisdiction_rules, default_jurisdiction, policy_url, created_at, updated_at)
			VALUES ('shop', 'Shop', '[]', '{}', '', '', 0, 0)`); err != nil {
			t.Fatal(err)
		}
		keys := apikey.NewStore(store, time.Now)
		plain, k, err := keys.Create(ctx, apikey.ScopeIngest, "shop", "banner")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(plain, "stw_ingest_") || len(plain) < 50 {
			t.Fatalf("key %q has the wrong shape", plain)
		}
		var stored string
		if err := store.QueryRowContext(ctx, `SELECT hash FROM api_keys WHERE id = $1`, k.ID).Scan(&stored); err != nil || strings.Contains(stored, plain[11:]) {
			t.Fatalf("stored %q: the secret must not be stored (%v)", stored, err)
		}
		got, err := keys.Check(ctx, plain)
		if err != nil || got.Scope != apikey.ScopeIngest || got.Property != "shop" {
			t.Fatalf("Check = %+v, %v", got, err)
		}
		if got.Allows(apikey.ScopeDecide) || !got.Allows(apikey.ScopeIngest) {
			t.Fatal("ingest key scope check wrong")
		}
		for _, bad := range []string{"", "stw_ingest_x", plain + "x", "Bearer " + plain} {
			if _, err := keys.Check(ctx, bad); !errs.Is(err, errs.CodeUnauthorized) {
				t.Fatalf("Check(%q) = %v, want unauthorized", bad, err)
			}
		}
		if err := keys.Revoke(ctx, k.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := keys.Check(ctx, plain); !errs.Is(err, errs.CodeUnauthorized) {
			t.Fatalf("revoked key still accepted: %v", err)
		}
		cases := []struct {
			scope    apikey.Scope
			property string
		}{{apikey.ScopeIngest, ""}, {apikey.ScopeAdmin, "shop"}, {"root", ""}, {apikey.ScopeIngest, "nope"}}
		for _, c := range cases {
			if _, _, err := keys.Create(ctx, c.scope, c.property, ""); !errs.Is(err, errs.CodeInvalid) {
				t.Errorf("Create(%s, %q) = %v, want invalid", c.scope, c.property, err)
			}
		}
		list, err := keys.List(ctx)
		if err != nil || len(list) != 1 || list[0].RevokedAt == nil {
			t.Fatalf("List = %+v, %v", list, err)
		}
	})
}

// TestRecordScope: a back end's record key belongs to no property, is
// never the public banner key, and admin keys may do what it does.
func TestRecordScope(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		if _, err := store.ExecContext(ctx, `INSERT INTO properties (key, name, domains, jurisdiction_rules, default_jurisdiction, policy_url, created_at, updated_at)
			VALUES ('shop', 'Shop', '[]', '{}', '', '', 0, 0)`); err != nil {
			t.Fatal(err)
		}
		if s, err := apikey.ParseScope("record"); err != nil || s != apikey.ScopeRecord {
			t.Fatalf("ParseScope(record) = %q, %v", s, err)
		}
		keys := apikey.NewStore(store, time.Now)
		plain, k, err := keys.Create(ctx, apikey.ScopeRecord, "", "back end")
		if err != nil || !strings.HasPrefix(plain, "stw_record_") {
			t.Fatalf("Create(record) = %q, %v", plain, err)
		}
		if _, _, err := keys.Create(ctx, apikey.ScopeRecord, "shop", ""); !errs.Is(err, errs.CodeInvalid) {
			t.Fatalf("record key bound to a property: %v, want invalid", err)
		}
		if k.Allows(apikey.ScopeIngest) || k.Allows(apikey.ScopeAdmin) || !k.Allows(apikey.ScopeRecord) {
			t.Fatal("record key scope check wrong")
		}
		if !(&apikey.Key{Scope: apikey.ScopeAdmin}).Allows(apikey.ScopeRecord) {
			t.Fatal("an admin key may not record")
		}
		banner, err := keys.BannerKey(ctx, "shop")
		if err != nil || !strings.HasPrefix(banner, "stw_ingest_") {
			t.Fatalf("BannerKey = %q, %v; want an ingest key", banner, err)
		}
	})
}

// TestKnownKeysWhileStoreIsDown: a process that has read the live keys at
// start (Warm) accepts a key it never checked before while the store cannot
// be reached, and accepts neither a revoked key nor an unknown one.
func TestKnownKeysWhileStoreIsDown(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		other := apikey.NewStore(store, time.Now) // another process, which made the keys
		live, _, err := other.Create(ctx, apikey.ScopeDecide, "", "backend")
		if err != nil {
			t.Fatal(err)
		}
		revoked, k, err := other.Create(ctx, apikey.ScopeDecide, "", "old backend")
		if err != nil {
			t.Fatal(err)
		}
		if err := other.Revoke(ctx, k.ID); err != nil {
			t.Fatal(err)
		}
		keys := apikey.NewStore(store, time.Now)
		if err := keys.Warm(ctx); err != nil {
			t.Fatal(err)
		}
		store.Close() // the store is gone
		if got, err := keys.Check(ctx, live); err != nil || got.Scope != apikey.ScopeDecide {
			t.Fatalf("live key with the store down: %+v, %v", got, err)
		}
		for name, plain := range map[string]string{"revoked": revoked, "unknown": "stw_decide_" + strings.Repeat("A", 43)} {
			if got, err := keys.Check(ctx, plain); err == nil {
				t.Errorf("%s key accepted with the store down: %+v", name, got)
			} else if !errs.Is(err, errs.CodeUnavailable) {
				t.Errorf("%s key with the store down: %v, want unavailable (503)", name, err)
			}
		}
	})
}
