package recovery

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/backup"
	"github.com/steward-dev/steward/internal/backup/snapshot"
	"github.com/steward-dev/steward/internal/backup/target"
	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/erasure"
)

// ContentReport is what CheckContents verified.
type ContentReport struct {
	JournalEntries             int
	Tables                     int
	Rows                       int64
	AuditEntries, LedgerEvents int64
}

// CheckContents checks what a backup holds, offline, for `backup verify
// --identity`: r is its plaintext (backup.Open) and m its manifest. The
// erasure journal it carries must verify against trusted (the backup
// signing keys) and match the manifest's count; its snapshot is loaded into
// a throwaway SQLite store (in tempDir, or os.TempDir), where the audit log
// must verify against its signed checkpoints, the consent ledger's chain
// must verify, and every table's rows must match the manifest.
func CheckContents(ctx context.Context, m backup.Manifest, r io.Reader, trusted []ed25519.PublicKey, tempDir string) (ContentReport, error) {
	var rep ContentReport
	var contents Contents
	if err := json.Unmarshal(m.Contents, &contents); err != nil || contents.Snapshot.SchemaVersion == 0 {
		return rep, fmt.Errorf("backup %s: its manifest does not describe a Steward snapshot", m.ID)
	}
	state, err := newStateReader(r)
	if err != nil {
		return rep, err
	}
	section, err := state.section(sectionErasures)
	if err != nil {
		return rep, err
	}
	dir, err := os.MkdirTemp(tempDir, "steward-verify-")
	if err != nil {
		return rep, err
	}
	defer os.RemoveAll(dir)
	// A journal that only reads: an empty target and a throwaway key,
	// trusting the backup signing keys.
	empty, err := target.OpenDir(filepath.Join(dir, "journal"))
	if err != nil {
		return rep, err
	}
	_, throwaway, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return rep, err
	}
	carried, err := erasure.Open(empty, throwaway, erasure.Options{Trusted: trusted}).ReadExport(section)
	if err != nil {
		return rep, fmt.Errorf("the erasure journal it carries: %w", err)
	}
	if rep.JournalEntries = len(carried); rep.JournalEntries != contents.Journal.Entries {
		return rep, fmt.Errorf("it carries %d erasure journal entries, its manifest says %d", rep.JournalEntries, contents.Journal.Entries)
	}
	if err := drain(section); err != nil {
		return rep, err
	}
	store, err := db.Open(ctx, "", filepath.Join(dir, "store"))
	if err != nil {
		return rep, err
	}
	defer store.Close()
	if err := store.MigrateTo(ctx, contents.Snapshot.SchemaVersion); err != nil {
		return rep, fmt.Errorf("prepare a store for schema %d: %w", contents.Snapshot.SchemaVersion, err)
	}
	if section, err = state.section(sectionSnapshot); err != nil {
		return rep, err
	}
	loaded, err := snapshot.Load(ctx, store, section)
	if err != nil {
		return rep, fmt.Errorf("its snapshot: %w", err)
	}
	if err := drain(section); err != nil {
		return rep, err
	}
	if err := state.end(); err != nil {
		return rep, err
	}
	for table, want := range contents.Snapshot.Tables {
		if got := loaded.Tables[table]; got != want {
			return rep, fmt.Errorf("table %s: %d rows, its manifest says %d", table, got, want)
		}
		rep.Rows += want
	}
	if rep.Tables = len(loaded.Tables); rep.Tables != len(contents.Snapshot.Tables) {
		return rep, fmt.Errorf("it holds %d tables, its manifest lists %d", len(loaded.Tables), len(contents.Snapshot.Tables))
	}
	ar, err := audit.Verify(ctx, store, audit.VerifyOptions{})
	if err != nil {
		return rep, fmt.Errorf("verify its audit log: %w", err)
	}
	if !ar.OK() {
		return rep, fmt.Errorf("its audit log does not verify: %s", ar.Message())
	}
	lr, err := consent.Verify(ctx, store, consent.VerifyOptions{})
	if err != nil {
		return rep, fmt.Errorf("verify its consent ledger: %w", err)
	}
	if !lr.OK() {
		return rep, fmt.Errorf("its consent ledger does not verify: %s", lr.Message())
	}
	rep.AuditEntries, rep.LedgerEvents = ar.Verified, lr.Verified+lr.Legacy
	return rep, nil
}
