package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/steward-dev/steward/internal/app"
	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/config"
	"github.com/steward-dev/steward/internal/connector/drift"
	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/scanner"
)

// urlList is a flag given once per URL.
type urlList []string

func (u *urlList) String() string { return strings.Join(*u, ",") }

func (u *urlList) Set(v string) error {
	*u = append(*u, v)
	return nil
}

// errViolations fails `steward scan --fail-on violation`; errDrift fails
// `--fail-on drift`.
var (
	errViolations = errors.New("violations found")
	errDrift      = errors.New("undeclared trackers found")
)

// runScan scans a property's pages in every consent state with Chromium
// and stores the report: `steward scan --property KEY [--url URL ...]
// [--pages N] [--fail-on violation] [--chrome PATH] [--json]`.
func runScan(ctx context.Context, env *environment, args []string) error {
	fs := newFlags(env, "scan", "scan --property KEY [--url URL ...] [--pages N] [--fail-on violation] [--chrome PATH] [--json] [flags]\n\n"+
		"Loads the property's pages (its sitemap, else the links within its declared domains) in a headless\n"+
		"Chromium once per consent state: no choice yet, after \"Reject all\", after \"Accept all\", and with each\n"+
		"purpose alone. Prints what appeared before consent or after its purpose was refused (violations), what\n"+
		"is unclassified, and the scripts to tag; stores the report for the console. No form is ever submitted.\n"+
		"Undeclared trackers (unclassified, or known only from the Open Cookie Database) are recorded as inventory\n"+
		"drift, as the console's and the daily scans do.")
	loader := config.RegisterOnly(fs, config.StoreSettings("public-url", "scan-chrome")...)
	property := fs.String("property", "", "the property's key (required)")
	var urls urlList
	fs.Var(&urls, "url", "a page to start from, within the property's domains (repeat for more; default: https:// of each declared domain)")
	pages := fs.Int("pages", scanner.DefaultPages, fmt.Sprintf("the most pages visited per consent state (at most %d)", scanner.MaxPages))
	failOn := fs.String("fail-on", "", `"violation" or "drift": exit with status 1 when the scan finds violations, or undeclared trackers (for CI)`)
	chrome := fs.String("chrome", "", "Chromium's path (default: --scan-chrome, else chromium or google-chrome on PATH)")
	timeout := fs.Duration("timeout", 15*time.Minute, "the longest the whole scan may take; what is left is reported as cut short")
	asJSON := fs.Bool("json", false, "print the whole report as JSON instead of the summary")
	if err := parse(fs, args); err != nil {
		return err
	}
	switch {
	case *property == "":
		return errors.New("--property: required: the key of the property to scan")
	case *failOn != "" && *failOn != "violation" && *failOn != "drift":
		return fmt.Errorf("--fail-on: must be violation or drift, not %q", *failOn)
	case *pages < 1 || *pages > scanner.MaxPages:
		return fmt.Errorf("--pages: must be 1 to %d", scanner.MaxPages)
	case *timeout <= 0:
		return errors.New("--timeout: must be positive")
	}
	cfg, err := loader.Load(env.getenv)
	if err != nil {
		return err
	}
	// Chromium first: without it nothing else is worth opening.
	chromePath, err := scanner.FindChrome(cmp.Or(*chrome, cfg.ScanChrome))
	if err != nil {
		return err
	}
	store, err := app.OpenStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer store.Close()
	catalog, err := consent.ReadVocabulary(ctx, store)
	if err != nil {
		return err
	}
	log, err := audit.New(audit.Config{DB: store})
	if err != nil {
		return err
	}
	findings, err := drift.New(drift.Config{DB: store, Audit: log, Catalog: catalog})
	if err != nil {
		return err
	}
	recordDrift := func(ctx context.Context, report *scanner.Report) error {
		_, err := findings.Record(ctx, drift.TrackerResult(report))
		return err
	}
	scans, err := scanner.New(scanner.Config{DB: store, Audit: log, Catalog: catalog, PublicURL: cfg.PublicURL,
		Options: scanner.Options{Chrome: chromePath, Pages: *pages, Timeout: *timeout}, Recorded: recordDrift})
	if err != nil {
		return err
	}
	defer scans.Close()
	run, report, err := scans.Scan(ctx, *property, urls, scanner.Options{}, scanner.TriggerCLI)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(env.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(report); err != nil {
			return err
		}
	} else {
		printScan(env, run, report)
	}
	if *failOn == "violation" && len(report.Violations) > 0 {
		return fmt.Errorf("%w: %d on %s (scan %s)", errViolations, len(report.Violations), *property, run.ID)
	}
	if n := undeclaredTrackers(report); *failOn == "drift" && n > 0 {
		return fmt.Errorf("%w: %d on %s (scan %s); declare or dismiss them on the console's drift page", errDrift, n, *property, run.ID)
	}
	return nil
}

// undeclaredTrackers counts the trackers of r the company does not declare.
func undeclaredTrackers(r *scanner.Report) int {
	n := 0
	for _, t := range r.Trackers {
		if drift.Undeclared(t) {
			n++
		}
	}
	return n
}

// printScan writes a report's summary: counts, violations, what to
// classify and the scripts to tag.
func printScan(env *environment, run scanner.Run, r *scanner.Report) {
	out := env.stdout
	fmt.Fprintf(out, "scan %s of %s: %d pages in %d consent states (%s), %s\n", run.ID, r.Property, len(r.Pages), len(r.States),
		strings.Join(r.States, ", "), r.FinishedAt.Sub(r.StartedAt).Round(time.Second))
	if r.Truncated {
		fmt.Fprintln(out, "cut short by the page or time limit: not every page was visited")
	}
	failed := 0
	for _, res := range r.Results {
		if res.Error != "" {
			failed++
		}
	}
	if failed > 0 {
		fmt.Fprintf(out, "%d page loads failed (see --json)\n", failed)
	}
	fmt.Fprintf(out, "\n%d violations\n", len(r.Violations))
	if len(r.Violations) > 0 {
		w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "STATE\tKIND\tNAME\tPURPOSE\tWHY\tPAGE")
		for _, v := range r.Violations {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", v.State, v.Kind, v.Name, cmp.Or(v.Purpose, "-"), v.Reason, v.Page)
		}
		w.Flush()
	}
	fmt.Fprintf(out, "\n%d trackers, %d unclassified, %d undeclared (inventory drift)\n", len(r.Trackers), r.Unclassified(), undeclaredTrackers(r))
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "KIND\tNAME\tDOMAIN\tPARTY\tPURPOSE\tBY")
	for _, t := range r.Trackers {
		party := "first"
		if t.ThirdParty {
			party = "third"
		}
		purpose := cmp.Or(t.Class.Purpose, "-")
		if t.Suggested != "" {
			purpose = "? " + t.Suggested
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", t.Kind, t.Name, cmp.Or(t.Domain, "-"), party, purpose, t.Class.Source)
	}
	w.Flush()
	if len(r.Suggestions) > 0 {
		fmt.Fprintf(out, "\nscripts that ran untagged; tag them so:\n")
		for _, s := range r.Suggestions {
			fmt.Fprintf(out, "  %s\n", s.Tag)
		}
	}
}
