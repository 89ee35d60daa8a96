package main

import (
	"context"
	"crypto/rand"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/steward-dev/steward/internal/backup"
	"github.com/steward-dev/steward/internal/backup/target"
)

// TestBackupKeygenListVerify: the offline identity is written once and
// only its recipient printed; list shows complete and incomplete backups;
// verify trusts the data directory's signing key, names a changed chunk,
// and with the identity checks the contents.
func TestBackupKeygenListVerify(t *testing.T) {
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
	out, stderr, err = runConnectorCLI(env, "backup", "verify", "--from", store, "--id", m.ID, "--identity", identity)
	if err != nil || !strings.Contains(out, "decrypted contents verify") {
		t.Fatalf("verify with identity: %v\n%s%s", err, out, stderr)
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
