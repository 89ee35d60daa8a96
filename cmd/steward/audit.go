package main

import (
	"context"
	"fmt"
	"os"

	"github.com/steward-dev/steward/internal/app"
	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/config"
)

// runAudit verifies the audit log: `steward audit verify [--checkpoint FILE]
// [--strict]`.
func runAudit(ctx context.Context, env *environment, args []string) error {
	if len(args) == 0 || args[0] != "verify" {
		fmt.Fprintln(env.stderr, "Usage: steward audit verify [--checkpoint FILE] [--strict] [flags]")
		return errUsage
	}
	fs := newFlags(env, "audit verify", "audit verify [--checkpoint FILE] [--strict] [flags]")
	loader := config.RegisterOnly(fs, config.StoreSettings("audit-checkpoint-file")...)
	checkpoint := fs.String("checkpoint", "", "checkpoint file to check against (default: --audit-checkpoint-file, or audit-checkpoints.txt in the data directory, when present)")
	strict := fs.Bool("strict", false, "fail when entries that no signed checkpoint covers are older than --grace (by default they are only reported)")
	grace := fs.Duration("grace", audit.DefaultGrace, "with --strict, how old uncovered entries may be")
	vkey := fs.String("vkey", "", "verifier key (name+hex+base64) that checkpoints must be signed with; without it the keys recorded in the database are trusted")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	store, cfg, err := openStore(ctx, env, loader)
	if err != nil {
		return err
	}
	defer store.Close()
	// A configured file must be there (a missing witness is a finding);
	// the data directory's is checked when present.
	file := *checkpoint
	if file == "" && cfg.AuditCheckpointFile != "" {
		file = cfg.AuditCheckpointFile
	} else if file == "" {
		if _, err := os.Stat(app.CheckpointFile(cfg)); err == nil {
			file = app.CheckpointFile(cfg)
		}
	}
	opts := audit.VerifyOptions{CheckpointFile: file, Strict: *strict, Grace: *grace}
	if *vkey != "" {
		opts.VerifierKeys = append(opts.VerifierKeys, *vkey)
	}
	return audit.VerifyCommand(ctx, store, opts, env.stdout)
}
