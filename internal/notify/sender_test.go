package notify_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/steward-dev/steward/internal/notify"
)

func TestDemoDrop(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "mail")
	d := &notify.DemoDrop{Dir: dir}
	if err := d.Send(context.Background(), notify.Message{To: "ada@example.org", Subject: "Your code", Text: "Code: 123456"}); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.txt"))
	if len(files) != 1 {
		t.Fatalf("%d files", len(files))
	}
	b, _ := os.ReadFile(files[0])
	if !strings.Contains(string(b), "To: ada@example.org") || !strings.Contains(string(b), "123456") {
		t.Fatalf("file: %q", b)
	}
}
