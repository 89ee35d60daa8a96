package main

import (
	"context"
	"fmt"

	"github.com/steward-dev/steward/internal/analytics"
	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/config"
)

// runAnalytics recomputes the consent analytics from the ledger:
// `steward analytics rebuild [flags]`.
func runAnalytics(ctx context.Context, env *environment, args []string) error {
	if len(args) == 0 || args[0] != "rebuild" {
		fmt.Fprintln(env.stderr, "Usage: steward analytics rebuild [flags]")
		return errUsage
	}
	fs := newFlags(env, "analytics rebuild", "analytics rebuild [flags]\n\n"+
		"Recomputes the consent analytics (the rollups the console's analytics page reads) from the ledger,\n"+
		"in one transaction that holds the ledger head: appends of a running server wait for it. Records\n"+
		"the rebuild in the audit log.")
	loader := config.RegisterOnly(fs, config.StoreSettings()...)
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	store, _, err := openStore(ctx, env, loader)
	if err != nil {
		return err
	}
	defer store.Close()
	log, err := audit.New(audit.Config{DB: store})
	if err != nil {
		return err
	}
	res, err := analytics.New(store, log).Rebuild(audit.WithActor(ctx, audit.System()))
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "rebuilt the consent analytics from the ledger in %s: %d choices in %d cells\n", res.Took.Round(1e6), res.Events, res.Cells)
	return nil
}
