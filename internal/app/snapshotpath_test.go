package app

import (
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/config"
)

// TestSnapshotPath: snapshots on name the file in the data directory;
// off, they remove the file an earlier run left, which nothing would
// rewrite after an erasure.
func TestSnapshotPath(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "consent-index.snapshot")
	if got := snapshotPath(config.Config{DataDir: dir, IndexSnapshotInterval: 15 * time.Minute}, slog.New(slog.DiscardHandler)); got != file {
		t.Fatalf("snapshots on: %q, want %q", got, file)
	}
	if err := os.WriteFile(file, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := snapshotPath(config.Config{DataDir: dir}, slog.New(slog.DiscardHandler)); got != "" {
		t.Fatalf("snapshots off: %q, want none", got)
	}
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Errorf("snapshots off left the old file: %v", err)
	}
}
