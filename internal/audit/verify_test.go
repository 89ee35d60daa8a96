package audit

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
)

// mutation changes the log inside tx, as someone with write access to the
// database could.
type mutation func(t *testing.T, tx *sql.Tx)

func exec(t *testing.T, tx *sql.Tx, query string, args ...any) {
	t.Helper()
	if _, err := tx.Exec(query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

func readRow(t *testing.T, tx *sql.Tx, seq int64) Stored {
	t.Helper()
	r, err := rowAt(context.Background(), tx, seq)
	if err != nil || r == nil {
		t.Fatalf("read entry %d: %v", seq, err)
	}
	return r.Stored
}

func writeRow(t *testing.T, tx *sql.Tx, s Stored) {
	t.Helper()
	exec(t, tx, `INSERT INTO audit_entries (`+entryColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		s.Seq, s.At.UnixMicro(), s.Actor.Kind, s.Actor.ID, s.Action, s.Target.Kind, s.Target.ID, s.Details.String(), s.PrevHash[:], s.Hash[:])
}

// renumber moves the entries from seq on by delta (through negative numbers,
// since the primary key is checked row by row).
func renumber(t *testing.T, tx *sql.Tx, from, delta int64) {
	exec(t, tx, `UPDATE audit_entries SET seq = -seq WHERE seq >= $1`, from)
	exec(t, tx, `UPDATE audit_entries SET seq = -seq + $1 WHERE seq < 0`, delta)
}

var forgedHash = Hash(sha256.Sum256([]byte("forged")))

func setColumn(column string, value any) func(seq int64) mutation {
	return func(seq int64) mutation {
		return func(t *testing.T, tx *sql.Tx) {
			exec(t, tx, `UPDATE audit_entries SET `+column+` = $1 WHERE seq = $2`, value, seq)
		}
	}
}

// forge returns an entry the log never wrote, placed at seq after prev.
func forge(seq int64, prev Hash, validHash bool) Stored {
	s := Stored{Seq: seq, At: epoch, PrevHash: prev,
		Entry: Entry{Actor: Staff("mallory"), Action: "vault.reveal", Target: Subject("cust-1")}}
	s.Hash = forgedHash
	if validHash {
		s.Hash = s.ComputeHash()
	}
	return s
}

func insertForged(validHash bool) func(seq int64) mutation {
	return func(seq int64) mutation {
		return func(t *testing.T, tx *sql.Tx) {
			prev := GenesisHash
			if seq > 1 {
				prev = readRow(t, tx, seq-1).Hash
			}
			renumber(t, tx, seq, 1)
			writeRow(t, tx, forge(seq, prev, validHash))
		}
	}
}

func swap(a, b int64) mutation {
	return func(t *testing.T, tx *sql.Tx) {
		ra, rb := readRow(t, tx, a), readRow(t, tx, b)
		exec(t, tx, `DELETE FROM audit_entries WHERE seq IN ($1, $2)`, a, b)
		ra.Seq, rb.Seq = b, a
		writeRow(t, tx, ra)
		writeRow(t, tx, rb)
	}
}

// rewrite changes an entry's action and recomputes its own hash, leaving the
// rest of the chain alone.
func rewrite(seq int64) mutation {
	return func(t *testing.T, tx *sql.Tx) {
		s := readRow(t, tx, seq)
		s.Action = "vault.nothing"
		s.Hash = s.ComputeHash()
		exec(t, tx, `UPDATE audit_entries SET action = $1, hash = $2 WHERE seq = $3`, s.Action, s.Hash[:], seq)
	}
}

// TestVerifyNamesTheFirstTamperedEntry is the mutation sweep: on a clean log
// of 10,000 entries on SQLite and 2,000 on PostgreSQL, each mutation at the
// first, middle, last and a random position is made in a transaction,
// Verify walks the whole chain in that transaction, and the transaction is
// rolled back.
//
// Under the race detector the SQLite log has 2,000 entries too: its
// checkptr instrumentation slows modernc's SQLite engine about tenfold, and
// the 10,000-entry sweep (some 60 walks of the whole log and renumberings
// of it) then takes over a minute instead of a few seconds.
func TestVerifyNamesTheFirstTamperedEntry(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		n := int64(10000)
		if store.Dialect == db.Postgres || raceEnabled {
			n = 2000
		}
		bulkAppend(t, store, int(n), testEntry, secondClock)
		dropAppendOnlyGuards(t, store)
		// Verify reads by sequence number only; without the search indexes
		// the renumbering mutations rewrite one b-tree instead of five.
		for _, index := range []string{"audit_entries_target", "audit_entries_actor", "audit_entries_action", "audit_entries_at"} {
			if _, err := store.Exec(`DROP INDEX ` + index); err != nil {
				t.Fatal(err)
			}
		}
		seed := time.Now().UnixNano()
		rng := rand.New(rand.NewPCG(uint64(seed), 0))
		random := 2 + rng.Int64N(n-2)
		far := 2 + rng.Int64N(n-2)
		for far == random {
			far = 2 + rng.Int64N(n-2)
		}
		t.Logf("random position %d, far position %d (seed %d)", random, far, seed)

		type want struct {
			kind Kind
			seq  int64
		}
		type sweepCase struct {
			name   string
			mutate mutation
			want   want
		}
		var cases []sweepCase
		positions := []struct {
			name string
			seq  int64
		}{{"first", 1}, {"middle", n / 2}, {"last", n}, {"random", random}}
		fields := []struct {
			name string
			set  func(seq int64) mutation
		}{
			{"at", setColumn("at", epoch.Add(-time.Hour).UnixMicro())},
			{"actor_kind", setColumn("actor_kind", "intruder")}, // a kind no entry has: every change is a change
			{"actor_id", setColumn("actor_id", "mallory")},
			{"action", setColumn("action", "vault.nothing")},
			{"target_kind", setColumn("target_kind", "staff")},
			{"target_id", setColumn("target_id", "cust-someone-else")},
			{"details", setColumn("details", `{"field":"none"}`)},
			{"prev_hash", setColumn("prev_hash", forgedHash[:])},
			{"hash", setColumn("hash", forgedHash[:])},
			{"hash_truncated", setColumn("hash", forgedHash[:31])},
		}
		for _, p := range positions {
			for _, f := range fields {
				cases = append(cases, sweepCase{"change " + f.name + " of " + p.name, f.set(p.seq), want{Changed, p.seq}})
			}
			cases = append(cases,
				sweepCase{"rewrite with recomputed hash " + p.name, rewrite(p.seq), want{Changed, p.seq}},
				sweepCase{"delete " + p.name, func(t *testing.T, tx *sql.Tx) {
					exec(t, tx, `DELETE FROM audit_entries WHERE seq = $1`, p.seq)
				}, want{Removed, p.seq}},
				sweepCase{"delete and renumber " + p.name, func(t *testing.T, tx *sql.Tx) {
					exec(t, tx, `DELETE FROM audit_entries WHERE seq = $1`, p.seq)
					renumber(t, tx, p.seq+1, -1)
				}, want{Removed, p.seq}},
				sweepCase{"insert forged entry with valid hash at " + p.name, insertForged(true)(p.seq), want{Inserted, p.seq}},
				sweepCase{"insert forged entry with bad hash at " + p.name, insertForged(false)(p.seq), want{Inserted, p.seq}},
			)
			other := p.seq + 1
			if p.seq == n {
				other = n - 1
			}
			if p.name == "random" {
				other = far
			}
			cases = append(cases, sweepCase{"swap " + p.name + " with " + fmt.Sprint(other), swap(p.seq, other), want{Reordered, min(p.seq, other)}})
		}
		cases = append(cases,
			sweepCase{"append forged entry past the head", func(t *testing.T, tx *sql.Tx) {
				writeRow(t, tx, forge(n+1, readRow(t, tx, n).Hash, true))
			}, want{Inserted, n + 1}},
			sweepCase{"delete the last 10 entries", func(t *testing.T, tx *sql.Tx) {
				exec(t, tx, `DELETE FROM audit_entries WHERE seq > $1`, n-10)
			}, want{Removed, n - 9}},
		)

		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				// The mutation is rolled back: Tx rolls back when fn fails.
				var r *Report
				err := store.Tx(ctx, func(tx *sql.Tx) error {
					c.mutate(t, tx)
					var err error
					if r, err = verify(ctx, tx, VerifyOptions{}); err != nil {
						return err
					}
					return errRollback
				})
				if !errors.Is(err, errRollback) {
					t.Fatal(err)
				}
				if r.Chain == nil {
					t.Fatalf("not detected: %s", r.Message())
				}
				if r.Chain.Kind != c.want.kind || r.Chain.Seq != c.want.seq {
					t.Fatalf("reported %s at %d (%s), want %s at %d", r.Chain.Kind, r.Chain.Seq, r.Chain, c.want.kind, c.want.seq)
				}
				if r.Verified > c.want.seq {
					t.Errorf("Verified = %d, past the fault at %d", r.Verified, c.want.seq)
				}
			})
		}

		r, err := Verify(ctx, store, VerifyOptions{})
		if err != nil || !r.OK() || r.Verified != n {
			t.Fatalf("the log after the sweep: %v %v", r.Message(), err)
		}
	})
}

var errRollback = errors.New("roll back")
