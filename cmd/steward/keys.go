package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/config"
	"github.com/steward-dev/steward/internal/vault"
)

// runKeys manages the vault's key-encryption keys.
func runKeys(ctx context.Context, env *environment, args []string) error {
	usage := "Usage: steward keys generate | keys status [flags] | keys rotate --to VERSION [--retire OLD] [flags]"
	if len(args) == 0 {
		fmt.Fprintln(env.stderr, usage)
		return errUsage
	}
	switch args[0] {
	case "generate":
		fs := newFlags(env, "keys generate", "keys generate\n\nPrints a new key, to add as \"VERSION:KEY\" to every replica's key file.")
		if err := parse(fs, args[1:]); err != nil {
			return err
		}
		fmt.Fprintln(env.stdout, vault.GenerateKey())
		return nil
	case "status", "rotate":
	default:
		fmt.Fprintln(env.stderr, usage)
		return errUsage
	}
	synopsis := "keys status [flags]\n\nPrints the key versions in the keyring and how many data keys each wraps."
	if args[0] == "rotate" {
		synopsis = "keys rotate --to VERSION [--retire OLD] [flags]\n\nRewraps every data key under one version of the keyring."
	}
	fs := newFlags(env, "keys "+args[0], synopsis)
	loader := config.RegisterOnly(fs, config.VaultSettings()...)
	var to, retire *int
	if args[0] == "rotate" {
		to = fs.Int("to", 0, "the key version to rewrap every data key under (it must be in the keyring)")
		retire = fs.Int("retire", 0, "retire this old version once nothing uses it")
	}
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	store, v, err := openVault(ctx, env, loader)
	if err != nil {
		return err
	}
	defer store.Close()
	defer v.Close()
	if args[0] == "rotate" {
		if *to < 1 {
			return fmt.Errorf("--to: give the key version to rotate to")
		}
		p, err := v.RotateKEK(ctx, *to, func(p vault.RotationProgress) {
			fmt.Fprintf(env.stderr, "rewrapped %d of %d data keys (%s)\n", p.Rewrapped, p.Total, p.Elapsed.Round(1e6))
		})
		if err != nil {
			return err
		}
		fmt.Fprintf(env.stdout, "every data key is wrapped under version %d (%d rewrapped in %s)\n", p.Version, p.Rewrapped, p.Elapsed.Round(1e6))
		log, err := audit.New(audit.Config{DB: store})
		if err != nil {
			return err
		}
		if _, err := log.Append(ctx, audit.Entry{Actor: audit.System(), Action: "keys.rotate",
			Details: audit.MustDetails(map[string]any{"version": p.Version, "rewrapped": p.Rewrapped, "via": "cli"})}); err != nil {
			return fmt.Errorf("the rotation is done, but the audit log cannot be written: %w", err)
		}
		if *retire > 0 {
			if err := v.Retire(ctx, *retire); err != nil {
				return err
			}
			if _, err := log.Append(ctx, audit.Entry{Actor: audit.System(), Action: "keys.retire",
				Details: audit.MustDetails(map[string]any{"version": *retire, "via": "cli"})}); err != nil {
				return fmt.Errorf("version %d is retired, but the audit log cannot be written: %w", *retire, err)
			}
			fmt.Fprintf(env.stdout, "version %d is retired: remove it from every replica's key file, then destroy it\n", *retire)
		}
		return nil
	}
	status, err := v.KeyStatus(ctx)
	if err != nil {
		return err
	}
	out, _ := json.MarshalIndent(status, "", "  ")
	fmt.Fprintf(env.stdout, "%s\n", out)
	return nil
}
