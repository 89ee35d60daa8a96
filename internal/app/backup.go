package app

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/backup"
	"github.com/steward-dev/steward/internal/backup/target"
	"github.com/steward-dev/steward/internal/config"
	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/dsr"
	"github.com/steward-dev/steward/internal/erasure"
	"github.com/steward-dev/steward/internal/incident"
	"github.com/steward-dev/steward/internal/jobs"
	"github.com/steward-dev/steward/internal/receipt"
	"github.com/steward-dev/steward/internal/recovery"
	"github.com/steward-dev/steward/internal/vault"
)

// OpenJournal opens the erasure journal (--erasure-journal, or beside the
// data directory) signed with the backup signing key, which it also
// returns; entries signed by trusted keys (an earlier server's, after a
// restore onto a new machine) are accepted too.
func OpenJournal(ctx context.Context, cfg config.Config, trusted ...ed25519.PublicKey) (*erasure.Journal, ed25519.PrivateKey, error) {
	key, err := backup.LoadOrCreateSigningKey(cfg.DataDir)
	if err != nil {
		return nil, nil, err
	}
	spec := cfg.ErasureJournal
	if spec == "" {
		spec = erasure.DefaultDir(cfg.DataDir)
	}
	t, err := target.Open(ctx, spec)
	if err != nil {
		return nil, nil, fmt.Errorf("--erasure-journal: %w", err)
	}
	return erasure.Open(t, key, erasure.Options{Trusted: trusted}), key, nil
}

// publishedKeys is the JWKS the server publishes: the receipt signing
// key's set and the backup signing key, which also signs the erasure
// journal.
func publishedKeys(receipts []byte, backupKey ed25519.PublicKey) ([]byte, error) {
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(receipts, &set); err != nil {
		return nil, fmt.Errorf("published keys: %w", err)
	}
	set.Keys = append(set.Keys, jose.JSONWebKey{Key: backupKey, KeyID: backup.KeyID(backupKey), Algorithm: "EdDSA", Use: "sig"})
	return json.Marshal(set)
}

// backupJobs are the scheduled backups (with pruning by --backup-keep),
// when --backup-to is set.
func backupJobs(cfg config.Config, svc *recovery.Service, log *slog.Logger) ([]jobs.Periodic, error) {
	if cfg.Backup.To == "" {
		return nil, nil
	}
	recipients, err := backup.ParseRecipients(cfg.Backup.Recipients)
	if err != nil {
		return nil, fmt.Errorf("--backup-recipient: %w", err)
	}
	keep, err := backup.ParseKeepPolicy(cfg.Backup.Keep)
	if err != nil {
		return nil, fmt.Errorf("--backup-keep: %w", err)
	}
	return []jobs.Periodic{{Name: "backup.create", Interval: cfg.Backup.Every, Run: func(ctx context.Context) error {
		t, err := target.Open(ctx, cfg.Backup.To)
		if err != nil {
			return err
		}
		ctx = audit.WithActor(ctx, audit.System())
		if _, err := svc.Create(ctx, t, recipients); err != nil {
			return err
		}
		dropped, err := backup.Prune(ctx, t, keep, time.Now())
		if err != nil {
			return fmt.Errorf("prune backups: %w", err)
		}
		if len(dropped) > 0 {
			log.Info("backups pruned", "dropped", len(dropped), "keep", keep.String())
		}
		return nil
	}}}, nil
}

// OpenRecovery opens what taking a backup needs, for `steward backup
// create` and `backup drill`: the live store (migrated), its audit log,
// the erasure journal and the backup signing key.
func OpenRecovery(ctx context.Context, cfg config.Config, log *slog.Logger) (*recovery.Service, *db.DB, error) {
	store, err := OpenStore(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	svc, err := openRecovery(ctx, cfg, store, log)
	if err != nil {
		store.Close()
		return nil, nil, err
	}
	return svc, store, nil
}

func openRecovery(ctx context.Context, cfg config.Config, store *db.DB, log *slog.Logger) (*recovery.Service, error) {
	journal, key, err := OpenJournal(ctx, cfg)
	if err != nil {
		return nil, err
	}
	auditLog, err := audit.New(audit.Config{DB: store})
	if err != nil {
		return nil, err
	}
	return recovery.New(recovery.Config{DB: store, Journal: journal, Key: key, Audit: auditLog, Log: log})
}

// ReplayDeps opens, on a restored store, what replaying erasures needs: the
// vault (sealed without a master key: destroying a key needs none), the
// consent ledger (not following), requests and, unless withSystems is
// false (a drill), the connected systems. close releases them.
func ReplayDeps(ctx context.Context, cfg config.Config, store *db.DB, log *slog.Logger, withSystems bool) (erasure.Deps, *audit.Log, func(), error) {
	var closers []func() error
	closeAll := func() {
		for i := len(closers) - 1; i >= 0; i-- {
			_ = closers[i]()
		}
	}
	fail := func(err error) (erasure.Deps, *audit.Log, func(), error) {
		closeAll()
		return erasure.Deps{}, nil, func() {}, err
	}
	auditLog, err := audit.New(audit.Config{DB: store})
	if err != nil {
		return fail(err)
	}
	key, err := LoadSigningKey(cfg)
	if err != nil {
		return fail(err)
	}
	signer, err := receipt.NewSigner(key)
	if err != nil {
		return fail(err)
	}
	ledger, err := consent.Open(ctx, consent.Config{DB: store, Signer: signer, Logger: log, FollowInterval: -1, Audit: auditLog})
	if err != nil {
		return fail(err)
	}
	closers = append(closers, ledger.Close)
	ring, err := LoadKeyring(cfg)
	if err != nil {
		return fail(err)
	}
	v, err := vault.Open(ctx, vault.Config{DB: store, Keyring: ring, Logger: log, Audit: auditLog})
	if err != nil {
		return fail(err)
	}
	closers = append(closers, v.Close)
	incidents, err := incident.New(incident.Config{DB: store, Audit: auditLog, Logger: log})
	if err != nil {
		return fail(err)
	}
	deps := erasure.Deps{Vault: v, Ledger: ledger, Incidents: incidents, Getenv: cfg.Getenv}
	if withSystems {
		box, err := v.SecretBox("dsr")
		if err != nil && !errors.Is(err, vault.ErrSealed) {
			return fail(err)
		}
		if err == nil {
			requests, err := dsr.NewService(dsr.Config{DB: store, Secrets: box, Audit: auditLog})
			if err != nil {
				return fail(err)
			}
			deps.Requests = requests
		}
		systems, err := LoadConnectors(cfg.ConnectorsDir)
		if err != nil {
			return fail(err)
		}
		deps.Connectors = systems.SQL
	}
	return deps, auditLog, closeAll, nil
}

// lastBackups reads when the newest backup and drill succeeded, for the
// metrics; a scrape reads the store at most every few seconds.
func lastBackups(store *db.DB) func() (backup, drill time.Time) {
	var (
		mu                    sync.Mutex
		read                  time.Time
		lastBackup, lastDrill time.Time
	)
	return func() (time.Time, time.Time) {
		mu.Lock()
		defer mu.Unlock()
		if time.Since(read) < 5*time.Second {
			return lastBackup, lastDrill
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if run, ok, err := recovery.LastSuccess(ctx, store, recovery.KindBackup); err == nil {
			lastBackup = time.Time{}
			if ok {
				lastBackup = run.FinishedAt
			}
		}
		if run, ok, err := recovery.LastSuccess(ctx, store, recovery.KindDrill); err == nil {
			lastDrill = time.Time{}
			if ok {
				lastDrill = run.FinishedAt
			}
		}
		read = time.Now()
		return lastBackup, lastDrill
	}
}
