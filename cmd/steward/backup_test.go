package main

import (
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/app"
	"github.com/steward-dev/steward/internal/app/apptest"
	"github.com/steward-dev/steward/internal/backup"
	"github.com/steward-dev/steward/internal/backup/target"
	"github.com/steward-dev/steward/internal/config"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/recovery"
	"github.com/steward-dev/steward/internal/vault"
)

// TestBackupKeygenListVerify: the offline identity is written once and
// only its recipient printed; list shows complete and incomplete backups;
// verify trusts the data directory's signing key, names a changed chunk,
// and with the identity checks the contents.
func TestBackupKeygenListVerify(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	identity := filepath.Join(dir, "offline.key")
	out, stderr, err := runConnectorCLI(nil, "backup", "keygen", "--out", identity)
	if err != nil {
		t.Fatalf("keygen: %v\n%s", err, stderr)
	}
	recipient := strings.TrimSpace(out)
	if !strings.HasPrefix(recipient, "age1") || strings.Contains(out, "AGE-SECRET-KEY") {
		t.Fatalf("keygen printed %q: want only the recipient", out)
	}
	if info, err := os.Stat(identity); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("identity file: %v %v", info, err)
	}
	if _, _, err := runConnectorCLI(nil, "backup", "keygen", "--out", identity); err == nil {
		t.Fatal("keygen overwrote an identity")
	}

	dataDir := filepath.Join(dir, "data")
	key, err := backup.LoadOrCreateSigningKey(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	recipients, err := backup.ParseRecipients([]string{recipient})
	if err != nil {
		t.Fatal(err)
	}
	store := filepath.Join(dir, "backups")
	tgt, err := target.OpenDir(store)
	if err != nil {
		t.Fatal(err)
	}
	m, err := backup.Create(ctx, tgt, backup.CreateOptions{Recipients: recipients, Signer: key, ChunkSize: 1 << 10},
		func(ctx context.Context, w io.Writer) (any, error) {
			_, err := io.CopyN(w, rand.Reader, 5000)
			return map[string]int{"rows": 1}, err
		})
	if err != nil {
		t.Fatal(err)
	}
	// A second backup killed half-way: chunks without a manifest.
	if err := tgt.Put(ctx, "29991231T000000Z-abcdef/chunk-000001", strings.NewReader("half")); err != nil {
		t.Fatal(err)
	}

	out, _, err = runConnectorCLI(nil, "backup", "list", "--from", store)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, m.ID) || !strings.Contains(out, "complete") || !strings.Contains(out, "incomplete") {
		t.Fatalf("list:\n%s", out)
	}

	env := map[string]string{"STEWARD_DATA_DIR": dataDir}
	out, stderr, err = runConnectorCLI(env, "backup", "verify", "--from", store)
	if err != nil || !strings.Contains(out, m.ID) || !strings.Contains(out, "contents not decrypted") {
		t.Fatalf("verify: %v\n%s%s", err, out, stderr)
	}
	// Whole and signed, but not what Steward writes: the contents check says so.
	if _, _, err = runConnectorCLI(env, "backup", "verify", "--from", store, "--id", m.ID, "--identity", identity); err == nil ||
		!strings.Contains(err.Error(), "does not describe a Steward snapshot") {
		t.Fatalf("verify with identity of foreign contents: %v", err)
	}
	// Another server's key is not trusted.
	other := filepath.Join(dir, "other")
	if _, err := backup.LoadOrCreateSigningKey(other); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runConnectorCLI(map[string]string{"STEWARD_DATA_DIR": other}, "backup", "verify", "--from", store, "--id", m.ID); err == nil ||
		!strings.Contains(err.Error(), "does not verify") {
		t.Fatalf("verify against another key: %v", err)
	}
	// One flipped byte in a chunk is named.
	chunk := filepath.Join(store, m.ID, "chunk-000002")
	raw, err := os.ReadFile(chunk)
	if err != nil {
		t.Fatal(err)
	}
	raw[len(raw)/2] ^= 1
	os.Chmod(chunk, 0o600)
	if err := os.WriteFile(chunk, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runConnectorCLI(env, "backup", "verify", "--from", store, "--id", m.ID); err == nil || !strings.Contains(err.Error(), "chunk 2") {
		t.Fatalf("verify of a changed chunk: %v", err)
	}
}

// TestBackupCreateRestoreDrill walks the operator's path: a backup of a
// store with a customer, a restore into another store (refused without
// the current erasure journal, then done with it) whose customer is there
// and whose audit log ends with the restore, and a drill recorded in the
// live store.
func TestBackupCreateRestoreDrill(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	dataDir := filepath.Join(dir, "data")
	masterKey := "1:" + vault.GenerateKey()
	cfg := config.Config{Listen: "127.0.0.1:0", DataDir: dataDir, LogLevel: "warn", LogFormat: "text", FollowInterval: time.Second,
		ShutdownTimeout: time.Second, GPCLastUpdate: "2026-11-28", MasterKey: masterKey, Controller: config.Controller{Name: "Test Co"},
		Backup: config.Backup{Every: 24 * time.Hour, Keep: "7d,4w,12m", DrillEvery: 168 * time.Hour},
		// The demo staff's passwords at the cheapest argon2id cost: the
		// production cost takes seconds per hash under -race.
		PasswordMemoryMiB: 8, PasswordTime: 1}
	// A migrated store to start from: this tests backups, not migrating.
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		t.Fatal(err)
	}
	apptest.CopySQLiteStore(t, filepath.Join(dataDir, "steward.db"))
	a, err := app.Open(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.SeedDemo(ctx); err != nil {
		t.Fatal(err)
	}
	subject, err := a.SeedDemoCustomer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	a.Close()

	identity := filepath.Join(dir, "offline.key")
	out, _, err := runConnectorCLI(nil, "backup", "keygen", "--out", identity)
	if err != nil {
		t.Fatal(err)
	}
	recipient := strings.TrimSpace(out)
	backups := filepath.Join(dir, "backups")
	env := map[string]string{"STEWARD_DATA_DIR": dataDir, "STEWARD_MASTER_KEY": masterKey}
	out, stderr, err := runConnectorCLI(env, "backup", "create", "--to", backups, "--recipient", recipient)
	if err != nil {
		t.Fatalf("create: %v\n%s", err, stderr)
	}
	id := strings.TrimSpace(out)
	if _, err := backup.ParseID(id); err != nil {
		t.Fatalf("create printed %q, want the backup's id", out)
	}
	if _, _, err := runConnectorCLI(env, "backup", "create", "--to", backups, "--recipient", "age1nope"); err == nil {
		t.Fatal("create accepted a bad recipient")
	}

	out, stderr, err = runConnectorCLI(env, "backup", "verify", "--from", backups, "--identity", identity)
	if err != nil || !strings.Contains(out, "decrypted contents verify") || !strings.Contains(out, "the audit log (") {
		t.Fatalf("verify with identity: %v\n%s%s", err, out, stderr)
	}

	// Into a new database, keeping the data directory's keys.
	restoredDB := "sqlite:" + filepath.Join(dir, "restored.db")
	restoreEnv := map[string]string{"STEWARD_DATA_DIR": dataDir, "STEWARD_MASTER_KEY": masterKey, "STEWARD_DATABASE": restoredDB}
	elsewhere := map[string]string{"STEWARD_DATA_DIR": dataDir, "STEWARD_MASTER_KEY": masterKey, "STEWARD_DATABASE": restoredDB,
		"STEWARD_ERASURE_JOURNAL": filepath.Join(dir, "empty-journal")}
	if _, _, err := runConnectorCLI(elsewhere, "backup", "restore", "--from", backups, "--identity", identity); err == nil ||
		!strings.Contains(err.Error(), "--accept-missing-erasures") {
		t.Fatalf("restore with an empty journal: %v, want a refusal", err)
	}
	out, stderr, err = runConnectorCLI(restoreEnv, "backup", "restore", "--from", backups, "--identity", identity)
	if err != nil {
		t.Fatalf("restore: %v\n%s", err, stderr)
	}
	if !strings.Contains(out, "restored backup "+id) {
		t.Fatalf("restore printed %q", out)
	}
	restored, err := db.Open(ctx, restoredDB, dataDir)
	if err != nil {
		t.Fatal(err)
	}
	var events int
	var last string
	if err := restored.QueryRowContext(ctx, `SELECT count(*) FROM consent_events WHERE subject_id = $1`, subject).Scan(&events); err != nil || events == 0 {
		t.Fatalf("restored events of the customer: %d %v", events, err)
	}
	if err := restored.QueryRowContext(ctx, `SELECT action FROM audit_entries ORDER BY seq DESC LIMIT 1`).Scan(&last); err != nil || last != "backup.restored" {
		t.Fatalf("the restored audit log ends with %q (%v)", last, err)
	}
	restored.Close()
	if _, _, err := runConnectorCLI(restoreEnv, "backup", "restore", "--from", backups, "--identity", identity); err == nil {
		t.Fatal("a second restore into a store that holds data was accepted")
	}

	out, stderr, err = runConnectorCLI(env, "backup", "drill", "--from", backups, "--identity", identity)
	if err != nil || !strings.Contains(out, "drill of backup "+id+" passed: RTO") {
		t.Fatalf("drill: %v\n%s%s", err, out, stderr)
	}
	live, err := db.Open(ctx, "", dataDir)
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	st, err := recovery.CurrentStatus(ctx, live)
	if err != nil || st.LastBackup == nil || st.LastBackup.BackupID != id || st.LastDrill == nil || st.LastDrill.RTO <= 0 {
		t.Fatalf("status after create and drill: %+v %v", st, err)
	}
}
