package target

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDirIsWriteOnce(t *testing.T) {
	ctx := context.Background()
	d, err := OpenDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Put(ctx, "b1/manifest.json", strings.NewReader("one")); err != nil {
		t.Fatal(err)
	}
	if err := d.Put(ctx, "b1/manifest.json", strings.NewReader("two")); !errors.Is(err, ErrExists) {
		t.Fatalf("second put: %v, want ErrExists", err)
	}
	rc, err := d.Get(ctx, "b1/manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if string(got) != "one" {
		t.Fatalf("got %q, want the first write", got)
	}
	if _, err := d.Get(ctx, "b1/none"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("get missing: %v", err)
	}
}

func TestDirFailedPutLeavesNothing(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	d, _ := OpenDir(root)
	err := d.Put(ctx, "b1/chunk-000001", io.MultiReader(strings.NewReader("half"), errReader{}))
	if err == nil {
		t.Fatal("put from a failing reader succeeded")
	}
	objs, err := d.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 0 {
		t.Fatalf("a failed put left %v", objs)
	}
	entries, _ := os.ReadDir(filepath.Join(root, "b1"))
	if len(entries) != 0 {
		t.Fatalf("a failed put left files: %v", entries)
	}
}

func TestDirListAndDelete(t *testing.T) {
	ctx := context.Background()
	d, _ := OpenDir(t.TempDir())
	for _, n := range []string{"b2/x", "b1/y", "b1/x", "journal/e1"} {
		if err := d.Put(ctx, n, strings.NewReader(n)); err != nil {
			t.Fatal(err)
		}
	}
	objs, err := d.List(ctx, "b1/")
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 2 || objs[0].Name != "b1/x" || objs[1].Name != "b1/y" || objs[0].Size != 4 {
		t.Fatalf("list b1/: %+v", objs)
	}
	if err := d.Delete(ctx, "b1/x"); err != nil {
		t.Fatal(err)
	}
	if err := d.Delete(ctx, "b1/x"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("delete twice: %v", err)
	}
	if all, _ := d.List(ctx, ""); len(all) != 3 {
		t.Fatalf("after delete: %+v", all)
	}
}

func TestNamesThatCouldEscapeAreRefused(t *testing.T) {
	ctx := context.Background()
	d, _ := OpenDir(t.TempDir())
	for _, name := range []string{"", "../x", "a/../../x", "/abs", ".hidden", "a//b", "a\\b", "a b"} {
		if err := d.Put(ctx, name, strings.NewReader("x")); err == nil {
			t.Errorf("put %q accepted", name)
		}
	}
}

func TestOpenRefusesUnknownSchemes(t *testing.T) {
	for _, spec := range []string{"", "ftp://host/x"} {
		if _, err := Open(context.Background(), spec); err == nil {
			t.Errorf("Open(%q) accepted", spec)
		}
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("disk pulled") }
