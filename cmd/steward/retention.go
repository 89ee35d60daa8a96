package main

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/steward-dev/steward/internal/app"
	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/config"
	"github.com/steward-dev/steward/internal/retention"
)

// runRetention enforces retention by hand: `steward retention run
// [--dry-run] [flags]`.
func runRetention(ctx context.Context, env *environment, args []string) error {
	if len(args) == 0 || args[0] != "run" {
		fmt.Fprintln(env.stderr, "Usage: steward retention run [--dry-run] [flags]")
		return errUsage
	}
	fs := newFlags(env, "retention run", "retention run [--dry-run] [flags]\n\n"+
		"Destroys what is past its retention: vault fields, rows of the connected systems (their dataset\n"+
		"files' retention sections), closed requests and their archives (--retention-requests), and ledger\n"+
		"subjects past the proof period (--retention-ledger-proof); customers under a legal hold are kept.\n"+
		"Prints the counts per system, table and category, and records the report in the audit log.\n"+
		"With --dry-run it prints what would go and changes nothing.")
	loader := config.RegisterOnly(fs, config.VaultSettings("signing-key", "connectors", "retention-requests", "retention-ledger-proof")...)
	dryRun := fs.Bool("dry-run", false, "count what would go, change nothing")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	cfg, err := loader.Load(env.getenv)
	if err != nil {
		return err
	}
	svc, closeAll, err := app.OpenRetention(ctx, cfg, app.NewLogger(cfg, env.stderr))
	if err != nil {
		return err
	}
	defer closeAll()
	report, runErr := svc.Run(audit.WithActor(ctx, audit.System()), *dryRun)
	printReport(env, report)
	if runErr != nil {
		return fmt.Errorf("retention failed for %v: %w", report.Failed, runErr)
	}
	return nil
}

// printReport writes the counts of a run as a table.
func printReport(env *environment, r retention.Report) {
	verb := "went"
	if r.DryRun {
		verb = "would go"
	}
	fmt.Fprintf(env.stdout, "retention run %s at %s (%d customers under a legal hold kept)\n", r.ID, r.StartedAt.Format(time.RFC3339), r.Held)
	w := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "SYSTEM\tTABLE\tCATEGORY\tACTION\tROWS (%s)\tPAST\n", verb)
	for _, l := range r.Lines {
		past := ""
		if !l.Cutoff.IsZero() {
			past = "before " + l.Cutoff.Format(time.RFC3339)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d\t%s\n", l.System, dash(l.Table), dash(l.Category), l.Action, l.Rows, past)
	}
	_ = w.Flush()
	fmt.Fprintf(env.stdout, "%d in all %s\n", r.Total(), verb)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
