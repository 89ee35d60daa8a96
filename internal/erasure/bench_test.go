package erasure_test

import (
	"context"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/erasure"
)

func TestDefaultDir(t *testing.T) {
	for in, want := range map[string]string{"./steward-data": "steward-data.erasures", "/var/lib/steward/": "/var/lib/steward.erasures"} {
		if got := erasure.DefaultDir(in); got != want {
			t.Errorf("DefaultDir(%q) = %q, want %q", in, got, want)
		}
	}
}

// BenchmarkAppend writes one signed, chained entry to a directory (fsync of
// the file and the directory included).
func BenchmarkAppend(b *testing.B) {
	j := benchJournal(b)
	at := time.Now()
	for b.Loop() {
		if err := j.Append(context.Background(), erased("sub-1", at)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSince1000 reads and verifies a journal of 1,000 entries.
func BenchmarkSince1000(b *testing.B) {
	j := benchJournal(b)
	at := time.Now()
	for range 1000 {
		if err := j.Append(context.Background(), erased("sub-1", at)); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		entries, err := j.Since(context.Background(), time.Time{})
		if err != nil || len(entries) != 1000 {
			b.Fatal(len(entries), err)
		}
	}
}

func benchJournal(b *testing.B) *erasure.Journal {
	b.Helper()
	j, _ := journalAt(b, "", newKey(b), erasure.Options{})
	return j
}
