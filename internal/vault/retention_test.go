package vault_test

import (
	"context"
	"maps"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/vault"
)

// TestPurgeRetention: a field of a category with 30 days' retention goes
// on the 30th day after its last write and not before; a held subject's
// fields stay (even one past its own expiry); CountRetention says what
// PurgeRetention then deletes; a rewrite starts the period again.
func TestPurgeRetention(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		clk := newClock()
		v := MustOpen(t, store, MustKeyring(t, keyText(1)), func(c *vault.Config) { c.Now = clk.Now })
		MustPut(t, v, "s1", "iban", "financial", "DE89 3704 0044 0532 0130 00")
		MustPut(t, v, "s2", "iban", "financial", "FR76 3000 6000 0112 3456 7890 189")
		MustPut(t, v, "s3", "iban", "financial", "ES91 2100 0418 4502 0005 1332")
		MustPut(t, v, "s1", "home", "location", "1 Example Road")
		if _, err := v.Put(ctx, "s2", vault.Field{Name: "last_seen", Category: "other", Value: []byte("x"), ExpiresAt: clk.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		rules := func() vault.Retention {
			return vault.Retention{Categories: map[string]time.Time{"financial": clk.Now().AddDate(0, 0, -30)}, Held: []string{"s2"}}
		}
		clk.Advance(10 * 24 * time.Hour)
		MustPut(t, v, "s3", "iban", "financial", "ES91 2100 0418 4502 0005 1333") // rewritten on day 10

		clk.Advance(20*24*time.Hour - time.Second) // a second before day 30
		counts, err := v.CountRetention(ctx, rules())
		if err != nil {
			t.Fatal(err)
		}
		if len(counts) != 0 {
			t.Fatalf("the day before: %v, want nothing", counts)
		}
		if purged, err := v.PurgeRetention(ctx, rules()); err != nil || len(purged) != 0 {
			t.Fatalf("the day before: purged %v, %v", purged, err)
		}

		clk.Advance(2 * time.Second) // day 30: s1's iban is due; s2 is held (its last_seen too)
		counts, err = v.CountRetention(ctx, rules())
		if err != nil {
			t.Fatal(err)
		}
		if want := map[string]int64{"financial": 1}; !maps.Equal(counts, want) {
			t.Fatalf("counts %v, want %v", counts, want)
		}
		purged, err := v.PurgeRetention(ctx, rules())
		if err != nil {
			t.Fatal(err)
		}
		if len(purged) != 1 || purged[0].Subject != "s1" || purged[0].Name != "iban" {
			t.Fatalf("purged %v, want s1's iban", purged)
		}
		for _, kept := range [][2]string{{"s1", "home"}, {"s2", "iban"}, {"s3", "iban"}} {
			if _, err := v.Get(ctx, kept[0], kept[1]); err != nil {
				t.Fatalf("%s's %s: %v", kept[0], kept[1], err)
			}
		}
		var n int
		if err := store.QueryRowContext(ctx, `SELECT count(*) FROM vault_fields WHERE subject_id = 's2' AND name = 'last_seen'`).Scan(&n); err != nil || n != 1 {
			t.Fatalf("the held subject's expired field: %d rows, %v", n, err)
		}

		// The hold lifted, day 40: s2's iban and last_seen go, s3's (rewritten on day 10) too.
		clk.Advance(10 * 24 * time.Hour)
		free := rules()
		free.Held = nil
		counts, err = v.CountRetention(ctx, free)
		if err != nil {
			t.Fatal(err)
		}
		if want := map[string]int64{"financial": 2, "other": 1}; !maps.Equal(counts, want) {
			t.Fatalf("counts after the hold %v, want %v", counts, want)
		}
		if purged, err := v.PurgeRetention(ctx, free); err != nil || len(purged) != 3 {
			t.Fatalf("purged %v, %v; want 3", purged, err)
		}
	})
}
