package export_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/connector"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/export"
	"github.com/steward-dev/steward/internal/vault/vaulttest"
)

func newStore(t *testing.T, store *db.DB, now *time.Time) *export.Store {
	t.Helper()
	v := vaulttest.Open(t, store)
	box, _ := v.SecretBox("export")
	s, err := export.NewStore(export.StoreConfig{DB: store, Secrets: box, Now: func() time.Time { return *now }, ChunkSize: 4096})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestArchiveRoundTrip writes an archive through the encrypted store and
// reads it back: every file is listed in the manifest with its checksum,
// rows arrive as CSV, and nothing is stored in clear.
func TestArchiveRoundTrip(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		now := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
		s := newStore(t, store, &now)
		up, err := s.Create(ctx, "req_1")
		if err != nil {
			t.Fatal(err)
		}
		a := export.NewArchive(up)
		if err := a.JSON("consents.json", "Your consent choices.", []map[string]string{{"purpose": "analytics", "action": "grant"}}); err != nil {
			t.Fatal(err)
		}
		sink := a.Tables("shop-db")
		cols := []connector.Column{{Name: "id", Category: "identifier"}, {Name: "email", Category: "contact"}, {Name: "note", Category: "other"}}
		if err := sink.StartTable("orders", cols); err != nil {
			t.Fatal(err)
		}
		const rows = 3000
		for i := range rows {
			if err := sink.Row([]any{int64(i), "ada.export@example.org", "line, with \"quotes\"\nand a newline"}); err != nil {
				t.Fatal(err)
			}
		}
		if err := sink.EndTable("orders", rows); err != nil {
			t.Fatal(err)
		}
		if err := a.Close(export.About{Company: "Example Shop", RequestID: "req_1", GeneratedAt: now, Retention: "Orders: 10 years (tax law).",
			Source: "You, when you ordered.", Purposes: []export.Purpose{{Key: "orders", Name: "Fulfilling your orders", LegalBasis: "contract"}}}); err != nil {
			t.Fatal(err)
		}
		info, err := up.Commit()
		if err != nil || !info.Complete || info.Bytes == 0 {
			t.Fatalf("Commit = %+v, %v", info, err)
		}
		var stored bytes.Buffer
		r, _ := store.Query(`SELECT data FROM export_chunks ORDER BY n`)
		for r.Next() {
			var b []byte
			r.Scan(&b)
			stored.Write(b)
		}
		r.Close()
		if bytes.Contains(stored.Bytes(), []byte("ada.export@example.org")) || bytes.Contains(stored.Bytes(), []byte("PK\x03\x04")) {
			t.Fatal("the archive is stored in clear")
		}

		latest, err := s.Latest(ctx, "req_1")
		if err != nil || latest.ID != up.ID() {
			t.Fatalf("Latest = %+v, %v", latest, err)
		}
		plain, err := s.Open(ctx, latest.ID)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := io.ReadAll(plain)
		if err != nil {
			t.Fatal(err)
		}
		z, err := zip.NewReader(bytes.NewReader(raw), int64(len(raw)))
		if err != nil {
			t.Fatal(err)
		}
		files := map[string][]byte{}
		for _, f := range z.File {
			rc, _ := f.Open()
			files[f.Name], _ = io.ReadAll(rc)
			rc.Close()
		}
		var manifest struct {
			Files []export.File `json:"files"`
		}
		if err := json.Unmarshal(files["manifest.json"], &manifest); err != nil {
			t.Fatal(err)
		}
		if len(manifest.Files) != 4 { // consents, orders.csv, about.json, README.txt
			t.Fatalf("manifest lists %d files: %+v", len(manifest.Files), manifest.Files)
		}
		for _, f := range manifest.Files {
			sum := sha256.Sum256(files[f.Name])
			if hex.EncodeToString(sum[:]) != f.SHA256 || int64(len(files[f.Name])) != f.Bytes {
				t.Errorf("%s: manifest does not match the file", f.Name)
			}
		}
		records, err := csv.NewReader(bytes.NewReader(files["systems/shop-db/orders.csv"])).ReadAll()
		if err != nil || len(records) != rows+1 || records[1][2] != "line, with \"quotes\"\nand a newline" || records[0][1] != "email" {
			t.Fatalf("orders.csv: %d records, %v", len(records), err)
		}
		readme := string(files["README.txt"])
		for _, want := range []string{"systems/shop-db/orders.csv", "3000 rows", "Fulfilling your orders (legal basis: contract)", "Article 17", "10 years"} {
			if !strings.Contains(readme, want) {
				t.Errorf("README lacks %q", want)
			}
		}

		// Seven days later the archive is gone.
		now = now.Add(7*24*time.Hour + time.Second)
		if _, err := s.Open(ctx, latest.ID); errs.CodeOf(err) != errs.CodeNotFound {
			t.Fatalf("an expired archive opens: %v", err)
		}
		if n, err := s.PurgeExpired(ctx); err != nil || n != 1 {
			t.Fatalf("PurgeExpired = %d, %v", n, err)
		}
		var left int
		store.QueryRow(`SELECT count(*) FROM export_chunks`).Scan(&left)
		if left != 0 {
			t.Fatalf("%d chunks left after the purge", left)
		}
	})
}

// TestArchiveEntriesCarryTheirDate: every zip entry is dated when the
// archive was made (they were all dated 1 January 1970).
func TestArchiveEntriesCarryTheirDate(t *testing.T) {
	made := time.Date(2026, 12, 6, 14, 30, 5, 0, time.UTC)
	var buf bytes.Buffer
	a := export.NewArchiveAt(&buf, made)
	if err := a.JSON("consents.json", "Your consent choices.", []string{"analytics"}); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(export.About{Company: "Example Shop", GeneratedAt: made}); err != nil {
		t.Fatal(err)
	}
	z, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	if len(z.File) < 4 {
		t.Fatalf("%d entries", len(z.File))
	}
	for _, f := range z.File {
		if !f.Modified.Equal(made) {
			t.Errorf("%s is dated %s, want %s", f.Name, f.Modified, made)
		}
	}
}
