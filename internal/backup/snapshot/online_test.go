package snapshot_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/backup/snapshot"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
)

// stallingWriter holds Dump at its first write, in the middle of reading the
// store, until the writers have committed `more` rows after it.
type stallingWriter struct {
	buf      bytes.Buffer
	inserted *atomic.Int64
	more     int64
	stalled  bool
}

func (w *stallingWriter) Write(p []byte) (int, error) {
	if !w.stalled {
		w.stalled = true
		start := w.inserted.Load()
		deadline := time.Now().Add(20 * time.Second)
		for w.inserted.Load() < start+w.more {
			if time.Now().After(deadline) {
				return 0, fmt.Errorf("writers made %d inserts in 20 s while Dump read", w.inserted.Load()-start)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	return w.buf.Write(p)
}

// TestDumpWhileWriting: writers carry on while Dump holds its read
// transaction (an insert loop commits rows while Dump is stalled half-way),
// and the snapshot is consistent: it holds exactly the rows committed before
// it, none after.
func TestDumpWhileWriting(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		// Enough rows that the dump writes (and stalls) before its end.
		err := store.Tx(ctx, func(tx *sql.Tx) error {
			for i := range 40 {
				var b strings.Builder
				args := []any{}
				b.WriteString(`INSERT INTO subjects (id, created_at) VALUES `)
				for j := range 500 {
					if j > 0 {
						b.WriteByte(',')
					}
					fmt.Fprintf(&b, "($%d, $%d)", 2*j+1, 2*j+2)
					args = append(args, fmt.Sprintf("pre-%08d", i*500+j), int64(i*500+j))
				}
				if _, err := tx.ExecContext(ctx, b.String(), args...); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}

		var inserted atomic.Int64
		stop := make(chan struct{})
		done := make(chan error, 1)
		go func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					done <- nil
					return
				default:
				}
				if _, err := store.ExecContext(ctx, `INSERT INTO subjects (id, created_at) VALUES ($1, $2)`, fmt.Sprintf("w-%08d", i), int64(i)); err != nil {
					done <- err
					return
				}
				inserted.Add(1)
			}
		}()
		// Let the writers start, then dump.
		for inserted.Load() < 10 {
			time.Sleep(time.Millisecond)
		}
		before := inserted.Load()
		w := &stallingWriter{inserted: &inserted, more: 50}
		sum, err := snapshot.Dump(ctx, store, w)
		close(stop)
		if werr := <-done; werr != nil {
			t.Fatalf("writer: %v", werr)
		}
		if err != nil {
			t.Fatalf("dump while writing: %v", err)
		}
		if !w.stalled {
			t.Fatal("Dump wrote nothing before its end: the test did not stall it half-way")
		}
		after := inserted.Load()

		// The snapshot's writer rows are w-0 … w-(k-1): no gap, at least
		// those committed before Dump began, fewer than all.
		var k int64
		gap := false
		_, err = snapshot.Scan(bytes.NewReader(w.buf.Bytes()), func(table string, row snapshot.Row) error {
			if table != "subjects" {
				return nil
			}
			id, _ := row.Value("id")
			if s := id.(string); strings.HasPrefix(s, "w-") {
				if s != fmt.Sprintf("w-%08d", k) {
					gap = true
				}
				k++
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if gap || k < before || k >= after {
			t.Errorf("the snapshot holds %d writer rows (gap: %v); %d were committed before Dump, %d by its end", k, gap, before, after)
		}
		if sum.Tables["subjects"] != 20000+k {
			t.Errorf("summary counts %d subjects, the stream %d", sum.Tables["subjects"], 20000+k)
		}
		t.Logf("%d rows committed while Dump was stalled; the snapshot holds %d of %d", after-before, k, after)
	})
}

// TestScanRefusesForeignInput: a stream that is not a snapshot, or empty,
// is refused as corrupt.
func TestScanRefusesForeignInput(t *testing.T) {
	for name, input := range map[string]string{
		"empty":          "",
		"not a snapshot": "PK\x03\x04 a zip file",
		"magic only":     "STEWSNAP",
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := snapshot.Scan(strings.NewReader(input), nil); !errors.Is(err, snapshot.ErrCorrupt) {
				t.Errorf("Scan: %v, want ErrCorrupt", err)
			}
		})
	}
	if _, err := snapshot.Scan(io.MultiReader(), nil); !errors.Is(err, snapshot.ErrCorrupt) {
		t.Errorf("Scan of nothing: %v", err)
	}
}
