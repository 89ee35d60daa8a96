package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/steward-dev/steward/internal/config"
	"github.com/steward-dev/steward/internal/tcf"
)

func runTCF(ctx context.Context, env *environment, args []string) error {
	switch {
	case len(args) >= 1 && args[0] == "decode":
		fs := newFlags(env, "tcf decode", "tcf decode STRING\n\nPrints the TC string STRING (IAB TCF v2) as JSON.")
		if err := parse(fs, args[1:]); err != nil {
			return err
		}
		if fs.NArg() != 1 {
			fs.Usage()
			return errUsage
		}
		return tcf.DecodeCommand(env.stdout, fs.Arg(0))
	case len(args) >= 1 && args[0] == "encode":
		fs := newFlags(env, "tcf encode", "tcf encode < tc.json\n\nReads a TC string's fields as JSON (as tcf decode prints them) and prints the TC string.")
		if err := parse(fs, args[1:]); err != nil {
			return err
		}
		if fs.NArg() != 0 {
			fs.Usage()
			return errUsage
		}
		return tcf.EncodeCommand(env.stdout, env.stdin)
	case len(args) >= 2 && args[0] == "gvl" && args[1] == "import":
		return runGVLImport(ctx, env, args[2:])
	case len(args) >= 2 && args[0] == "gvl" && isHelp(args[1]):
		fmt.Fprintln(env.stdout, "Usage: steward tcf gvl import [flags] FILE")
		return flag.ErrHelp
	default:
		fmt.Fprintln(env.stderr, "Usage: steward tcf decode STRING | steward tcf encode < tc.json | steward tcf gvl import [flags] FILE")
		return errUsage
	}
}

// runGVLImport stores an IAB Global Vendor List (v3 JSON, downloaded by an
// operator) so that Steward serves it to TCF banners.
func runGVLImport(ctx context.Context, env *environment, args []string) error {
	fs := newFlags(env, "tcf gvl import", "tcf gvl import [flags] FILE\n\nStores an IAB Global Vendor List (v3 JSON) for TCF banners to use.")
	loader := config.RegisterOnly(fs, config.StoreSettings()...)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return errUsage
	}
	body, err := os.ReadFile(fs.Arg(0))
	if err != nil {
		return fmt.Errorf("read vendor list: %w", err)
	}
	store, _, err := openStore(ctx, env, loader)
	if err != nil {
		return err
	}
	defer store.Close()
	stored, err := tcf.NewVendorLists(store, nil).Import(ctx, body)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "imported Global Vendor List version %d (TCF policy %d, %d vendors, updated %s)\n",
		stored.Version, stored.PolicyVersion, stored.Vendors, stored.LastUpdated)
	return nil
}
