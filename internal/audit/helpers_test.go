package audit

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"database/sql"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/db"
)

var epoch = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

// tickingClock returns a clock that advances one millisecond per reading, so
// that every entry has its own time and runs are reproducible.
func tickingClock() func() time.Time {
	var n atomic.Int64
	return func() time.Time { return epoch.Add(time.Duration(n.Add(1)) * time.Millisecond) }
}

func newLog(tb testing.TB, store *db.DB) *Log {
	tb.Helper()
	l, err := New(Config{DB: store, Now: tickingClock()})
	if err != nil {
		tb.Fatal(err)
	}
	return l
}

// testKey derives a signing key from a label, so that tests are repeatable.
func testKey(label string) ed25519.PrivateKey {
	seed := sha256.Sum256([]byte("steward audit test key " + label))
	return ed25519.NewKeyFromSeed(seed[:])
}

func newSigner(tb testing.TB, label string) *Signer {
	tb.Helper()
	s, err := NewSigner("steward.test/audit", testKey(label))
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

var actions = []string{"vault.reveal", "vault.detokenize", "staff.sign_in_failed", "keys.rotate", "customer.view"}

// testEntry is the i-th entry of a deterministic workload: 13 staff members
// acting on 50 customers, with a few entries without a target.
func testEntry(i int) Entry {
	e := Entry{
		Actor:   Staff(fmt.Sprint(i % 13)),
		Action:  actions[i%len(actions)],
		Target:  Subject(fmt.Sprintf("cust-%d", i%50)),
		Details: MustDetails(map[string]any{"field": "iban", "purpose": "ticket", "n": i}),
	}
	switch i % 10 {
	case 3:
		e.Actor = APIKey("key_backend")
	case 7:
		e.Actor, e.Target = System(), Target{}
	}
	return e
}

func mustAppend(tb testing.TB, l *Log, e Entry) Stored {
	tb.Helper()
	s, err := l.Append(context.Background(), e)
	if err != nil {
		tb.Fatalf("Append: %v", err)
	}
	return s
}

// bulkAppend appends n entries from gen after the current head, computing
// the chain in memory and inserting it in one transaction: the fast path
// for building large logs in tests. Entry i gets time at(i).
func bulkAppend(tb testing.TB, store *db.DB, n int, gen func(i int) Entry, at func(i int) time.Time) {
	tb.Helper()
	ctx := context.Background()
	err := store.Tx(ctx, func(tx *sql.Tx) error {
		var seq int64
		var raw []byte
		if err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`).Scan(&seq, &raw); err != nil {
			return err
		}
		prev, _ := hashFrom(raw)
		const batch = 5000
		entries := make([]Stored, 0, batch)
		flush := func() error {
			if len(entries) == 0 {
				return nil
			}
			err := insertBulk(ctx, tx, store.Dialect, entries)
			entries = entries[:0]
			return err
		}
		for i := range n {
			seq++
			s := Stored{Seq: seq, At: time.UnixMicro(at(i).UnixMicro()).UTC(), Entry: gen(i), PrevHash: prev}
			s.Hash = s.ComputeHash()
			prev = s.Hash
			entries = append(entries, s)
			if len(entries) == batch {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		if err := flush(); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1`, seq, prev[:])
		return err
	})
	if err != nil {
		tb.Fatalf("bulk append: %v", err)
	}
}

func insertBulk(ctx context.Context, tx *sql.Tx, dialect db.Dialect, entries []Stored) error {
	if dialect == db.Postgres {
		n := len(entries)
		seqs, ats := make([]int64, n), make([]int64, n)
		ak, ai, ac, tk, ti, de := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		prevs, hashes := make([][]byte, n), make([][]byte, n)
		for i := range entries {
			s := &entries[i]
			seqs[i], ats[i] = s.Seq, s.At.UnixMicro()
			ak[i], ai[i], ac[i], tk[i], ti[i], de[i] = s.Actor.Kind, s.Actor.ID, s.Action, s.Target.Kind, s.Target.ID, s.Details.String()
			prevs[i], hashes[i] = s.PrevHash[:], s.Hash[:]
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO audit_entries (`+entryColumns+`)
			SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::bytea[], $10::bytea[])`,
			seqs, ats, ak, ai, ac, tk, ti, de, prevs, hashes)
		return err
	}
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO audit_entries (`+entryColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for i := range entries {
		s := &entries[i]
		if _, err := stmt.ExecContext(ctx, s.Seq, s.At.UnixMicro(), s.Actor.Kind, s.Actor.ID, s.Action, s.Target.Kind, s.Target.ID,
			s.Details.String(), s.PrevHash[:], s.Hash[:]); err != nil {
			return err
		}
	}
	return nil
}

func secondClock(i int) time.Time { return epoch.Add(time.Duration(i) * time.Second) }

// dropAppendOnlyGuards removes the triggers that refuse UPDATE and DELETE,
// as someone tampering with the database would.
func dropAppendOnlyGuards(tb testing.TB, store *db.DB) {
	tb.Helper()
	stmts := []string{`DROP TRIGGER audit_entries_no_update`, `DROP TRIGGER audit_entries_no_delete`}
	if store.Dialect == db.Postgres {
		stmts = []string{`DROP TRIGGER audit_entries_no_change ON audit_entries`, `DROP TRIGGER audit_entries_no_truncate ON audit_entries`}
	}
	for _, s := range stmts {
		if _, err := store.Exec(s); err != nil {
			tb.Fatalf("%s: %v", s, err)
		}
	}
}
