package recovery

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"os"
	"time"

	"filippo.io/age"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/backup/target"
	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/erasure"
)

// DrillOptions say which backups to drill and with what.
type DrillOptions struct {
	From       target.Target
	Trusted    []ed25519.PublicKey
	Identities []age.Identity
	Journal    *erasure.Journal
	// Replay opens, on the throwaway store, what replaying erasures needs:
	// the vault and the ledger. A drill never reaches the connected
	// systems: those are production, and a drill changes nothing there.
	Replay func(ctx context.Context, store *db.DB) (erasure.Deps, audit.Recorder, func(), error)
	// TempDir is where the throwaway store is made; empty: os.TempDir.
	TempDir string
	Now     func() time.Time
}

// DrillReport is how a drill went.
type DrillReport struct {
	Run
	Restored Restored
	// AuditEntries and LedgerEvents are what the restored store verified.
	AuditEntries, LedgerEvents int64
}

// Drill restores the newest complete backup into a throwaway SQLite store,
// replays the erasures written since, verifies the audit log and the
// consent ledger's chains, and reports the recovery time (RTO: from start
// to verified) and the data's age (RPO: the snapshot's age at the start).
// The throwaway store is deleted afterwards. A drill that fails says where.
func Drill(ctx context.Context, opts DrillOptions) (DrillReport, error) {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	start := now()
	rep := DrillReport{Run: Run{Kind: KindDrill, Target: opts.From.String(), StartedAt: start}}
	fail := func(err error) (DrillReport, error) {
		rep.FinishedAt, rep.OK, rep.Message = now(), false, err.Error()
		return rep, err
	}
	dir, err := os.MkdirTemp(opts.TempDir, "steward-drill-")
	if err != nil {
		return fail(fmt.Errorf("drill: %w", err))
	}
	defer os.RemoveAll(dir)
	store, err := db.Open(ctx, "", dir)
	if err != nil {
		return fail(fmt.Errorf("drill: open a throwaway store: %w", err))
	}
	defer store.Close()
	restored, err := Restore(ctx, store, RestoreOptions{From: opts.From, Trusted: opts.Trusted, Identities: opts.Identities, Journal: opts.Journal})
	rep.Restored, rep.BackupID = restored, restored.Manifest.ID
	if err != nil {
		return fail(fmt.Errorf("drill: %w", err))
	}
	rep.RPO = start.Sub(restored.Contents.Snapshot.TakenAt)
	if opts.Replay != nil {
		deps, log, closeDeps, err := opts.Replay(ctx, store)
		if err != nil {
			return fail(fmt.Errorf("drill: open the restored store's services: %w", err))
		}
		// The connected systems are production: a drill leaves them alone.
		deps.Connectors, deps.Requests = nil, nil
		rehearsal := restored
		rehearsal.Pending = make([]erasure.Entry, len(restored.Pending))
		for i, e := range restored.Pending {
			e.Systems = nil
			rehearsal.Pending[i] = e
		}
		_, err = Finish(audit.WithActor(ctx, audit.System()), rehearsal, deps, log, false)
		closeDeps()
		if err != nil {
			return fail(fmt.Errorf("drill: replay erasures: %w", err))
		}
	}
	auditReport, err := audit.Verify(ctx, store, audit.VerifyOptions{Now: now})
	if err != nil {
		return fail(fmt.Errorf("drill: verify the audit log: %w", err))
	}
	if !auditReport.OK() {
		return fail(fmt.Errorf("drill: the restored audit log does not verify: %s", auditReport.Message()))
	}
	ledgerReport, err := consent.Verify(ctx, store, consent.VerifyOptions{})
	if err != nil {
		return fail(fmt.Errorf("drill: verify the consent ledger: %w", err))
	}
	if !ledgerReport.OK() {
		return fail(fmt.Errorf("drill: the restored consent ledger does not verify: %s", ledgerReport.Message()))
	}
	for table, want := range restored.Contents.Snapshot.Tables {
		if got := restored.Loaded.Tables[table]; got != want {
			return fail(fmt.Errorf("drill: table %s: %d rows restored, the backup says %d", table, got, want))
		}
	}
	rep.AuditEntries, rep.LedgerEvents = auditReport.Verified, ledgerReport.Verified+ledgerReport.Legacy
	rep.FinishedAt, rep.OK = now(), true
	rep.RTO = rep.FinishedAt.Sub(start)
	return rep, nil
}
