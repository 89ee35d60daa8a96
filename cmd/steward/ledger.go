package main

import (
	"context"
	"fmt"
	"os"

	"github.com/steward-dev/steward/internal/app"
	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/config"
	"github.com/steward-dev/steward/internal/consent"
)

// runLedger verifies the consent ledger: `steward ledger verify
// [--checkpoint FILE] [--vkey KEY] [flags]`.
func runLedger(ctx context.Context, env *environment, args []string) error {
	if len(args) == 0 || args[0] != "verify" {
		fmt.Fprintln(env.stderr, "Usage: steward ledger verify [--checkpoint FILE] [flags]")
		return errUsage
	}
	fs := newFlags(env, "ledger verify", "ledger verify [--checkpoint FILE] [--vkey KEY] [--receipts [--jwks FILE]] [flags]")
	loader := config.RegisterOnly(fs, config.StoreSettings("signing-key")...)
	checkpoint := fs.String("checkpoint", "", "ledger checkpoint file to check against (default: ledger-checkpoints.txt in the data directory, when present)")
	receipts := fs.Bool("receipts", false, "also check each stored receipt's signature and that it says what its row says (finds rows edited after the latest checkpoint; one signature check per event)")
	jwks := fs.String("jwks", "", "with --receipts: JWKS of the receipt keys, a URL or a file (default: the receipt signing key of the configuration)")
	vkey := fs.String("vkey", "", "verifier key (name+hex+base64) that checkpoints must be signed with; default: the checkpoint key in the data directory")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	store, cfg, err := openStore(ctx, env, loader)
	if err != nil {
		return err
	}
	defer store.Close()
	opts := consent.VerifyOptions{CheckpointFile: *checkpoint}
	if opts.CheckpointFile == "" {
		if _, err := os.Stat(app.LedgerCheckpointFile(cfg)); err == nil {
			opts.CheckpointFile = app.LedgerCheckpointFile(cfg)
		}
	}
	if *vkey != "" {
		v, err := audit.NewVerifier(*vkey)
		if err != nil {
			return err
		}
		opts.Verifiers = append(opts.Verifiers, v)
	} else if pub, err := app.LedgerKey(cfg); err != nil {
		return err
	} else if pub != nil {
		opts.Keys = append(opts.Keys, pub)
	}
	if *receipts {
		if opts.ReceiptKeys, err = loadJWKS(ctx, env, *jwks, loader); err != nil {
			return err
		}
	}
	return consent.VerifyCommand(ctx, store, opts, env.stdout)
}
