package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/steward-dev/steward/internal/app"
	"github.com/steward-dev/steward/internal/config"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/vault"
)

// errUsage marks errors already explained on stderr by the flag package.
var errUsage = errors.New("usage")

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, env *environment, args []string) error
}

// environment is what a command may touch: no globals.
type environment struct {
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

func commands() []command {
	return []command{
		{"serve", "run the server (--demo seeds a demo catalog and prints keys)", runServe},
		{"migrate", "apply database migrations and exit", runMigrate},
		{"apikey", "manage API keys: apikey create --scope SCOPE [--property KEY]", runAPIKey},
		{"receipt", "verify a consent receipt: receipt verify [--jwks URL|FILE] FILE|-", runReceipt},
		{"tcf", "IAB TCF: tcf decode STRING | tcf encode < JSON | tcf gvl import FILE", runTCF},
		{"audit", "audit log: audit verify [--checkpoint FILE]", runAudit},
		{"ledger", "consent ledger: ledger verify [--checkpoint FILE]", runLedger},
		{"keys", "vault keys: keys generate | keys status | keys rotate --to VERSION", runKeys},
		{"staff", "staff accounts: staff create --email EMAIL --name NAME [--role ROLE]", runStaff},
		{"connector", "company databases: connector check FILE | connector preview FILE --external-id ID", runConnector},
		{"bench", "measure this build: bench decide | bench ingest", runBench},
		{"version", "print the version", runVersion},
	}
}

// run is the whole program: main passes it the process's arguments,
// environment and standard streams, so that tests can call it too.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	env := &environment{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stdout)
		if len(args) == 0 {
			return errUsage
		}
		return flag.ErrHelp
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, env, args[1:])
		}
	}
	usage(stderr)
	return fmt.Errorf("unknown command %q", args[0])
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: steward COMMAND [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'steward COMMAND --help' for the flags of a command.")
}

// newFlags returns a flag set that writes its usage to stderr.
func newFlags(env *environment, name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	fs.Usage = func() {
		fmt.Fprintf(env.stderr, "Usage: steward %s\n\nFlags:\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// openStore loads the configuration of a command whose flags are parsed,
// and opens and migrates the store it names.
func openStore(ctx context.Context, env *environment, loader *config.Loader) (*db.DB, config.Config, error) {
	cfg, err := loader.Load(env.getenv)
	if err != nil {
		return nil, cfg, err
	}
	store, err := app.OpenStore(ctx, cfg)
	return store, cfg, err
}

// openVault opens a command's store and its vault (sealed when no master
// key is configured); close the vault, then the store.
func openVault(ctx context.Context, env *environment, loader *config.Loader) (*db.DB, *vault.Vault, error) {
	store, cfg, err := openStore(ctx, env, loader)
	if err != nil {
		return nil, nil, err
	}
	ring, err := app.LoadKeyring(cfg)
	if err == nil {
		var v *vault.Vault
		if v, err = vault.Open(ctx, vault.Config{DB: store, Keyring: ring, Logger: slog.New(slog.NewTextHandler(env.stderr, nil))}); err == nil {
			return store, v, nil
		}
	}
	store.Close()
	return nil, nil, err
}

// parse parses flags, mapping usage errors to errUsage.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return flag.ErrHelp
		}
		return errUsage
	}
	return nil
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
