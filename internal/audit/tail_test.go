package audit

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
)

// The attack these tests replay: entries appended after the last signed
// checkpoint could be truncated or rewritten and Verify said OK, because
// checkpoints came every 1,000 entries or five minutes. Now the loop signs
// within an Interval of an append, and Verify names what was cut or
// rewritten.

// fakeTimer is CheckpointerConfig.After for tests: each wait the loop asks
// for is sent on asked, and fires when the test sends on fire.
type fakeTimer struct {
	asked chan time.Duration
	fire  chan time.Time
}

func newFakeTimer() *fakeTimer {
	return &fakeTimer{asked: make(chan time.Duration, 16), fire: make(chan time.Time)}
}

func (f *fakeTimer) After(d time.Duration) <-chan time.Time {
	f.asked <- d
	return f.fire
}

// covered is a Checkpointer running its loop on a manual clock and a fake
// timer, woken by its Log's appends, that reports what it publishes.
type covered struct {
	log       *Log
	c         *Checkpointer
	clock     *manualClock
	timer     *fakeTimer
	file      string
	signer    *Signer
	published chan Published
}

const testInterval = time.Second

func startCovered(t *testing.T, store *db.DB) *covered {
	t.Helper()
	k := &covered{clock: &manualClock{now: epoch}, timer: newFakeTimer(), file: filepath.Join(t.TempDir(), "checkpoints"),
		signer: newSigner(t, "a"), published: make(chan Published, 64)}
	var err error
	if k.log, err = New(Config{DB: store, Now: k.clock.Now}); err != nil {
		t.Fatal(err)
	}
	k.c = openCheckpointer(t, CheckpointerConfig{DB: store, Signer: k.signer, File: k.file, Interval: testInterval,
		Wake: k.log.Appended(), Poll: time.Hour, Now: k.clock.Now, After: k.timer.After,
		Publish: func(_ context.Context, _ *sql.Tx, p Published) error {
			k.published <- p
			return nil
		}})
	return k
}

// waitCovered waits until the loop publishes a checkpoint of size want,
// moving the clock by each wait the loop asks for (never more than the
// interval), and returns the sizes published on the way, once the loop has
// filed the last. Waits are on signals: the loop's request for a timer, or
// its publication.
func (k *covered) waitCovered(t *testing.T, want int64, appendedAt time.Time) []int64 {
	t.Helper()
	var sizes []int64
	for {
		select {
		case d := <-k.timer.asked:
			if d <= 0 || d > testInterval {
				t.Fatalf("the loop asked to wait %v, want at most the interval %v", d, testInterval)
			}
			k.clock.Add(d)
			k.timer.fire <- k.clock.Now()
		case p := <-k.published:
			if p.Size > want {
				t.Fatalf("published checkpoint %d, want %d", p.Size, want)
			}
			if err := verifyPublished(p, k.signer); err != nil {
				t.Fatalf("published checkpoint %d: %v", p.Size, err)
			}
			sizes = append(sizes, p.Size)
			if p.Size < want { // signed while the appends went on
				continue
			}
			if late := p.At.Sub(appendedAt); late > testInterval {
				t.Fatalf("checkpoint %d signed %v after the append, more than the interval %v", p.Size, late, testInterval)
			}
			// The loop publishes under its lock and files after:
			// Checkpoint waits for that (and finds nothing new to sign).
			if _, err := k.c.Checkpoint(context.Background()); err != nil {
				t.Fatal(err)
			}
			return sizes
		case <-time.After(20 * time.Second):
			t.Fatalf("no checkpoint of size %d: the loop neither signed nor asked to wait", want)
		}
	}
}

func (k *covered) append(t *testing.T, n int) time.Time {
	t.Helper()
	at := k.clock.Now()
	for i := range n {
		mustAppend(t, k.log, testEntry(i))
	}
	return at
}

func TestCheckpointerCoversAppendsWithinAnInterval(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		k := startCovered(t, store)
		// Right after start the last checkpoint is "now": the loop waits
		// at most the interval.
		at := k.append(t, 3)
		all := k.waitCovered(t, 3, at)
		if !slices.Equal(all, []int64{3}) {
			t.Fatalf("published %v, want [3]", all)
		}
		// An append after a quiet interval is signed at once (the loop may
		// sign the first of the two before the second is in).
		k.clock.Add(testInterval)
		at = k.append(t, 2)
		all = append(all, k.waitCovered(t, 5, at)...)
		// Heavy appending: many wake-ups, one checkpoint per interval.
		at = k.append(t, 200)
		if got := k.waitCovered(t, 205, at); !slices.Equal(got, []int64{205}) {
			t.Fatalf("published %v while 200 entries were appended within the interval, want [205]", got)
		}
		all = append(all, 205)
		if got := fileSizes(t, k.file, k.signer.Verifier()); !slices.Equal(got, all) {
			t.Fatalf("checkpoint file holds %v, want what was published, %v", got, all)
		}
		r, err := Verify(context.Background(), store, VerifyOptions{CheckpointFile: k.file, Strict: true, Now: k.clock.Now})
		if err != nil || !r.OK() || r.Uncovered != 0 {
			t.Fatalf("Verify: %s, %v", r.Message(), err)
		}
	})
}

// verifyPublished rebuilds the signed note from the published fields, as
// a witness would, and checks it.
func verifyPublished(p Published, s *Signer) error {
	note := p.Text() + "\n" + emDash + p.Origin + " " + p.Signature + "\n"
	cp, _, err := OpenCheckpoint([]byte(note), s.Verifier())
	if err == nil && (cp != p.Checkpoint || !bytes.Equal([]byte(note), p.Note)) {
		err = errors.New("the rebuilt note differs")
	}
	return err
}

// TestTruncatedTailIsDetected: entries are cut from the end of the log,
// with the chain head and the database's checkpoints made to agree.
func TestTruncatedTailIsDetected(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		k := startCovered(t, store)
		at := k.append(t, 10)
		k.waitCovered(t, 10, at)

		dropAppendOnlyGuards(t, store)
		seven, err := k.log.Get(ctx, 7)
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range []string{`DELETE FROM audit_entries WHERE seq > 7`, `DELETE FROM audit_checkpoints`} {
			if _, err := store.Exec(q); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := store.Exec(`UPDATE audit_head SET seq = 7, hash = $1 WHERE id = 1`, seven.Hash[:]); err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		err = VerifyCommand(ctx, store, VerifyOptions{CheckpointFile: k.file, VerifierKeys: []string{k.signer.VerifierKey()}}, &out)
		if !errors.Is(err, ErrVerifyFailed) {
			t.Fatalf("verify after truncation: %v, %q; want a failure", err, out.String())
		}
		if !strings.Contains(out.String(), "entries 8 to 10 are missing") {
			t.Fatalf("verify printed %q; want it to name entries 8 to 10", out.String())
		}
		r, err := Verify(ctx, store, VerifyOptions{CheckpointFile: k.file})
		if err != nil || len(r.CheckpointProblems) != 1 || r.CheckpointProblems[0].Kind != RolledBack || r.CheckpointProblems[0].First != 8 {
			t.Fatalf("Verify: %+v, %v; want a rollback whose first entry is 8", r, err)
		}
	})
}

// TestRewrittenTailIsDetected: the last entry is rewritten with its hash and
// the chain head recomputed, so that the chain alone verifies.
func TestRewrittenTailIsDetected(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		k := startCovered(t, store)
		at := k.append(t, 9)
		k.waitCovered(t, 9, at)
		k.clock.Add(testInterval)
		at = k.clock.Now()
		mustAppend(t, k.log, Entry{Actor: Staff("42"), Action: "vault.reveal", Target: Subject("cust-1"),
			Details: MustDetails(map[string]any{"field": "iban", "purpose": "refund"})})
		k.waitCovered(t, 10, at)

		dropAppendOnlyGuards(t, store)
		last, err := k.log.Get(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		last.Actor = Staff("7")
		last.Hash = last.ComputeHash()
		if _, err := store.Exec(`UPDATE audit_entries SET actor_id = $1, hash = $2 WHERE seq = 10`, last.Actor.ID, last.Hash[:]); err != nil {
			t.Fatal(err)
		}
		if _, err := store.Exec(`UPDATE audit_head SET hash = $1 WHERE id = 1`, last.Hash[:]); err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		err = VerifyCommand(ctx, store, VerifyOptions{CheckpointFile: k.file, VerifierKeys: []string{k.signer.VerifierKey()}}, &out)
		if !errors.Is(err, ErrVerifyFailed) || !strings.Contains(out.String(), "entry 10 was rewritten") {
			t.Fatalf("verify after rewriting entry 10: %v, %q; want a failure naming entry 10", err, out.String())
		}
	})
}

func TestVerifyCountsUncoveredEntries(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		l := newLog(t, store) // entry i is written at epoch + i ms
		file := filepath.Join(t.TempDir(), "checkpoints")
		c := openCheckpointer(t, CheckpointerConfig{DB: store, Signer: newSigner(t, "a"), File: file})
		for i := range 5 {
			mustAppend(t, l, testEntry(i))
		}
		if _, err := c.Checkpoint(ctx); err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			mustAppend(t, l, testEntry(5+i))
		}
		at := func(d time.Duration) func() time.Time { return func() time.Time { return epoch.Add(d) } }
		tests := []struct {
			name   string
			opts   VerifyOptions
			ok     bool
			output string
		}{
			{"reported", VerifyOptions{Now: at(time.Hour)}, true,
				"3 entries after the last checkpoint (from entry 6, written 1h0m0s ago) are not covered"},
			{"strict, recent", VerifyOptions{Strict: true, Now: at(2 * time.Second)}, true,
				"3 entries after the last checkpoint (from entry 6, written 2s ago) are not covered"},
			{"strict, old", VerifyOptions{Strict: true, Now: at(time.Minute)}, false,
				"audit log FAILED verification: 3 entries after the last checkpoint (from entry 6, written 1m0s ago) are not covered by a signed checkpoint, older than 5s"},
			{"strict, own grace", VerifyOptions{Strict: true, Grace: 2 * time.Minute, Now: at(time.Minute)}, true, "3 entries"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				tt.opts.CheckpointFile = file
				var out bytes.Buffer
				err := VerifyCommand(ctx, store, tt.opts, &out)
				if tt.ok != (err == nil) || (err != nil && !errors.Is(err, ErrVerifyFailed)) {
					t.Fatalf("VerifyCommand: %v (%q), want ok %v", err, out.String(), tt.ok)
				}
				if !strings.Contains(out.String(), tt.output) {
					t.Fatalf("VerifyCommand printed %q, want %q", out.String(), tt.output)
				}
			})
		}
		r, err := Verify(ctx, store, VerifyOptions{CheckpointFile: file})
		if err != nil || r.Uncovered != 3 || !r.UncoveredSince.Equal(epoch.Add(6*time.Millisecond)) {
			t.Fatalf("Report: uncovered %d since %v, %v", r.Uncovered, r.UncoveredSince, err)
		}
	})
}

// TestPublishingDoesNotFeedItself: a checkpoint whose new entries are all
// Quiet (what delivering the audit.checkpoint webhook may audit) is signed
// and filed but not published, so that deliveries cannot make checkpoints
// without end; the next loud entry publishes a checkpoint covering them.
func TestPublishingDoesNotFeedItself(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		l := newLog(t, store)
		file := filepath.Join(t.TempDir(), "checkpoints")
		signer := newSigner(t, "a")
		var published []int64
		quiet := func(e Stored) bool { return e.Actor == System() && e.Action == "webhook.endpoint_disable" }
		c := openCheckpointer(t, CheckpointerConfig{DB: store, Signer: signer, File: file, Quiet: quiet,
			Publish: func(_ context.Context, _ *sql.Tx, p Published) error {
				published = append(published, p.Size)
				return nil
			}})
		delivery := Entry{Actor: System(), Action: "webhook.endpoint_disable", Target: Target{Kind: "webhook_endpoint", ID: "ep_1"}}
		steps := []struct {
			entry     Entry
			published []int64
		}{
			{testEntry(0), []int64{1}},
			{delivery, []int64{1}}, // the delivery of checkpoint 1 audited
			{delivery, []int64{1}},
			{testEntry(1), []int64{1, 4}},
		}
		for i, s := range steps {
			mustAppend(t, l, s.entry)
			cp, err := c.Checkpoint(ctx)
			if err != nil || cp.Size != int64(i+1) {
				t.Fatalf("step %d: checkpoint %d, %v; want %d", i, cp.Size, err, i+1)
			}
			if !slices.Equal(published, s.published) {
				t.Fatalf("step %d: published %v, want %v", i, published, s.published)
			}
		}
		if got := fileSizes(t, file, signer.Verifier()); !slices.Equal(got, []int64{1, 2, 3, 4}) {
			t.Fatalf("checkpoint file holds %v, want every checkpoint", got)
		}
	})
}

// TestReplicasPublishEachCheckpointOnce: two replicas race to sign the same
// head; each stored checkpoint is published exactly once, and adopting one
// publishes nothing.
func TestReplicasPublishEachCheckpointOnce(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		l := newLog(t, store)
		dir := t.TempDir()
		var mu sync.Mutex
		count := map[int64]int{}
		publish := func(_ context.Context, _ *sql.Tx, p Published) error {
			mu.Lock()
			count[p.Size]++
			mu.Unlock()
			return nil
		}
		a := openCheckpointer(t, CheckpointerConfig{DB: store, Signer: newSigner(t, "a"), File: filepath.Join(dir, "a"), Publish: publish})
		b := openCheckpointer(t, CheckpointerConfig{DB: store, Signer: newSigner(t, "b"), File: filepath.Join(dir, "b"), Publish: publish})
		for round := range 5 {
			for i := range 3 {
				mustAppend(t, l, testEntry(round*3+i))
			}
			var wg sync.WaitGroup
			for _, c := range []*Checkpointer{a, b} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if _, err := c.Checkpoint(ctx); err != nil {
						t.Error(err)
					}
				}()
			}
			wg.Wait()
		}
		var rows int
		if err := store.QueryRow(`SELECT count(*) FROM audit_checkpoints`).Scan(&rows); err != nil {
			t.Fatal(err)
		}
		if len(count) != rows {
			t.Fatalf("%d checkpoints stored, %d published: %v", rows, len(count), count)
		}
		for size, n := range count {
			if n != 1 {
				t.Fatalf("checkpoint %d published %d times", size, n)
			}
		}
	})
}

// TestPublishFailureKeepsTheCheckpoint: a checkpoint that cannot be
// published is still stored and filed.
func TestPublishFailureKeepsTheCheckpoint(t *testing.T) {
	store := dbtest.Open(t, db.SQLite)
	ctx := context.Background()
	l := newLog(t, store)
	file := filepath.Join(t.TempDir(), "checkpoints")
	signer := newSigner(t, "a")
	c := openCheckpointer(t, CheckpointerConfig{DB: store, Signer: signer, File: file,
		Publish: func(ctx context.Context, tx *sql.Tx, _ Published) error {
			if _, err := tx.ExecContext(ctx, `DELETE FROM audit_keys`); err != nil { // undone with the transaction
				return err
			}
			return errors.New("no runner")
		}})
	mustAppend(t, l, testEntry(0))
	if cp, err := c.Checkpoint(ctx); err != nil || cp.Size != 1 {
		t.Fatalf("Checkpoint: %d, %v", cp.Size, err)
	}
	var rows, keys int
	if err := store.QueryRow(`SELECT (SELECT count(*) FROM audit_checkpoints), (SELECT count(*) FROM audit_keys)`).Scan(&rows, &keys); err != nil || rows != 1 || keys != 1 {
		t.Fatalf("%d checkpoints and %d keys stored, %v; want 1 and 1", rows, keys, err)
	}
	if got := fileSizes(t, file, signer.Verifier()); !slices.Equal(got, []int64{1}) {
		t.Fatalf("checkpoint file holds %v", got)
	}
}
