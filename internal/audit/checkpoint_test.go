package audit

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
)

// manualClock is a clock that tests move by hand.
type manualClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *manualClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func openCheckpointer(tb testing.TB, cfg CheckpointerConfig) *Checkpointer {
	tb.Helper()
	if cfg.Poll == 0 {
		cfg.Poll = -1
	}
	c, err := OpenCheckpointer(context.Background(), cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}

// fileSizes returns the sizes of the checkpoints in a checkpoint file that
// verify with v.
func fileSizes(tb testing.TB, path string, v ...*Verifier) []int64 {
	tb.Helper()
	recs, warnings, err := readCheckpointFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	if len(warnings) > 0 {
		tb.Fatalf("checkpoint file warnings: %v", warnings)
	}
	var sizes []int64
	for _, r := range recs {
		cp, _, err := OpenCheckpoint(r.note, v...)
		if err != nil {
			tb.Fatalf("record at line %d: %v", r.line, err)
		}
		sizes = append(sizes, cp.Size)
	}
	return sizes
}

func TestCheckpointerEveryNEntriesOrInterval(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		l := newLog(t, store)
		clock := &manualClock{now: epoch}
		file := filepath.Join(t.TempDir(), "checkpoints")
		signer := newSigner(t, "a")
		c := openCheckpointer(t, CheckpointerConfig{DB: store, Signer: signer, File: file, Every: 10, Interval: time.Minute, Now: clock.Now})
		due := func(want int64) {
			t.Helper()
			cp, err := c.checkpoint(ctx, false)
			if err != nil || cp.Size != want {
				t.Fatalf("after the loop's check: latest checkpoint %d, %v; want %d", cp.Size, err, want)
			}
		}
		for i := range 9 {
			mustAppend(t, l, testEntry(i))
		}
		due(0)
		mustAppend(t, l, testEntry(9))
		due(10) // ten new entries
		for i := range 3 {
			mustAppend(t, l, testEntry(10+i))
		}
		due(10)
		clock.Add(59 * time.Second)
		due(10)
		clock.Add(time.Second)
		due(13) // a minute went by
		clock.Add(time.Hour)
		due(13) // nothing new
		if got := fileSizes(t, file, signer.Verifier()); !slices.Equal(got, []int64{10, 13}) {
			t.Fatalf("checkpoint file holds sizes %v, want [10 13]", got)
		}
		var n int
		if err := store.QueryRow(`SELECT count(*) FROM audit_checkpoints`).Scan(&n); err != nil || n != 2 {
			t.Fatalf("audit_checkpoints rows: %d, %v; want 2", n, err)
		}
		_, head, _ := l.Head(ctx)
		if latest := c.Latest(); latest.Size != 13 || latest.Root != head || latest.Origin != signer.Name() {
			t.Fatalf("Latest = %+v, want size 13 with the head's hash", latest)
		}
	})
}

func TestCheckpointerLoopAndClose(t *testing.T) {
	store := dbtest.Open(t, db.SQLite)
	l := newLog(t, store)
	file := filepath.Join(t.TempDir(), "checkpoints")
	signer := newSigner(t, "a")
	c, err := OpenCheckpointer(context.Background(), CheckpointerConfig{DB: store, Signer: signer, File: file, Every: 5, Poll: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 7 {
		mustAppend(t, l, testEntry(i))
	}
	deadline := time.Now().Add(10 * time.Second)
	for c.Latest().Size < 5 {
		if time.Now().After(deadline) {
			t.Fatal("the background loop made no checkpoint in 10 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	// The loop checkpoints once 5 entries are in (5, 6 or 7 of them, as the
	// appends race it); Close covers the rest.
	if got := fileSizes(t, file, signer.Verifier()); len(got) == 0 || got[0] < 5 || got[len(got)-1] != 7 || !slices.IsSorted(got) {
		t.Fatalf("checkpoint file holds sizes %v, want the loop's (5 to 7), then 7", got)
	}
}

// TestRollbackDetection restores "an older database" under a checkpoint
// file: a store with the same first 60 entries, then one that went on with
// other entries past the checkpoint's size.
func TestRollbackDetection(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		file := filepath.Join(t.TempDir(), "checkpoints")
		signer := newSigner(t, "a")
		vkey := signer.VerifierKey()

		live := newLog(t, store)
		c := openCheckpointer(t, CheckpointerConfig{DB: store, Signer: signer, File: file})
		for i := range 100 {
			mustAppend(t, live, testEntry(i))
			if i == 49 {
				if _, err := c.Checkpoint(ctx); err != nil {
					t.Fatal(err)
				}
			}
		}
		if _, err := c.Checkpoint(ctx); err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		if err := VerifyCommand(ctx, store, VerifyOptions{CheckpointFile: file, VerifierKeys: []string{vkey}}, &out); err != nil {
			t.Fatalf("VerifyCommand on the live store: %v (%s)", err, out.String())
		}
		if !strings.HasPrefix(out.String(), "audit log OK: 100 entries verified") || !strings.Contains(out.String(), "latest 100") {
			t.Fatalf("VerifyCommand printed %q", out.String())
		}

		// The same history, restored from a backup taken at 60 entries: a
		// fresh store and a log with the same clock write the same chain.
		older := dbtest.Open(t, store.Dialect)
		restored := newLog(t, older)
		for i := range 60 {
			mustAppend(t, restored, testEntry(i))
		}
		r, err := Verify(ctx, older, VerifyOptions{CheckpointFile: file, VerifierKeys: []string{vkey}})
		if err != nil {
			t.Fatal(err)
		}
		if r.Chain != nil || len(r.CheckpointProblems) != 1 || r.CheckpointProblems[0].Kind != RolledBack || r.CheckpointProblems[0].Seq != 100 {
			t.Fatalf("older database: %s; want a rollback before checkpoint 100", r.Message())
		}
		if msg := r.Message(); !strings.Contains(msg, "history differs from checkpoint") || !strings.Contains(msg, "holds 60 entries") {
			t.Fatalf("message %q", msg)
		}
		out.Reset()
		if err := VerifyCommand(ctx, older, VerifyOptions{CheckpointFile: file, VerifierKeys: []string{vkey}}, &out); !errors.Is(err, ErrVerifyFailed) || !strings.HasPrefix(out.String(), "audit log FAILED") {
			t.Fatalf("VerifyCommand on the older database: %v, %q", err, out.String())
		}

		// The checkpointer, pointed at the same file, will not sign a fork.
		cb := openCheckpointer(t, CheckpointerConfig{DB: older, Signer: signer, File: file})
		if _, err := cb.Checkpoint(ctx); !errors.Is(err, ErrRefused) {
			t.Fatalf("Checkpoint on the older database: %v, want ErrRefused", err)
		}

		// The restored store goes on with other entries, past the size.
		for i := range 50 {
			mustAppend(t, restored, Entry{Actor: System(), Action: "keys.rotate", Details: MustDetails(map[string]any{"n": i})})
		}
		r, err = Verify(ctx, older, VerifyOptions{CheckpointFile: file, VerifierKeys: []string{vkey}})
		if err != nil {
			t.Fatal(err)
		}
		if r.Chain != nil || len(r.CheckpointProblems) != 1 || r.CheckpointProblems[0].Kind != Diverged || r.CheckpointProblems[0].Seq != 100 {
			t.Fatalf("diverged database: %s; want history differing from checkpoint 100", r.Message())
		}
		if !strings.Contains(r.Message(), "history differs from checkpoint 100") {
			t.Fatalf("message %q", r.Message())
		}
		if _, err := cb.Checkpoint(ctx); !errors.Is(err, ErrRefused) {
			t.Fatalf("Checkpoint on the diverged database: %v, want ErrRefused", err)
		}
	})
}

func TestVerifyFindsBadCheckpoints(t *testing.T) {
	store := dbtest.Open(t, db.SQLite)
	ctx := context.Background()
	dir := t.TempDir()
	file := filepath.Join(dir, "checkpoints")
	signer := newSigner(t, "a")
	l := newLog(t, store)
	c := openCheckpointer(t, CheckpointerConfig{DB: store, Signer: signer, File: file})
	for i := range 10 {
		mustAppend(t, l, testEntry(i))
	}
	if _, err := c.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	good, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	_, forged, err := newSigner(t, "mallory").SignCheckpoint(10, Hash{6})
	if err != nil {
		t.Fatal(err)
	}
	changed := bytes.Replace(good, []byte("\n10\n"), []byte("\n11\n"), 1)
	tests := []struct {
		name     string
		content  []byte
		vkeys    []string
		bad      bool
		warnings int
	}{
		{"genuine", good, nil, false, 0},
		{"genuine, key pinned", good, []string{signer.VerifierKey()}, false, 0},
		{"forged with another key", append(slices.Clip(good), append(forged, '\n')...), nil, true, 0},
		{"a changed byte", changed, nil, true, 0},
		{"pinned to another key", good, []string{newSigner(t, "b").VerifierKey()}, true, 0},
		{"torn last record", append(slices.Clip(good), good[:len(good)/2]...), nil, false, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "-"))
			if err := os.WriteFile(path, tt.content, 0o644); err != nil {
				t.Fatal(err)
			}
			r, err := Verify(ctx, store, VerifyOptions{CheckpointFile: path, VerifierKeys: tt.vkeys})
			if err != nil {
				t.Fatal(err)
			}
			if r.Chain != nil {
				t.Fatalf("chain problem: %s", r.Message())
			}
			gotBad := slices.ContainsFunc(r.CheckpointProblems, func(p Problem) bool { return p.Kind == BadCheckpoint })
			if gotBad != tt.bad || len(r.Warnings) != tt.warnings {
				t.Fatalf("%s: bad checkpoint %v, warnings %v; want %v and %d warnings", r.Message(), gotBad, r.Warnings, tt.bad, tt.warnings)
			}
		})
	}

	// A checkpoint altered in the database is caught too.
	if _, err := store.Exec(`UPDATE audit_checkpoints SET note = replace(note, '10', '11')`); err != nil {
		t.Fatal(err)
	}
	r, err := Verify(ctx, store, VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.CheckpointProblems) == 0 || r.CheckpointProblems[0].Kind != BadCheckpoint {
		t.Fatalf("altered database checkpoint: %s", r.Message())
	}
}

func TestCheckpointFileRecords(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "checkpoints")
	signer := newSigner(t, "a")
	var notes [][]byte
	for size := int64(1); size <= 3; size++ {
		_, note, err := signer.SignCheckpoint(size, Hash{byte(size)})
		if err != nil {
			t.Fatal(err)
		}
		notes = append(notes, note)
	}
	if err := appendCheckpointFile(path, notes[0]); err != nil {
		t.Fatal(err)
	}
	if err := appendCheckpointFile(path, notes[1]); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := string(notes[0]) + "\n" + string(notes[1]) + "\n"; string(data) != want {
		t.Fatalf("file:\n%s\nwant:\n%s", data, want)
	}
	// A torn append: half a record, then the next append after it.
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(notes[2][:len(notes[2])-20])
	f.Close()
	if err := appendCheckpointFile(path, notes[2]); err != nil {
		t.Fatal(err)
	}
	// The torn record pairs up as a note with a cut signature line: it is
	// malformed, which readers skip with a warning.
	recs, _, err := readCheckpointFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var valid [][]byte
	for _, r := range recs {
		_, _, err := OpenCheckpoint(r.note, signer.Verifier())
		switch {
		case err == nil:
			valid = append(valid, r.note)
		case !errors.Is(err, ErrMalformedNote):
			t.Fatalf("record at line %d: %v, want it valid or malformed", r.line, err)
		}
	}
	if len(valid) != 3 || len(recs) != 4 {
		t.Fatalf("after a torn record: %d records, %d valid; want 4 and 3", len(recs), len(valid))
	}
	for i, note := range valid {
		if !bytes.Equal(note, notes[i]) {
			t.Fatalf("record %d:\n%s\nwant:\n%s", i, note, notes[i])
		}
	}
	// Text cut short pairs with nothing: a damaged record and a warning.
	torn := filepath.Join(dir, "torn")
	os.WriteFile(torn, append(append([]byte(string(notes[0])+"\n"), notes[1][:10]...), '\n'), 0o644)
	if err := appendCheckpointFile(torn, notes[2]); err != nil {
		t.Fatal(err)
	}
	recs, warnings, err := readCheckpointFile(torn)
	if err != nil || len(recs) != 2 || len(warnings) != 1 {
		t.Fatalf("cut text: %d records, warnings %v, %v; want 2 and one warning", len(recs), warnings, err)
	}
	tail, err := lastFileRecords(path)
	if err != nil || len(tail) == 0 || !bytes.Equal(tail[len(tail)-1].note, notes[2]) {
		t.Fatalf("lastFileRecords: %v, %v", tail, err)
	}
}

// TestReplicasShareCheckpoints runs two checkpointers with their own keys and
// files on one store, as two replicas would: each adopts the other's
// checkpoints, and both files verify.
func TestReplicasShareCheckpoints(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		l := newLog(t, store)
		dir := t.TempDir()
		sa, sb := newSigner(t, "a"), newSigner(t, "b")
		a := openCheckpointer(t, CheckpointerConfig{DB: store, Signer: sa, File: filepath.Join(dir, "a")})
		b := openCheckpointer(t, CheckpointerConfig{DB: store, Signer: sb, File: filepath.Join(dir, "b")})
		for i := range 10 {
			mustAppend(t, l, testEntry(i))
		}
		if cp, err := a.Checkpoint(ctx); err != nil || cp.Size != 10 {
			t.Fatalf("a: %+v, %v", cp, err)
		}
		if cp, err := b.Checkpoint(ctx); err != nil || cp.Size != 10 {
			t.Fatalf("b adopting a's checkpoint: %+v, %v", cp, err)
		}
		for i := range 10 {
			mustAppend(t, l, testEntry(10+i))
		}
		if cp, err := b.Checkpoint(ctx); err != nil || cp.Size != 20 {
			t.Fatalf("b: %+v, %v", cp, err)
		}
		if cp, err := a.Checkpoint(ctx); err != nil || cp.Size != 20 {
			t.Fatalf("a adopting b's checkpoint: %+v, %v", cp, err)
		}
		for _, name := range []string{"a", "b"} {
			path := filepath.Join(dir, name)
			if got := fileSizes(t, path, sa.Verifier(), sb.Verifier()); !slices.Equal(got, []int64{10, 20}) {
				t.Fatalf("file %s holds %v, want [10 20]", name, got)
			}
			r, err := Verify(ctx, store, VerifyOptions{CheckpointFile: path})
			if err != nil || !r.OK() || r.Checkpoints != 2 {
				t.Fatalf("Verify with file %s: %s, %v", name, r.Message(), err)
			}
		}
	})
}

func TestCheckpointerRefusesTamperedChain(t *testing.T) {
	store := dbtest.Open(t, db.SQLite)
	ctx := context.Background()
	l := newLog(t, store)
	c := openCheckpointer(t, CheckpointerConfig{DB: store, Signer: newSigner(t, "a")})
	for i := range 20 {
		mustAppend(t, l, testEntry(i))
	}
	if _, err := c.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		mustAppend(t, l, testEntry(20+i))
	}
	dropAppendOnlyGuards(t, store)
	if _, err := store.Exec(`UPDATE audit_entries SET actor_id = 'mallory' WHERE seq = 22`); err != nil {
		t.Fatal(err)
	}
	_, err := c.Checkpoint(ctx)
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "entry 22 was changed") {
		t.Fatalf("Checkpoint over a changed entry: %v, want a refusal naming entry 22", err)
	}
	if c.Latest().Size != 20 {
		t.Fatalf("Latest = %d after a refusal, want 20", c.Latest().Size)
	}
}
