package backup

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/steward-dev/steward/internal/backup/target"
	"github.com/steward-dev/steward/internal/errs"
)

func TestRoundTrip(t *testing.T) {
	tests := []struct {
		name      string
		size      int // lines of plaintext
		chunkSize int
		piece     int
	}{
		{"empty snapshot", 0, 1024, 100},
		{"one short chunk", 3, 4096, 1},
		{"exact multiple of the chunk size", 0, 256, 256}, // filled below
		{"many chunks, large writes", 2000, 4096, 100000},
		{"many chunks, small writes", 500, 1000, 7},
		{"default chunk size", 20000, 0, 65536},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			d, _ := mustDir(t)
			k := mustKeys(t)
			data := syntheticLines(tt.size)
			if tt.name == "exact multiple of the chunk size" {
				data = bytes.Repeat([]byte("0123456789abcdef"), 16*4) // 4 chunks of 256
			}
			m, err := Create(ctx, d, k.options(tt.chunkSize, testNow), dumpOf(data, tt.piece))
			if err != nil {
				t.Fatal(err)
			}
			if m.PlaintextSize != int64(len(data)) {
				t.Errorf("manifest plaintext %d, wrote %d", m.PlaintextSize, len(data))
			}
			chunk := tt.chunkSize
			if chunk == 0 {
				chunk = DefaultChunkSize
			}
			if want := max(1, (len(data)+chunk-1)/chunk); len(m.Chunks) != want {
				t.Errorf("%d chunks, want %d", len(m.Chunks), want)
			}
			if !strings.HasPrefix(m.ID, "20261207T054322Z-") {
				t.Errorf("id %q does not start with the creation time", m.ID)
			}
			var contents summary
			if err := json.Unmarshal(m.Contents, &contents); err != nil || contents.Rows != tt.size && tt.size > 0 {
				t.Errorf("contents %s (%v)", m.Contents, err)
			}

			report, err := Verify(ctx, d, m.ID, []ed25519.PublicKey{k.public}, nil, nil)
			if err != nil || report.Decrypted || report.Chunks != len(m.Chunks) {
				t.Fatalf("verify without identity: %+v, %v", report, err)
			}
			var checked []byte
			report, err = Verify(ctx, d, m.ID, []ed25519.PublicKey{k.public}, []age.Identity{k.identity},
				func(r io.Reader) error { var err error; checked, err = io.ReadAll(r); return err })
			if err != nil || !report.Decrypted {
				t.Fatalf("verify with identity: %+v, %v", report, err)
			}
			if !bytes.Equal(checked, data) {
				t.Fatalf("check saw %d bytes, want the %d written", len(checked), len(data))
			}

			_, r, err := Open(ctx, d, m.ID, []ed25519.PublicKey{k.public}, []age.Identity{k.identity})
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(r)
			r.Close()
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("open read %d bytes (%v), want %d", len(got), err, len(data))
			}
		})
	}
}

func TestStoredChunksHideThePlaintext(t *testing.T) {
	d, root := mustDir(t)
	k := mustKeys(t)
	data := syntheticLines(300)
	m := mustCreate(t, d, k, data, 4096, testNow)
	for _, c := range m.Chunks {
		stored, err := os.ReadFile(filepath.Join(root, m.ID, c.Name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(stored, []byte("age-encryption.org/v1\n")) {
			t.Fatalf("chunk %d is not an age file", c.Index)
		}
		for _, needle := range []string{"person1@example.test", "consent_events", "analytics"} {
			if bytes.Contains(stored, []byte(needle)) {
				t.Fatalf("chunk %d shows %q", c.Index, needle)
			}
		}
	}
}

func TestCreateRefusesBadOptions(t *testing.T) {
	k := mustKeys(t)
	d, _ := mustDir(t)
	dump := dumpOf([]byte("x"), 1)
	tests := []struct {
		name string
		opts CreateOptions
	}{
		{"no recipient", CreateOptions{Signer: k.signer}},
		{"no signer", CreateOptions{Recipients: []age.Recipient{k.recipient}}},
		{"chunk too small", CreateOptions{Recipients: []age.Recipient{k.recipient}, Signer: k.signer, ChunkSize: 10}},
		{"nil recipient", CreateOptions{Recipients: []age.Recipient{nil}, Signer: k.signer}},
		{"negative workers", CreateOptions{Recipients: []age.Recipient{k.recipient}, Signer: k.signer, Workers: -1}},
		{"too many workers", CreateOptions{Recipients: []age.Recipient{k.recipient}, Signer: k.signer, Workers: maxWorkers + 1}},
		{"negative duty", CreateOptions{Recipients: []age.Recipient{k.recipient}, Signer: k.signer, Duty: -0.5}},
		{"duty above one", CreateOptions{Recipients: []age.Recipient{k.recipient}, Signer: k.signer, Duty: 1.5}},
		{"duty not a number", CreateOptions{Recipients: []age.Recipient{k.recipient}, Signer: k.signer, Duty: math.NaN()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Create(context.Background(), d, tt.opts, dump); err == nil {
				t.Fatal("accepted")
			}
			if all, _ := d.List(context.Background(), ""); len(all) != 0 {
				t.Fatalf("left %v", all)
			}
		})
	}
}

func TestFailedCreateLeavesNoBackup(t *testing.T) {
	ctx := context.Background()
	d, _ := mustDir(t)
	k := mustKeys(t)
	data := syntheticLines(400)
	failing := func(ctx context.Context, w io.Writer) (any, error) {
		if _, err := w.Write(data); err != nil {
			return nil, err
		}
		return nil, errors.New("database went away")
	}
	if _, err := Create(ctx, d, k.options(1024, testNow), failing); err == nil || !strings.Contains(err.Error(), "database went away") {
		t.Fatalf("create: %v", err)
	}
	backups, err := List(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range backups {
		if b.Complete {
			t.Fatalf("a failed create lists as complete: %+v", b)
		}
	}

	cancelled, cancel := context.WithCancel(ctx)
	slow := func(ctx context.Context, w io.Writer) (any, error) {
		for i := 0; ; i++ {
			if i == 3 {
				cancel()
			}
			if _, err := w.Write(data[:2048]); err != nil {
				return nil, err
			}
		}
	}
	if _, err := Create(cancelled, d, k.options(1024, testNow), slow); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled create: %v", err)
	}
}

func TestListShowsIncompleteBackups(t *testing.T) {
	ctx := context.Background()
	d, root := mustDir(t)
	k := mustKeys(t)
	data := syntheticLines(200)
	complete := mustCreate(t, d, k, data, 2048, testNow)
	noManifest := mustCreate(t, d, k, data, 2048, testNow.Add(1))
	lostChunk := mustCreate(t, d, k, data, 2048, testNow.Add(2))
	mustRemove(t, filepath.Join(root, noManifest.ID, manifestName))
	mustRemove(t, filepath.Join(root, lostChunk.ID, lostChunk.Chunks[1].Name))
	// Another folder on the same target (the erasure journal) is not a backup.
	if err := d.Put(ctx, "erasures/e1", strings.NewReader("{}")); err != nil {
		t.Fatal(err)
	}

	backups, err := List(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{complete.ID: "", noManifest.ID: "no manifest", lostChunk.ID: "chunk 2 missing"}
	if len(backups) != len(want) {
		t.Fatalf("listed %+v", backups)
	}
	for _, b := range backups {
		problem, ok := want[b.ID]
		if !ok || b.Complete != (problem == "") || !strings.Contains(b.Problem, problem) {
			t.Errorf("%s: complete %v, problem %q; want problem %q", b.ID, b.Complete, b.Problem, problem)
		}
	}
	for _, id := range []string{noManifest.ID, lostChunk.ID} {
		if _, err := Verify(ctx, d, id, []ed25519.PublicKey{k.public}, nil, nil); err == nil {
			t.Errorf("incomplete %s verifies", id)
		}
	}
}

func TestVerifyUnknownBackupIsNotFound(t *testing.T) {
	d, _ := mustDir(t)
	k := mustKeys(t)
	_, err := Verify(context.Background(), d, "20261207T054322Z-000000", []ed25519.PublicKey{k.public}, nil, nil)
	if !errs.Is(err, errs.CodeNotFound) {
		t.Fatalf("verify of nothing: %v", err)
	}
	for _, id := range []string{"", "../x", "20261207T054322Z", "latest"} {
		if _, err := Verify(context.Background(), d, id, []ed25519.PublicKey{k.public}, nil, nil); !errs.Is(err, errs.CodeInvalid) {
			t.Errorf("id %q: %v", id, err)
		}
	}
	if _, err := Verify(context.Background(), d, "20261207T054322Z-000000", nil, nil, nil); err == nil {
		t.Error("verify with no trusted key accepted")
	}
}

func TestChecksErrorIsReported(t *testing.T) {
	ctx := context.Background()
	d, _ := mustDir(t)
	k := mustKeys(t)
	m := mustCreate(t, d, k, syntheticLines(300), 1024, testNow)
	_, err := Verify(ctx, d, m.ID, []ed25519.PublicKey{k.public}, []age.Identity{k.identity},
		func(r io.Reader) error { return errors.New("audit chain breaks at 17") })
	if err == nil || !strings.Contains(err.Error(), "audit chain breaks at 17") {
		t.Fatalf("verify: %v", err)
	}
}

func mustRemove(tb testing.TB, path string) {
	tb.Helper()
	if err := os.Remove(path); err != nil {
		tb.Fatal(err)
	}
}

var _ target.Target = (*target.Dir)(nil)

// TestDutyPacesTheDump: a dump that works a known time per chunk is made
// to rest in proportion. Sleeps last at least what they ask, so the lower
// bounds hold on any machine; a dump at full duty rests not at all.
func TestDutyPacesTheDump(t *testing.T) {
	k := mustKeys(t)
	const chunks, perChunk = 6, 30 * time.Millisecond
	chunkSize := 4096
	// The dump works perChunk for each chunk it fills.
	slowDump := func(ctx context.Context, w io.Writer) (any, error) {
		piece := make([]byte, chunkSize)
		for range chunks {
			time.Sleep(perChunk)
			if _, err := w.Write(piece); err != nil {
				return nil, err
			}
		}
		return summary{}, nil
	}
	tests := []struct {
		name    string
		duty    float64
		atLeast time.Duration
	}{
		// Every chunk handed over but the last is followed by a rest: as
		// long as the work at 0.5, three times as long at 0.25.
		{"half", 0.5, chunks*perChunk + (chunks-1)*perChunk},
		{"quarter", 0.25, chunks*perChunk + 3*(chunks-1)*perChunk},
		{"full", 1, chunks * perChunk},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, _ := mustDir(t)
			opts := k.options(chunkSize, testNow)
			opts.Duty = tt.duty
			start := time.Now()
			m, err := Create(context.Background(), d, opts, slowDump)
			elapsed := time.Since(start)
			if err != nil {
				t.Fatal(err)
			}
			if len(m.Chunks) != chunks {
				t.Fatalf("%d chunks, want %d", len(m.Chunks), chunks)
			}
			if elapsed < tt.atLeast {
				t.Errorf("duty %v: took %s, want at least %s", tt.duty, elapsed, tt.atLeast)
			}
		})
	}
}

func TestWorkersDefault(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	tests := []struct{ procs, workers, want int }{
		{1, 0, 1}, {2, 0, 1}, {3, 0, 2}, {8, 0, maxWorkers}, {2, 3, 3},
	}
	for _, tt := range tests {
		runtime.GOMAXPROCS(tt.procs)
		if got := (CreateOptions{Workers: tt.workers}).workers(); got != tt.want {
			t.Errorf("GOMAXPROCS %d, Workers %d: %d workers, want %d", tt.procs, tt.workers, got, tt.want)
		}
	}
}
