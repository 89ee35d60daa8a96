package api_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/backup/target"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/erasure"
	"github.com/steward-dev/steward/internal/vault"
	"github.com/steward-dev/steward/internal/vault/vaulttest"
	"github.com/steward-dev/steward/internal/web/api"
)

// An administrator's erasure of a subject's vault data is journaled; while
// the journal cannot be written the erasure stands, the caller gets a 503
// saying to call again, and the call again records it.
func TestEraseSubjectIsJournaled(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		v := vaulttest.Open(t, store)
		log, _ := audit.New(audit.Config{DB: store})
		if _, err := v.Put(ctx, "cust-10", vault.Field{Name: "iban", Category: "financial", Value: []byte("DE89370400440532013000")}); err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		tg, _ := target.OpenDir(dir)
		_, key, _ := ed25519.GenerateKey(nil)
		journal := erasure.Open(tg, key, erasure.Options{})
		d := &api.Deps{Vault: v, Audit: log, Erasures: journal, Log: slog.New(slog.DiscardHandler)}
		mux := http.NewServeMux()
		mux.Handle("POST /v1/subjects/{id}/erase", d.HandleEraseSubject())
		erase := func() (int, string) {
			req := httptest.NewRequest("POST", "/v1/subjects/cust-10/erase", nil)
			req = req.WithContext(audit.WithActor(req.Context(), audit.System()))
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, req)
			return rec.Code, rec.Body.String()
		}

		blocker := filepath.Join(dir, "erasures")
		os.WriteFile(blocker, []byte("not a directory"), 0o600)
		code, body := erase()
		if code != http.StatusServiceUnavailable || !strings.Contains(body, "call again") {
			t.Fatalf("erase with the journal down: %d %s", code, body)
		}
		if erased, _ := v.Erased(ctx, "cust-10"); !erased {
			t.Fatal("the erasure did not stand")
		}
		os.Remove(blocker)
		if code, body := erase(); code != http.StatusOK || !strings.Contains(body, `"already_erased":true`) {
			t.Fatalf("erase again: %d %s", code, body)
		}
		entries, err := journal.Since(ctx, time.Time{})
		if err != nil || len(entries) != 1 {
			t.Fatalf("journal: %d entries, %v", len(entries), err)
		}
		e := entries[0]
		if e.Subject != "cust-10" || e.Source != erasure.SourceAPI || e.Vault == nil || !e.Vault.KeyDestroyed || !e.Vault.AlreadyErased {
			raw, _ := json.Marshal(e)
			t.Fatalf("entry: %s", raw)
		}
	})
}
