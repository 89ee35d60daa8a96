package reveal_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/audit/audittest"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/reveal"
)

// replicas opens n handles ("replicas") on one fresh, migrated database
// of dialect, each with its own audit log.
func replicas(t *testing.T, dialect db.Dialect, n int) ([]*db.DB, []*audit.Log) {
	t.Helper()
	url := "sqlite:" + t.TempDir() + "/steward.db"
	if dialect == db.Postgres {
		url = dbtest.PostgresURL(t)
	}
	var stores []*db.DB
	var logs []*audit.Log
	for i := range n {
		store, err := db.Open(context.Background(), url, "")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { store.Close() })
		if i == 0 {
			if err := store.Migrate(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		log, err := audit.New(audit.Config{DB: store})
		if err != nil {
			t.Fatal(err)
		}
		stores, logs = append(stores, store), append(logs, log)
	}
	return stores, logs
}

func disclosure(actor audit.Actor, action string) audit.Entry {
	return audit.Entry{Actor: actor, Action: action, Target: audit.Subject("cust-1"),
		Details: audit.MustDetails(map[string]any{"fields": []string{"iban"}, "purpose": "refund", "ticket": "T-1"})}
}

// TestConcurrentRevealsStopAtTheLimit replays the race: 30 simultaneous
// reveals by one key, spread over two replicas of one database, with room
// for 10. Checking the count and appending the entry apart let 17 through;
// exactly 10 may be recorded, the other 20 refused, and one alert raised.
func TestConcurrentRevealsStopAtTheLimit(t *testing.T) {
	for _, dialect := range []db.Dialect{db.SQLite, db.Postgres} {
		t.Run(string(dialect), func(t *testing.T) {
			stores, logs := replicas(t, dialect, 2)
			limiters := []*reveal.Limiter{reveal.New(reveal.Config{DB: stores[0], Audit: logs[0]}), reveal.New(reveal.Config{DB: stores[1], Audit: logs[1]})}
			key := audit.APIKey("key_attacker")
			start := make(chan struct{})
			var wg sync.WaitGroup
			results := make(chan error, 30)
			for i := range 30 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					action := reveal.ActionReveal
					if i%3 == 0 {
						action = reveal.ActionDetokenize // both count against one limit
					}
					_, err := limiters[i%2].Record(context.Background(), disclosure(key, action))
					results <- err
				}()
			}
			close(start)
			wg.Wait()
			close(results)
			ok, refused := 0, 0
			for err := range results {
				switch {
				case err == nil:
					ok++
				case errors.Is(err, reveal.ErrTooMany):
					refused++
				default:
					t.Errorf("unexpected error: %v", err)
				}
			}
			if ok != 10 || refused != 20 {
				t.Fatalf("%d recorded and %d refused, want 10 and 20", ok, refused)
			}
			ctx := context.Background()
			var recorded int
			for _, action := range []string{reveal.ActionReveal, reveal.ActionDetokenize} {
				page, err := logs[0].Search(ctx, audit.Query{Actor: key, Action: action, Limit: 100})
				if err != nil {
					t.Fatal(err)
				}
				recorded += len(page.Entries)
			}
			if recorded != 10 {
				t.Fatalf("%d disclosures in the audit log, want 10", recorded)
			}
			alerts, err := logs[1].Search(ctx, audit.Query{Action: reveal.ActionAlert})
			if err != nil || len(alerts.Entries) != 1 || alerts.Entries[0].Target != (audit.Target{Kind: audit.KindAPIKey, ID: "key_attacker"}) {
				t.Fatalf("alerts: %+v %v", alerts.Entries, err)
			}
		})
	}
}

// TestLimitWindowAndActors: the window slides with the injected clock, one
// actor's reveals do not count against another's, and one alert is raised
// per window; with the audit log unwritable nothing is recorded (503).
func TestLimitWindowAndActors(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		now := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
		clock := func() time.Time { return now }
		log, err := audit.New(audit.Config{DB: store, Now: clock})
		if err != nil {
			t.Fatal(err)
		}
		l := reveal.New(reveal.Config{DB: store, Audit: log, Limit: 3, Window: 10 * time.Minute, Now: clock})
		alice, bob := audit.Staff("st_alice"), audit.APIKey("key_bob")
		steps := []struct {
			name    string
			advance time.Duration
			actor   audit.Actor
			want    error
		}{
			{"first", 0, alice, nil},
			{"second", time.Minute, alice, nil},
			{"third", time.Minute, alice, nil},
			{"fourth refused", time.Minute, alice, reveal.ErrTooMany},
			{"another actor has room", 0, bob, nil},
			{"still refused", time.Minute, alice, reveal.ErrTooMany},
			{"two left the window", 7*time.Minute + time.Second, alice, nil},
			{"room for one more", 0, alice, nil},
			{"full again", 0, alice, reveal.ErrTooMany},
		}
		for _, s := range steps {
			now = now.Add(s.advance)
			_, err := l.Record(ctx, disclosure(s.actor, reveal.ActionReveal))
			if !errors.Is(err, s.want) || (s.want == nil && err != nil) {
				t.Fatalf("%s: %v, want %v", s.name, err, s.want)
			}
		}
		alerts, err := log.Search(ctx, audit.Query{Action: reveal.ActionAlert})
		if err != nil {
			t.Fatal(err)
		}
		if len(alerts.Entries) != 1 { // one per window: the first is less than 10 minutes old
			t.Fatalf("%d alerts, want 1", len(alerts.Entries))
		}
		if _, err := l.Record(ctx, disclosure(bob, "vault.put")); err == nil {
			t.Fatal("a write was recorded as a disclosure")
		}
		audittest.MakeUnwritable(t, store)
		if _, err := l.Record(ctx, disclosure(bob, reveal.ActionReveal)); errs.CodeOf(err) != errs.CodeUnavailable {
			t.Fatalf("with the audit log unwritable: %v", err)
		}
	})
}

// BenchmarkRecord measures one recorded disclosure (lock, two counts,
// append, commit), each by its own actor so that none is refused.
func BenchmarkRecord(b *testing.B) {
	for _, dialect := range []db.Dialect{db.SQLite, db.Postgres} {
		b.Run(string(dialect), func(b *testing.B) {
			store := dbtest.Open(b, dialect)
			log, err := audit.New(audit.Config{DB: store})
			if err != nil {
				b.Fatal(err)
			}
			l := reveal.New(reveal.Config{DB: store, Audit: log})
			ctx := context.Background()
			b.ResetTimer()
			for i := range b.N {
				if _, err := l.Record(ctx, disclosure(audit.APIKey("key_"+strconv.Itoa(i%50)), reveal.ActionReveal)); err != nil && !errors.Is(err, reveal.ErrTooMany) {
					b.Fatal(err)
				}
			}
		})
	}
}
