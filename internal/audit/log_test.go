package audit

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/errs"
)

func TestAppendChainsEntries(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		l := newLog(t, store)
		var prev Stored
		for i := range 5 {
			s := mustAppend(t, l, testEntry(i))
			if s.Seq != int64(i+1) {
				t.Fatalf("entry %d: seq %d", i, s.Seq)
			}
			wantPrev := GenesisHash
			if i > 0 {
				wantPrev = prev.Hash
			}
			if s.PrevHash != wantPrev || s.Hash != s.ComputeHash() {
				t.Fatalf("entry %d: prev %s hash %s, want prev %s and a hash over its fields", i, s.PrevHash, s.Hash, wantPrev)
			}
			got, err := l.Get(ctx, s.Seq)
			if err != nil {
				t.Fatal(err)
			}
			if got.Hash != s.Hash || got.At != s.At || got.Actor != s.Actor || got.Target != s.Target ||
				got.Action != s.Action || got.Details.String() != s.Details.String() || got.PrevHash != s.PrevHash {
				t.Fatalf("Get(%d) = %+v, want %+v", s.Seq, got, s)
			}
			prev = s
		}
		seq, hash, err := l.Head(ctx)
		if err != nil || seq != 5 || hash != prev.Hash {
			t.Fatalf("Head = %d, %s, %v; want 5, %s", seq, hash, err, prev.Hash)
		}
		if _, err := l.Get(ctx, 6); !errs.Is(err, errs.CodeNotFound) {
			t.Fatalf("Get(6) error = %v, want not_found", err)
		}
		if _, err := l.Append(ctx, Entry{Actor: Staff("1"), Action: "Reveal"}); !errs.Is(err, errs.CodeInvalid) {
			t.Fatalf("Append of a bad action: %v, want invalid", err)
		}
	})
}

// TestConcurrentAppendsKeepOneChain appends from many goroutines through
// two Logs on two connection pools (two replicas, on PostgreSQL), mixing
// Append, AppendTx and Do, and checks that the chain is one line.
func TestConcurrentAppendsKeepOneChain(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		second := secondPool(t, store)
		logs := []*Log{newLog(t, store), newLog(t, second)}
		const workers, each = 8, 25
		var wg sync.WaitGroup
		seqs := make(chan int64, workers*each)
		errc := make(chan error, workers*each)
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				l := logs[w%2]
				for i := range each {
					e := testEntry(w*each + i)
					var s Stored
					var err error
					switch i % 3 {
					case 0:
						s, err = l.Append(ctx, e)
					case 1:
						s, err = l.Do(ctx, e, func(ctx context.Context, tx *sql.Tx) error { return nil })
					default:
						err = store.Tx(ctx, func(tx *sql.Tx) error {
							s, err = l.AppendTx(ctx, tx, e)
							return err
						})
					}
					if err != nil {
						errc <- err
						return
					}
					seqs <- s.Seq
				}
			}()
		}
		wg.Wait()
		close(seqs)
		close(errc)
		for err := range errc {
			t.Fatalf("concurrent append: %v", err)
		}
		var got []int64
		for s := range seqs {
			got = append(got, s)
		}
		slices.Sort(got)
		for i, s := range got {
			if s != int64(i+1) {
				t.Fatalf("sequence numbers handed out: %v...; want 1..%d without gaps or repeats", got[:min(len(got), i+3)], workers*each)
			}
		}
		r, err := Verify(ctx, store, VerifyOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !r.OK() || r.Verified != workers*each {
			t.Fatalf("Verify after concurrent appends: %s", r.Message())
		}
	})
}

// secondPool opens another connection pool on store's database, as another
// replica (PostgreSQL) or another process (SQLite) would.
func secondPool(t *testing.T, store *db.DB) *db.DB {
	t.Helper()
	url := dbtest.URL(t, store)
	second, err := db.Open(context.Background(), url, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { second.Close() })
	return second
}

func TestFailClosed(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		l := newLog(t, store)
		entry := Entry{Actor: Staff("42"), Action: "vault.reveal", Target: Subject("cust-42"),
			Details: MustDetails(map[string]any{"field": "iban", "purpose": "refund ticket 7"})}

		// An act that fails leaves no entry, and an entry that cannot be
		// written undoes the act.
		boom := errors.New("boom")
		if _, err := l.Do(ctx, entry, func(ctx context.Context, tx *sql.Tx) error { return boom }); !errors.Is(err, boom) {
			t.Fatalf("Do with a failing act: %v, want boom", err)
		}
		err := store.Tx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, `INSERT INTO subjects (id, created_at) VALUES ('cust-42', 1)`); err != nil {
				return err
			}
			_, err := l.AppendTx(ctx, tx, Entry{Actor: Staff("42"), Action: "not a verb"})
			return err
		})
		if !errs.Is(err, errs.CodeInvalid) {
			t.Fatalf("AppendTx with a bad entry: %v, want invalid", err)
		}
		var n int
		if err := store.QueryRow(`SELECT count(*) FROM subjects`).Scan(&n); err != nil || n != 0 {
			t.Fatalf("subjects after a refused audit entry: %d, %v; want 0", n, err)
		}
		if seq, _, _ := l.Head(ctx); seq != 0 {
			t.Fatalf("head after failed acts: %d, want 0", seq)
		}

		// With the store gone, the act never runs and the error maps to 503.
		store.Close()
		ran := false
		_, err = l.Do(ctx, entry, func(ctx context.Context, tx *sql.Tx) error { ran = true; return nil })
		if ran {
			t.Fatal("Do ran the act although the audit entry could not be written")
		}
		if !errs.Is(err, errs.CodeUnavailable) {
			t.Fatalf("Do on a closed store: %v (code %s), want unavailable", err, errs.CodeOf(err))
		}
		if _, err := l.Append(ctx, entry); !errs.Is(err, errs.CodeUnavailable) {
			t.Fatalf("Append on a closed store: %v (code %s), want unavailable", err, errs.CodeOf(err))
		}
	})
}

// TestFailClosedWhenUnreachable points a Log at a PostgreSQL address where
// nothing listens: the act never runs and the error maps to 503.
func TestFailClosedWhenUnreachable(t *testing.T) {
	conn, err := sql.Open("pgx", "postgres://postgres@127.0.0.1:1/test?sslmode=disable&connect_timeout=2")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	l := newLog(t, db.FromHandle(conn, db.Postgres))
	ran := false
	_, err = l.Do(context.Background(), testEntry(1), func(context.Context, *sql.Tx) error { ran = true; return nil })
	if ran || !errs.Is(err, errs.CodeUnavailable) {
		t.Fatalf("Do against an unreachable store: ran=%v err=%v (code %s), want not run and unavailable", ran, err, errs.CodeOf(err))
	}
	if _, err := l.Append(context.Background(), testEntry(1)); !errs.Is(err, errs.CodeUnavailable) {
		t.Fatalf("Append against an unreachable store: %v, want unavailable", err)
	}
}

func TestEntriesAreAppendOnly(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		l := newLog(t, store)
		mustAppend(t, l, testEntry(1))
		for _, stmt := range []string{
			`UPDATE audit_entries SET action = 'vault.nothing' WHERE seq = 1`,
			`DELETE FROM audit_entries WHERE seq = 1`,
		} {
			if _, err := store.Exec(stmt); err == nil || !strings.Contains(err.Error(), "append-only") {
				t.Errorf("%s: %v, want the append-only trigger to refuse it", stmt, err)
			}
		}
	})
}

func TestSearch(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		l := newLog(t, store)
		// 200 entries one second apart: entry i (seq i+1) at epoch+i s.
		bulkAppend(t, store, 200, testEntry, secondClock)
		want := func(pred func(i int, e Entry) bool) []int64 {
			var out []int64
			for i := 199; i >= 0; i-- {
				if pred(i, testEntry(i)) {
					out = append(out, int64(i+1))
				}
			}
			return out
		}
		tests := []struct {
			name string
			q    Query
			want []int64
		}{
			{"everything", Query{Limit: 1000}, want(func(int, Entry) bool { return true })},
			{"who accessed cust-7", Query{Target: Subject("cust-7")}, want(func(_ int, e Entry) bool { return e.Target == Subject("cust-7") })},
			{"by staff member", Query{Actor: Staff("5")}, want(func(_ int, e Entry) bool { return e.Actor == Staff("5") })},
			{"by actor kind", Query{Actor: Actor{Kind: KindAPIKey}}, want(func(_ int, e Entry) bool { return e.Actor.Kind == KindAPIKey })},
			{"by action", Query{Action: "keys.rotate"}, want(func(_ int, e Entry) bool { return e.Action == "keys.rotate" })},
			{"time range", Query{Since: secondClock(50), Until: secondClock(60)}, want(func(i int, _ Entry) bool { return i >= 50 && i < 60 })},
			{"subject and action in a time range", Query{Target: Subject("cust-3"), Action: "keys.rotate", Since: secondClock(0), Until: secondClock(150)},
				want(func(i int, e Entry) bool {
					return e.Target == Subject("cust-3") && e.Action == "keys.rotate" && i < 150
				})},
			{"before a cursor", Query{Target: Subject("cust-7"), Before: 100}, want(func(i int, e Entry) bool { return e.Target == Subject("cust-7") && i+1 < 100 })},
			{"nobody", Query{Target: Subject("cust-none")}, nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				page, err := l.Search(ctx, tt.q)
				if err != nil {
					t.Fatal(err)
				}
				if got := seqsOf(page.Entries); !slices.Equal(got, tt.want) {
					t.Fatalf("got %v, want %v", got, tt.want)
				}
				if page.Next != 0 {
					t.Fatalf("Next = %d on the only page", page.Next)
				}
			})
		}

		t.Run("pages", func(t *testing.T) {
			var got []int64
			before := int64(0)
			for pages := 0; ; pages++ {
				page, err := l.Accesses(ctx, "cust-7", before, 1)
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, seqsOf(page.Entries)...)
				if page.Next == 0 {
					break
				}
				if pages > 10 {
					t.Fatal("pagination does not end")
				}
				before = page.Next
			}
			if want := want(func(_ int, e Entry) bool { return e.Target == Subject("cust-7") }); !slices.Equal(got, want) {
				t.Fatalf("pages gave %v, want %v", got, want)
			}
		})

		for _, q := range []Query{{Limit: MaxPage + 1}, {Limit: -1}, {Before: -1}, {Actor: Actor{ID: "5"}}, {Target: Target{ID: "x"}}} {
			if _, err := l.Search(ctx, q); !errs.Is(err, errs.CodeInvalid) {
				t.Errorf("Search(%+v): %v, want invalid", q, err)
			}
		}
	})
}

func seqsOf(entries []Stored) []int64 {
	var out []int64
	for _, e := range entries {
		out = append(out, e.Seq)
	}
	return out
}

// TestWhoAccessedUsesTheTargetIndex checks the SQLite plan of the "who
// accessed" query: a range of the target index read backwards, no sort.
func TestWhoAccessedUsesTheTargetIndex(t *testing.T) {
	store := dbtest.Open(t, db.SQLite)
	rows, err := store.Query(`EXPLAIN QUERY PLAN SELECT `+entryColumns+` FROM audit_entries
		WHERE target_kind = $1 AND target_id = $2 AND seq < $3 ORDER BY seq DESC LIMIT $4`, KindSubject, "cust-1", 100, 51)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	joined := strings.Join(plan, "; ")
	if !strings.Contains(joined, "audit_entries_target") || strings.Contains(joined, "TEMP B-TREE") {
		t.Fatalf("plan %q: want the target index without a sort", joined)
	}
	t.Logf("plan: %s", joined)
}
