package backup

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"io"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/steward-dev/steward/internal/backup/target"
)

// A backup's whole life on S3-compatible storage (gofakes3 in process).
func TestBackupOnS3(t *testing.T) {
	ctx := context.Background()
	backend := s3mem.New()
	if err := backend.CreateBucket("offsite"); err != nil {
		t.Fatal(err)
	}
	server := httptest.NewServer(gofakes3.New(backend).Server())
	defer server.Close()
	u, _ := url.Parse(server.URL)
	s3, err := target.OpenS3(ctx, "s3://offsite/steward", target.S3Options{
		Endpoint: u.Host, Region: "us-east-1", AccessKey: "test-access", SecretKey: "test-secret", Insecure: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	k := mustKeys(t)
	data := syntheticLines(3000)
	old := mustCreate(t, s3, k, data, 64<<10, testNow.Add(-40*24*time.Hour))
	m := mustCreate(t, s3, k, data, 64<<10, testNow)
	if len(m.Chunks) < 3 {
		t.Fatalf("want several chunks, have %d", len(m.Chunks))
	}
	trusted := []ed25519.PublicKey{k.public}
	if _, err := Verify(ctx, s3, m.ID, trusted, []age.Identity{k.identity}, nil); err != nil {
		t.Fatal(err)
	}
	_, r, err := Open(ctx, s3, m.ID, trusted, []age.Identity{k.identity})
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	r.Close()
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read %d bytes (%v), want %d", len(got), err, len(data))
	}
	listed, err := List(ctx, s3)
	if err != nil || len(listed) != 2 || !listed[0].Complete || !listed[1].Complete {
		t.Fatalf("list: %+v, %v", listed, err)
	}
	policy, _ := ParseKeepPolicy("7d")
	dropped, err := Prune(ctx, s3, policy, testNow)
	if err != nil || len(dropped) != 1 || dropped[0].ID != old.ID {
		t.Fatalf("prune: %+v, %v", dropped, err)
	}
	if objects, _ := s3.List(ctx, old.ID+"/"); len(objects) != 0 {
		t.Fatalf("prune left %v", objects)
	}
}
