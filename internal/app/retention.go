package app

import (
	"context"
	"errors"
	"log/slog"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/config"
	"github.com/steward-dev/steward/internal/connector"
	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/dsr"
	"github.com/steward-dev/steward/internal/erasure"
	"github.com/steward-dev/steward/internal/export"
	"github.com/steward-dev/steward/internal/receipt"
	"github.com/steward-dev/steward/internal/retention"
	"github.com/steward-dev/steward/internal/vault"
)

// OpenRetention opens what a retention run walks, without the server or the
// job runner, for `steward retention run`: the store, the audit log, the
// consent service (not following other replicas), the vault, requests,
// archives and the connected systems. close releases them.
func OpenRetention(ctx context.Context, cfg config.Config, log *slog.Logger) (svc *retention.Service, close func() error, err error) {
	var closers []func() error
	close = func() error {
		var err error
		for i := len(closers) - 1; i >= 0; i-- {
			err = errors.Join(err, closers[i]())
		}
		closers = nil
		return err
	}
	defer func() {
		if err != nil {
			_ = close()
		}
	}()
	store, err := OpenStore(ctx, cfg)
	if err != nil {
		return nil, close, err
	}
	closers = append(closers, store.Close)
	key, err := LoadSigningKey(cfg)
	if err != nil {
		return nil, close, err
	}
	signer, err := receipt.NewSigner(key)
	if err != nil {
		return nil, close, err
	}
	auditLog, err := audit.New(audit.Config{DB: store})
	if err != nil {
		return nil, close, err
	}
	ledger, err := consent.Open(ctx, consent.Config{DB: store, Signer: signer, Logger: log, FollowInterval: -1, Audit: auditLog})
	if err != nil {
		return nil, close, err
	}
	closers = append(closers, ledger.Close)
	ring, err := LoadKeyring(cfg)
	if err != nil {
		return nil, close, err
	}
	v, err := vault.Open(ctx, vault.Config{DB: store, Keyring: ring, Logger: log, Audit: auditLog})
	if err != nil {
		return nil, close, err
	}
	closers = append(closers, v.Close)
	requestBox, err := v.SecretBox("dsr")
	if err != nil {
		return nil, close, err
	}
	requests, err := dsr.NewService(dsr.Config{DB: store, Secrets: requestBox, Audit: auditLog})
	if err != nil {
		return nil, close, err
	}
	exportBox, err := v.SecretBox("export")
	if err != nil {
		return nil, close, err
	}
	archives, err := export.NewStore(export.StoreConfig{DB: store, Secrets: exportBox, Subjects: v})
	if err != nil {
		return nil, close, err
	}
	systems, err := LoadConnectors(cfg.ConnectorsDir)
	if err != nil {
		return nil, close, err
	}
	getenv := cfg.Getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	journal, _, err := OpenJournal(ctx, cfg)
	if err != nil {
		return nil, close, err
	}
	svc, err = newRetention(cfg, store, auditLog, ledger, v, requests, archives, systems.SQL, getenv, journal, log)
	return svc, close, err
}

// newRetention is the retention service over the parts of one process.
func newRetention(cfg config.Config, store *db.DB, log *audit.Log, ledger *consent.Service, v *vault.Vault, requests *dsr.Service,
	archives *export.Store, systems []*connector.Dataset, getenv func(string) string, journal *erasure.Journal, logger *slog.Logger) (*retention.Service, error) {
	return retention.New(retention.Config{DB: store, Audit: log, Catalog: ledger, Vault: v, Contacts: v,
		Connectors: systems, Getenv: getenv, Requests: requests, Archives: archives, RequestsPeriod: cfg.RetentionRequests,
		Ledger: ledger, LedgerProof: cfg.RetentionLedgerProof, Erasures: journal, Logger: logger})
}
