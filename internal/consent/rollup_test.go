package consent_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/analytics"
	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
)

// rollupTables dumps every rollup table, rows sorted.
func rollupTables(t *testing.T, store *db.DB) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, table := range consent.RollupTables {
		cols := strings.Join(table.Columns(), ", ")
		rows, err := store.QueryContext(context.Background(), `SELECT `+cols+`, grants, denials, withdrawals, objections FROM `+table.Name+` ORDER BY `+cols)
		if err != nil {
			t.Fatal(err)
		}
		n := len(table.Columns()) + 4
		for rows.Next() {
			vals := make([]any, n)
			ptrs := make([]any, n)
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			out[table.Name] = append(out[table.Name], fmt.Sprint(vals...))
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
	}
	return out
}

// countedChoices is what consent_rollups counts in all.
func countedChoices(t *testing.T, store *db.DB) int64 {
	t.Helper()
	var n int64
	if err := store.QueryRowContext(context.Background(), `SELECT COALESCE(SUM(grants + denials + withdrawals + objections), 0) FROM consent_rollups`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// rollupWorkload appends n purpose-level choices (and a vendor-level one,
// which counts nothing) with ids from prefix.
func rollupWorkload(t *testing.T, svc *consent.Service, prefix string, n int) {
	t.Helper()
	var events []consent.Event
	for i := range n {
		e := event(fmt.Sprintf("%s-%d", prefix, i), fmt.Sprintf("dev-%s-%d", prefix, i%7), []string{"analytics", "marketing"}[i%2],
			[]consent.Action{consent.ActionGrant, consent.ActionDeny, consent.ActionWithdraw, consent.ActionObject}[i%4])
		if e.Action == consent.ActionObject {
			e.Device, e.Subject, e.Source = "", fmt.Sprintf("subj-%s-%d", prefix, i%5), consent.SourceAPI
		}
		e.Jurisdiction = []string{"DE", "FR", "US-CA"}[i%3]
		e.At = now.Add(-time.Duration(i%3) * 24 * time.Hour)
		events = append(events, e)
	}
	vendor := event(prefix+"-vendor", "dev-v", "analytics", consent.ActionGrant)
	vendor.Vendor = "metrics-co"
	appendOK(t, svc, append(events, vendor)...)
}

// TestRollupsAfterACrash: a process that stops between two writes of the
// rollups (SQLite keeps them in memory up to a second) loses nothing: the
// next Open sums the ledger's events after the cursor, and the rollups
// equal a rebuild's, every event counted once.
func TestRollupsAfterACrash(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		signer := newSigner(t)
		svc := openService(t, store, signer)
		seed(t, svc)
		rollupWorkload(t, svc, "a", 40)
		if err := svc.FlushRollups(ctx); err != nil {
			t.Fatal(err)
		}
		if got := countedChoices(t, store); got != 40 {
			t.Fatalf("after a flush the rollups count %d choices, want 40", got)
		}
		rollupWorkload(t, svc, "b", 25)
		if store.Dialect == db.SQLite {
			if !consent.RollupsPendingForTest(svc) {
				t.Fatal("no rollups pending after an append")
			}
			if got := countedChoices(t, store); got != 40 {
				t.Fatalf("before the next write the rollups count %d choices, want 40", got)
			}
		}
		consent.CrashForTest(svc)
		if store.Dialect == db.SQLite {
			if got := countedChoices(t, store); got != 40 {
				t.Fatalf("after the crash the rollups count %d choices, want 40 (the test crashes nothing)", got)
			}
		}

		svc = openService(t, store, signer)
		if got := countedChoices(t, store); got != 65 {
			t.Fatalf("after open the rollups count %d choices, want 65", got)
		}
		rollupWorkload(t, svc, "c", 10)
		if err := svc.FlushRollups(ctx); err != nil {
			t.Fatal(err)
		}
		svc.Close()
		svc = openService(t, store, signer) // a clean close and open fold nothing twice
		incremental := rollupTables(t, store)
		if got := countedChoices(t, store); got != 75 {
			t.Fatalf("the rollups count %d choices, want 75", got)
		}
		if _, err := analytics.New(store, nil).Rebuild(ctx); err != nil {
			t.Fatal(err)
		}
		if rebuilt := rollupTables(t, store); !reflect.DeepEqual(incremental, rebuilt) {
			t.Fatalf("rollups after a crash and open differ from a rebuild:\n%v\n%v", incremental, rebuilt)
		}
		// After the rebuild the service's next cells add to it.
		rollupWorkload(t, svc, "d", 5)
		if err := svc.FlushRollups(ctx); err != nil {
			t.Fatal(err)
		}
		if got := countedChoices(t, store); got != 80 {
			t.Fatalf("after a rebuild and five more choices the rollups count %d, want 80", got)
		}
	})
}

// TestRollupsWrittenWhenIdle: on SQLite, with no reader asking, the
// commit loop writes the cells it holds once appends pause.
func TestRollupsWrittenWhenIdle(t *testing.T) {
	store := dbtest.Open(t, db.SQLite)
	svc := openService(t, store, newSigner(t))
	seed(t, svc)
	rollupWorkload(t, svc, "a", 12)
	deadline := time.Now().Add(5 * time.Second)
	for countedChoices(t, store) != 12 {
		if time.Now().After(deadline) {
			t.Fatalf("the rollups count %d choices 5 s after the last append, want 12", countedChoices(t, store))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if consent.RollupsPendingForTest(svc) {
		t.Error("rollups still pending after they were written")
	}
}
