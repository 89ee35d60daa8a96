package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/steward-dev/steward/internal/app"
	"github.com/steward-dev/steward/internal/config"
	"github.com/steward-dev/steward/internal/connector"
	"github.com/steward-dev/steward/internal/connector/drift"
)

const connectorUsage = "Usage: steward connector check FILE [--sample] [--allow-undeclared] [--data-dir DIR | --database URL] | connector preview FILE --external-id ID [--email ADDRESS]"

// runConnector works with the dataset files that connect Steward to the
// company's own databases (see internal/connector/README.md).
func runConnector(ctx context.Context, env *environment, args []string) error {
	if len(args) > 0 {
		switch args[0] {
		case "check":
			return runConnectorCheck(ctx, env, args[1:])
		case "preview":
			return runConnectorPreview(ctx, env, args[1:])
		}
	}
	fmt.Fprintln(env.stderr, connectorUsage)
	return errUsage
}

// runConnectorCheck compares a dataset file with the live database it
// names, and fails when they differ or when the database holds personal
// data the file does not declare, so that a deployment can run it first.
func runConnectorCheck(ctx context.Context, env *environment, args []string) error {
	fs := newFlags(env, "connector check", "connector check FILE [--sample] [--allow-undeclared]\n\n"+
		"Checks the dataset FILE against its database, read-only: tables and columns exist, and each\n"+
		"column's type suits its erasure strategy. It also looks for columns that seem to hold personal\n"+
		"data (by their names; with --sample, by a few of their values, never printed or kept) but that\n"+
		"the file does not declare. The connection string comes from the environment variable that the\n"+
		"file names in dsn_env. Given Steward's store (--data-dir or --database, or their environment\n"+
		"variables), it honours the officers' decisions in the console: a column dismissed there as not\n"+
		"personal data is not counted; one declared there must still be added to the file.")
	sample := fs.Bool("sample", false, fmt.Sprintf("also read up to %d values of each undeclared text column whose name says nothing", drift.SampleRows))
	allow := fs.Bool("allow-undeclared", false, "report undeclared personal data as warnings, without failing")
	loader := config.RegisterOnly(fs, config.StoreSettings()...)
	file, err := parseOneFile(fs, args)
	if err != nil {
		return err
	}
	conn, ds, err := openConnector(ctx, env, file)
	if err != nil {
		return err
	}
	defer conn.Close()
	var decided map[drift.ColumnRef]drift.Finding
	if storeGiven(fs, env.getenv) {
		if decided, err = officersDecisions(ctx, env, loader, ds.Name); err != nil {
			return err
		}
	}
	mismatches, err := conn.Check(ctx)
	if err != nil {
		return err
	}
	n := 0
	for _, m := range mismatches {
		where := file
		if m.Line > 0 {
			where = fmt.Sprintf("%s:%d", file, m.Line)
		}
		if m.Warning {
			fmt.Fprintf(env.stdout, "%s: warning: %s\n", where, m)
			continue
		}
		n++
		fmt.Fprintf(env.stdout, "%s: %s\n", where, m)
	}
	undeclared, err := printDrift(ctx, env, file, conn, decided, *sample, *allow)
	if err != nil {
		return err
	}
	var problems []string
	if n > 0 {
		problems = append(problems, plural(n, "mismatch", "mismatches"))
	}
	if undeclared > 0 && !*allow {
		problems = append(problems, plural(undeclared, "undeclared personal data column", "undeclared personal data columns"))
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s: %s with the %s database of connector %s", file, strings.Join(problems, " and "), ds.Engine, ds.Name)
	}
	fmt.Fprintf(env.stdout, "%s: connector %s matches its %s database (%s)\n", file, ds.Name, ds.Engine, plural(len(ds.Tables), "table", "tables"))
	return nil
}

// printDrift prints the columns that look like personal data and that the
// file does not declare, and returns how many there are. A sample's
// values are never printed: only the share that matched.
func printDrift(ctx context.Context, env *environment, file string, conn *connector.Conn, decided map[drift.ColumnRef]drift.Finding,
	sample, allow bool) (int, error) {
	res, err := drift.Scan(ctx, conn, drift.ScanOptions{Sample: sample})
	if err != nil {
		return 0, err
	}
	prefix := file + ": "
	if allow {
		prefix += "warning: "
	}
	counted := 0
	for _, c := range res.Candidates {
		if f, ok := decided[drift.ColumnRef{Table: c.Table, Column: c.Column}]; ok && f.State == drift.Dismissed {
			fmt.Fprintf(env.stdout, "%s: table %s, column %s: dismissed in the console by %s on %s as not personal data; not counted\n",
				file, c.Table, c.Column, f.DecidedBy, decidedOn(f))
			continue
		}
		counted++
		why := "by its name"
		if c.Evidence == drift.ByValues {
			why = fmt.Sprintf("by its values: %.0f%% of a sample", c.Ratio*100)
		}
		next := "declare it in the file"
		if f, ok := decided[drift.ColumnRef{Table: c.Table, Column: c.Column}]; ok && f.State == drift.Declared {
			next = fmt.Sprintf("declared in the console as %s by %s on %s; add it to the file, which erasure follows",
				f.DeclaredCategory, f.DecidedBy, decidedOn(f))
		}
		fmt.Fprintf(env.stdout, "%sundeclared personal data: table %s, column %s looks like %s data (%s); %s\n",
			prefix, c.Table, c.Column, c.Category, why, next)
	}
	if res.Unsampled > 0 {
		fmt.Fprintf(env.stdout, "%swarning: %s could not be sampled in time; judged by name only\n", file,
			plural(res.Unsampled, "column", "columns"))
	}
	return counted, nil
}

// storeGiven tells whether the operator named Steward's store, by flag or
// environment; a check never opens (nor makes) the default one unasked.
func storeGiven(fs *flag.FlagSet, getenv func(string) string) bool {
	given := getenv("STEWARD_DATA_DIR") != "" || getenv("STEWARD_DATABASE") != "" || getenv("DATABASE_URL") != ""
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "data-dir" || f.Name == "database" {
			given = true
		}
	})
	return given
}

// officersDecisions reads the console's standing decisions on system's
// columns from Steward's store.
func officersDecisions(ctx context.Context, env *environment, loader *config.Loader, system string) (map[drift.ColumnRef]drift.Finding, error) {
	cfg, err := loader.Load(env.getenv)
	if err != nil {
		return nil, err
	}
	store, err := app.OpenStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer store.Close()
	return drift.Decided(ctx, store, system)
}

func decidedOn(f drift.Finding) string {
	if f.DecidedAt == nil {
		return "an unknown date"
	}
	return f.DecidedAt.Format("2006-01-02")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// runConnectorPreview prints what erasing a subject would do, row counts
// only, by running the erasure in a transaction it rolls back.
func runConnectorPreview(ctx context.Context, env *environment, args []string) error {
	fs := newFlags(env, "connector preview", "connector preview FILE --external-id ID [--email ADDRESS]\n\n"+
		"Prints the rows that erasing the subject would change, per table, column and action. The\n"+
		"erasure runs in a transaction that is rolled back: nothing changes, but it holds the same\n"+
		"locks while it runs.")
	var subject connector.Identifiers
	fs.Func("external-id", "the subject's id in the company's systems (repeatable)", func(v string) error {
		subject.ExternalIDs = append(subject.ExternalIDs, v)
		return nil
	})
	fs.Func("email", "the subject's email address (repeatable)", func(v string) error {
		subject.Emails = append(subject.Emails, v)
		return nil
	})
	file, err := parseOneFile(fs, args)
	if err != nil {
		return err
	}
	if len(subject.ExternalIDs) == 0 && len(subject.Emails) == 0 {
		return errors.New("--external-id or --email: name the subject to preview")
	}
	conn, _, err := openConnector(ctx, env, file)
	if err != nil {
		return err
	}
	defer conn.Close()
	report, err := conn.Erase(ctx, subject, true)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "TABLE\tCOLUMN\tACTION\tROWS\tLEGAL REASON")
	for _, s := range report.Steps {
		column := s.Column
		if column == "" {
			column = "-"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%s\n", s.Table, column, s.Action, s.Rows, s.LegalReason)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(env.stderr, "dry run: nothing was changed")
	return nil
}

// parseOneFile parses flags given before or after the one FILE argument.
func parseOneFile(fs *flag.FlagSet, args []string) (string, error) {
	var files []string
	for {
		if err := parse(fs, args); err != nil {
			return "", err
		}
		if fs.NArg() == 0 {
			break
		}
		files = append(files, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(files) != 1 {
		fs.Usage()
		return "", errUsage
	}
	return files[0], nil
}

func openConnector(ctx context.Context, env *environment, file string) (*connector.Conn, *connector.Dataset, error) {
	ds, err := connector.ParseFile(file)
	if err != nil {
		return nil, nil, err
	}
	conn, err := connector.Open(ctx, ds, env.getenv)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", file, err)
	}
	return conn, ds, nil
}
