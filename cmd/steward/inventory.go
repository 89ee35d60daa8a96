package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/steward-dev/steward/internal/app"
	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/config"
	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/inventory"
	"github.com/steward-dev/steward/internal/vault"
)

// runInventory prints the record of processing (GDPR Art. 30) built from
// the store's catalog, the dataset files and the vault's counts: `steward
// inventory ropa [--format csv|json]`. It reads the catalog without
// building the consent index, so it starts at once on any ledger.
func runInventory(ctx context.Context, env *environment, args []string) error {
	if len(args) == 0 || args[0] != "ropa" {
		fmt.Fprintln(env.stderr, "Usage: steward inventory ropa [--format csv|json] [flags]")
		return errUsage
	}
	fs := newFlags(env, "inventory ropa", "inventory ropa [--format csv|json] [flags]")
	loader := config.RegisterOnly(fs, config.StoreSettings("connectors", "controller-name", "controller-email", "controller-address",
		"controller-phone", "controller-url")...)
	format := fs.String("format", "json", "json or csv (RFC 4180, for spreadsheets)")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if *format != "json" && *format != "csv" {
		return fmt.Errorf("--format: must be json or csv, not %q", *format)
	}
	store, cfg, err := openStore(ctx, env, loader)
	if err != nil {
		return err
	}
	defer store.Close()
	systems, err := app.LoadConnectors(cfg.ConnectorsDir)
	if err != nil {
		return err
	}
	vocabulary, err := consent.ReadVocabulary(ctx, store)
	if err != nil {
		return err
	}
	log, err := audit.New(audit.Config{DB: store})
	if err != nil {
		return err
	}
	// The field counts need no key: a sealed vault counts them too.
	v, err := vault.Open(ctx, vault.Config{DB: store, Audit: log})
	if err != nil {
		return err
	}
	defer v.Close()
	svc, err := inventory.New(inventory.Config{DB: store, Audit: log, Catalog: vocabulary, Datasets: systems.SQL, HTTP: systems.HTTP, Vault: v,
		Controller: app.InventoryController(cfg)})
	if err != nil {
		return err
	}
	record, err := svc.ROPA(ctx)
	if err != nil {
		return err
	}
	if *format == "csv" {
		return inventory.WriteCSV(env.stdout, record)
	}
	enc := json.NewEncoder(env.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(record)
}
