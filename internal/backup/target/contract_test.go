package target

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// The contract every target keeps, run on each kind.
func TestContract(t *testing.T) {
	kinds := []struct {
		name string
		open func(t *testing.T) Target
	}{
		{"dir", func(t *testing.T) Target {
			d, err := OpenDir(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			return d
		}},
		{"s3", func(t *testing.T) Target { return newFakeS3(t, nil).open(t, "s3://backups/steward/prod", nil) }},
		{"s3 without prefix", func(t *testing.T) Target { return newFakeS3(t, nil).open(t, "s3://backups", nil) }},
	}
	for _, kind := range kinds {
		t.Run(kind.name, func(t *testing.T) {
			t.Run("put once", func(t *testing.T) { testPutOnce(t, kind.open(t)) })
			t.Run("failed put leaves nothing", func(t *testing.T) { testFailedPut(t, kind.open(t)) })
			t.Run("list and delete", func(t *testing.T) { testListDelete(t, kind.open(t)) })
			t.Run("get and delete missing", func(t *testing.T) { testMissing(t, kind.open(t)) })
			t.Run("names that could escape", func(t *testing.T) { testBadNames(t, kind.open(t)) })
			t.Run("large object", func(t *testing.T) { testLarge(t, kind.open(t)) })
		})
	}
}

func testPutOnce(t *testing.T, tg Target) {
	ctx := context.Background()
	if err := tg.Put(ctx, "b1/manifest.json", strings.NewReader("one")); err != nil {
		t.Fatal(err)
	}
	if err := tg.Put(ctx, "b1/manifest.json", strings.NewReader("two")); !errors.Is(err, ErrExists) {
		t.Fatalf("second put: %v, want ErrExists", err)
	}
	if got := mustRead(t, tg, "b1/manifest.json"); got != "one" {
		t.Fatalf("got %q, want the first write", got)
	}
}

func testFailedPut(t *testing.T, tg Target) {
	ctx := context.Background()
	err := tg.Put(ctx, "b1/chunk-000001", io.MultiReader(strings.NewReader("half"), errReader{}))
	if err == nil {
		t.Fatal("put from a failing reader succeeded")
	}
	if objs, err := tg.List(ctx, ""); err != nil || len(objs) != 0 {
		t.Fatalf("a failed put left %v (%v)", objs, err)
	}
	if _, err := tg.Get(ctx, "b1/chunk-000001"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("get after a failed put: %v", err)
	}
	// The name is still free.
	if err := tg.Put(ctx, "b1/chunk-000001", strings.NewReader("whole")); err != nil {
		t.Fatal(err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := tg.Put(cancelled, "b1/chunk-000002", strings.NewReader("late")); err == nil {
		t.Fatal("put on a cancelled context succeeded")
	}
	if objs, _ := tg.List(ctx, ""); len(objs) != 1 {
		t.Fatalf("after a cancelled put: %v", objs)
	}
}

func testListDelete(t *testing.T, tg Target) {
	ctx := context.Background()
	for _, n := range []string{"b2/x", "b1/y", "b1/x", "b10/z", "erasures/e1"} {
		if err := tg.Put(ctx, n, strings.NewReader(n)); err != nil {
			t.Fatal(err)
		}
	}
	objs, err := tg.List(ctx, "b1/")
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 2 || objs[0].Name != "b1/x" || objs[1].Name != "b1/y" || objs[0].Size != 4 {
		t.Fatalf("list b1/: %+v", objs)
	}
	all, _ := tg.List(ctx, "")
	var names []string
	for _, o := range all {
		names = append(names, o.Name)
	}
	if strings.Join(names, " ") != "b1/x b1/y b10/z b2/x erasures/e1" {
		t.Fatalf("list: %v", names)
	}
	if err := tg.Delete(ctx, "b1/x"); err != nil {
		t.Fatal(err)
	}
	if err := tg.Delete(ctx, "b1/x"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("delete twice: %v", err)
	}
	if all, _ := tg.List(ctx, ""); len(all) != 4 {
		t.Fatalf("after delete: %+v", all)
	}
}

func testMissing(t *testing.T, tg Target) {
	ctx := context.Background()
	if _, err := tg.Get(ctx, "b1/none"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("get missing: %v", err)
	}
	if err := tg.Delete(ctx, "b1/none"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("delete missing: %v", err)
	}
	if objs, err := tg.List(ctx, "nothing/"); err != nil || len(objs) != 0 {
		t.Fatalf("list of nothing: %v, %v", objs, err)
	}
}

func testBadNames(t *testing.T, tg Target) {
	ctx := context.Background()
	for _, name := range []string{"", "../x", "a/../../x", "/abs", ".hidden", "a//b", "a\\b", "a b"} {
		if err := tg.Put(ctx, name, strings.NewReader("x")); err == nil {
			t.Errorf("put %q accepted", name)
		}
		if _, err := tg.Get(ctx, name); err == nil || errors.Is(err, ErrNotFound) {
			t.Errorf("get %q: %v, want a refusal", name, err)
		}
	}
}

func testLarge(t *testing.T, tg Target) {
	ctx := context.Background()
	data := bytes.Repeat([]byte("0123456789abcdef"), (maxInMemoryPut+4096)/16) // past the in-memory limit
	if err := tg.Put(ctx, "b1/big", struct{ io.Reader }{bytes.NewReader(data)}); err != nil {
		t.Fatal(err)
	}
	r, err := tg.Get(ctx, "b1/big")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read back %d bytes (%v), want %d", len(got), err, len(data))
	}
}

func mustRead(tb testing.TB, tg Target, name string) string {
	tb.Helper()
	r, err := tg.Get(context.Background(), name)
	if err != nil {
		tb.Fatal(err)
	}
	defer r.Close()
	got, err := io.ReadAll(r)
	if err != nil {
		tb.Fatal(err)
	}
	return string(got)
}

// fakeS3 is an in-process S3 server (gofakes3, in memory) behind httptest.
// wrap, when set, sees every request first (to add what gofakes3 lacks).
type fakeS3 struct {
	server  *httptest.Server
	backend *s3mem.Backend
}

func newFakeS3(t *testing.T, wrap func(http.Handler) http.Handler) *fakeS3 {
	t.Helper()
	backend := s3mem.New()
	if err := backend.CreateBucket("backups"); err != nil {
		t.Fatal(err)
	}
	var handler http.Handler = gofakes3.New(backend).Server()
	if wrap != nil {
		handler = wrap(handler)
	}
	server := httptest.NewServer(handler)
	t.Cleanup(server.Close)
	return &fakeS3{server: server, backend: backend}
}

func (f *fakeS3) options(lock *ObjectLock) S3Options {
	u, _ := url.Parse(f.server.URL)
	return S3Options{Endpoint: u.Host, Region: "us-east-1", AccessKey: "test-access", SecretKey: "test-secret",
		Insecure: true, Lock: lock}
}

func (f *fakeS3) open(t *testing.T, spec string, lock *ObjectLock) *S3 {
	t.Helper()
	s, err := OpenS3(context.Background(), spec, f.options(lock))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestS3Open(t *testing.T) {
	fake := newFakeS3(t, nil)
	tests := []struct {
		spec string
		lock *ObjectLock
		want string // in the error, "" for none
	}{
		{spec: "s3://backups/a/b", want: ""},
		{spec: "s3://backups/", want: ""},
		{spec: "s3://missing-bucket/x", want: "no such bucket"},
		{spec: "s3://Bad_Bucket/x", want: "not valid"},
		{spec: "s3://backups/../x", want: "prefix"},
		{spec: "s3://backups/x", lock: &ObjectLock{Mode: "COMPLIANCE", Period: 30 * 24 * time.Hour}, want: "does not have it enabled"},
		{spec: "s3://backups/x", lock: &ObjectLock{Mode: "FOREVER", Period: 30 * 24 * time.Hour}, want: "GOVERNANCE or COMPLIANCE"},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			s, err := OpenS3(context.Background(), tt.spec, fake.options(tt.lock))
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if strings.Contains(s.String(), "test-secret") || !strings.HasPrefix(s.String(), "s3://backups/") {
					t.Fatalf("String() = %q", s.String())
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err %v, want %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "test-secret") {
				t.Fatalf("the error shows the secret: %v", err)
			}
		})
	}
}

func TestS3PrefixesKeepTargetsApart(t *testing.T) {
	ctx := context.Background()
	fake := newFakeS3(t, nil)
	a := fake.open(t, "s3://backups/site-a", nil)
	b := fake.open(t, "s3://backups/site-ab", nil)
	if err := a.Put(ctx, "b1/x", strings.NewReader("a")); err != nil {
		t.Fatal(err)
	}
	if err := b.Put(ctx, "b1/x", strings.NewReader("b")); err != nil {
		t.Fatalf("same name under another prefix: %v", err)
	}
	if objs, _ := a.List(ctx, ""); len(objs) != 1 || mustRead(t, a, "b1/x") != "a" {
		t.Fatalf("prefix a sees %v", objs)
	}
}

// The conditional header reaches the store: when two writers both pass
// the existence check (the HEAD is made to miss here), the store's
// If-None-Match refuses the second, and Put reports ErrExists.
func TestS3PutIsConditional(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	var seen []string
	hide := true
	fake := newFakeS3(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			hiding := hide
			mu.Unlock()
			switch r.Method {
			case http.MethodHead:
				if hiding && strings.Contains(r.URL.Path, "/raced") {
					w.WriteHeader(http.StatusNotFound)
					return
				}
			case http.MethodPut:
				mu.Lock()
				seen = append(seen, r.Header.Get("If-None-Match"))
				mu.Unlock()
			}
			next.ServeHTTP(w, r)
		})
	})
	s := fake.open(t, "s3://backups/p", nil)
	if err := s.Put(ctx, "raced/x", strings.NewReader("first")); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, "raced/x", strings.NewReader("second")); !errors.Is(err, ErrExists) {
		t.Fatalf("second writer: %v, want ErrExists", err)
	}
	if len(seen) != 2 || seen[0] != "*" || seen[1] != "*" {
		t.Fatalf("If-None-Match sent: %q", seen)
	}
	mu.Lock()
	hide = false
	mu.Unlock()
	if got := mustRead(t, s, "raced/x"); got != "first" {
		t.Fatalf("stored %q, want the first write", got)
	}
}

// With object lock asked for and the bucket able, every Put carries the
// retention headers.
func TestS3ObjectLockOnPut(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	headers := map[string]http.Header{}
	fake := newFakeS3(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodGet && r.URL.Query().Has("object-lock") { // gofakes3 has no object lock
				w.Header().Set("Content-Type", "application/xml")
				io.WriteString(w, `<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled></ObjectLockConfiguration>`)
				return
			}
			if r.Method == http.MethodPut {
				mu.Lock()
				headers[r.URL.Path] = r.Header.Clone()
				mu.Unlock()
			}
			next.ServeHTTP(w, r)
		})
	})
	now := time.Date(2026, 12, 7, 5, 0, 0, 0, time.UTC)
	opts := fake.options(&ObjectLock{Mode: "COMPLIANCE", Period: 90 * 24 * time.Hour})
	opts.Now = func() time.Time { return now }
	s, err := OpenS3(ctx, "s3://backups/locked", opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, "b1/manifest.json", strings.NewReader("{}")); err != nil {
		t.Fatal(err)
	}
	h := headers["/backups/locked/b1/manifest.json"]
	if h == nil {
		t.Fatalf("no put seen: %v", headers)
	}
	if h.Get("X-Amz-Object-Lock-Mode") != "COMPLIANCE" ||
		h.Get("X-Amz-Object-Lock-Retain-Until-Date") != "2027-03-07T05:00:00Z" ||
		h.Get("Content-Md5") == "" {
		t.Fatalf("lock headers: mode %q until %q md5 %q", h.Get("X-Amz-Object-Lock-Mode"),
			h.Get("X-Amz-Object-Lock-Retain-Until-Date"), h.Get("Content-Md5"))
	}
}

func TestS3OptionsFromEnv(t *testing.T) {
	env := func(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }
	opts, err := S3OptionsFromEnv(env(map[string]string{
		"AWS_ACCESS_KEY_ID": "id", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_REGION": "eu-west-3",
		"STEWARD_S3_ENDPOINT": "minio.internal:9000", "STEWARD_S3_INSECURE": "1",
		"STEWARD_S3_LOCK_MODE": "governance", "STEWARD_S3_LOCK_DAYS": "30",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if opts.AccessKey != "id" || opts.SecretKey != "secret" || opts.Region != "eu-west-3" || opts.Endpoint != "minio.internal:9000" ||
		!opts.Insecure || opts.Lock == nil || opts.Lock.Mode != "GOVERNANCE" || opts.Lock.Period != 30*24*time.Hour {
		t.Fatalf("options %+v", opts)
	}
	for _, bad := range []map[string]string{
		{"STEWARD_S3_INSECURE": "yes"},
		{"STEWARD_S3_LOCK_MODE": "COMPLIANCE"},
		{"STEWARD_S3_LOCK_DAYS": "-3", "STEWARD_S3_LOCK_MODE": "COMPLIANCE"},
	} {
		if _, err := S3OptionsFromEnv(env(bad)); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}
