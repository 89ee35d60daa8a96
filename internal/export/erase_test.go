package export_test

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/export"
	"github.com/steward-dev/steward/internal/vault/vaulttest"
)

// TestSubjectArchiveDiesWithTheSubject replays the issue 12 defect at the
// store: an archive of a known subject opened after the subject's erasure.
// Its key is sealed under the subject's data key, so the erasure alone
// (before any row is deleted) makes it unreadable, and a copy of its rows
// put back (a restore) does not open either; DeleteFor removes the rows of
// the subject's and of the requester's other archives.
func TestSubjectArchiveDiesWithTheSubject(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		now := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
		v := vaulttest.Open(t, store)
		box, _ := v.SecretBox("export")
		s, err := export.NewStore(export.StoreConfig{DB: store, Secrets: box, Subjects: v, Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		write := func(request, subject string) string {
			up, err := s.CreateFor(ctx, request, subject)
			if err != nil {
				t.Fatal(err)
			}
			a := export.NewArchive(up)
			if err := a.JSON("protected-data.json", "x", map[string]string{"iban": "DE89370400440532013000"}); err != nil {
				t.Fatal(err)
			}
			if err := a.Close(export.About{Company: "Shop", RequestID: request}); err != nil {
				t.Fatal(err)
			}
			info, err := up.Commit()
			if err != nil {
				t.Fatal(err)
			}
			return info.ID
		}
		ada := write("req_ada", "ada")
		unmatched := write("req_ada_unmatched", "")
		bob := write("req_bob", "bob")
		var sealed []byte
		if err := store.QueryRowContext(ctx, `SELECT identity_sealed FROM exports WHERE id = $1`, ada).Scan(&sealed); err != nil {
			t.Fatal(err)
		}
		if r, err := s.Open(ctx, ada); err != nil {
			t.Fatal(err)
		} else if _, err := io.Copy(io.Discard, r); err != nil {
			t.Fatal(err)
		}

		if _, err := v.EraseSubject(ctx, "ada"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Open(ctx, ada); errs.CodeOf(err) != errs.CodeNotFound {
			t.Fatalf("Open of the erased subject's archive err = %v, want not found", err)
		}
		n, err := s.DeleteFor(ctx, "ada", []string{"req_ada", "req_ada_unmatched"})
		if err != nil || n != 2 {
			t.Fatalf("DeleteFor = %d, %v; want 2", n, err)
		}
		for _, id := range []string{ada, unmatched} {
			var rows int
			if err := store.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM exports WHERE id = $1) + (SELECT count(*) FROM export_chunks WHERE export_id = $1)`, id).Scan(&rows); err != nil || rows != 0 {
				t.Fatalf("rows of %s left: %d, %v", id, rows, err)
			}
		}
		// A restored copy of the archive's key row still does not open:
		// the subject key that sealed it is gone.
		if _, err := store.ExecContext(ctx, `INSERT INTO exports (id, request_id, subject_id, identity_sealed, bytes, created_at, completed_at, expires_at)
			VALUES ($1, 'req_ada', 'ada', $2, 1, $3, $3, $4)`, ada, sealed, now.UnixMicro(), now.Add(time.Hour).UnixMicro()); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Open(ctx, ada); errs.CodeOf(err) != errs.CodeNotFound {
			t.Fatalf("Open of a restored key row err = %v, want not found", err)
		}
		if _, err := s.Open(ctx, bob); err != nil {
			t.Fatalf("another subject's archive: %v", err)
		}
	})
}
