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
	"github.com/steward-dev/steward/internal/audit"
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
	// subs, for a group such as "keys", are its commands; run then gets
	// the arguments from the subcommand's name on.
	subs []subcommand
}

// subcommand is one command of a group, for the group's help.
type subcommand struct {
	name    string // "generate", or "gvl import"
	summary string
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
		{name: "serve", summary: "run the server (--demo seeds a demo catalog and prints keys)", run: runServe},
		{name: "migrate", summary: "apply database migrations and exit", run: runMigrate},
		{name: "apikey", summary: "manage API keys", run: runAPIKey, subs: []subcommand{
			{"create", "make an API key and print it once: apikey create --scope SCOPE [--property KEY]"}}},
		{name: "receipt", summary: "consent receipts and breach notices", run: runReceipt, subs: []subcommand{
			{"verify", "check a consent receipt's or a breach notice's signature: receipt verify [--jwks URL|FILE] FILE|-"}}},
		{name: "tcf", summary: "IAB TCF strings and vendor lists", run: runTCF, subs: []subcommand{
			{"decode", "print a TC string as JSON: tcf decode STRING"},
			{"encode", "make a TC string from JSON on standard input: tcf encode < tc.json"},
			{"gvl import", "store a Global Vendor List: tcf gvl import FILE"}}},
		{name: "gpp", summary: "IAB Global Privacy Platform strings", run: runGPP, subs: []subcommand{
			{"decode", "print a GPP string as JSON: gpp decode STRING"},
			{"encode", "make a GPP string from JSON on standard input: gpp encode < gpp.json"}}},
		{name: "audit", summary: "the audit log", run: runAudit, subs: []subcommand{
			{"verify", "check the hash chain and signed checkpoints: audit verify [--checkpoint FILE], or a bundle offline: audit verify --bundle FILE [--key FILE]"},
			{"export", "write the evidence bundle of a time range: audit export --from TIME --to TIME --out FILE"}}},
		{name: "ledger", summary: "the consent ledger", run: runLedger, subs: []subcommand{
			{"verify", "check the hash chain, signed checkpoints and stored receipts: ledger verify [--checkpoint FILE] [--receipts]"}}},
		{name: "analytics", summary: "the consent analytics", run: runAnalytics, subs: []subcommand{
			{"rebuild", "recompute the analytics' rollups from the ledger: analytics rebuild"}}},
		{name: "keys", summary: "the vault's master keys", run: runKeys, subs: []subcommand{
			{"generate", "print a new key to add to the key file"},
			{"status", "show the key versions in use"},
			{"rotate", "rewrap every data key: keys rotate --to VERSION [--retire OLD]"}}},
		{name: "staff", summary: "staff accounts", run: runStaff, subs: []subcommand{
			{"create", "make a console account: staff create --email EMAIL --name NAME [--role ROLE]"}}},
		{name: "connector", summary: "the company's own databases", run: runConnector, subs: []subcommand{
			{"check", "compare a dataset file with its database: connector check FILE"},
			{"preview", "show what erasing a subject would change: connector preview FILE --external-id ID"}}},
		{name: "retention", summary: "destroy what is past its retention", run: runRetention, subs: []subcommand{
			{"run", "delete or pseudonymise what is past its retention: retention run [--dry-run]"}}},
		{name: "inventory", summary: "the data map", run: runInventory, subs: []subcommand{
			{"ropa", "print the record of processing (GDPR Art. 30): inventory ropa [--format csv|json]"}}},
		{name: "report", summary: "the signed monthly report", run: runReport, subs: []subcommand{
			{"monthly", "print the signed report of a month (JSON): report monthly --month YYYY-MM [--out FILE]"},
			{"verify", "check a saved monthly report's signature: report verify [--jwks URL|FILE] FILE|-"}}},
		{name: "scan", summary: "scan a property's pages for trackers in every consent state (needs Chromium)", run: runScan},
		{name: "backup", summary: "encrypted, signed backups of Steward's state", run: runBackup, subs: []subcommand{
			{"keygen", "write the offline identity and print its recipient: backup keygen --out FILE"},
			{"list", "list the backups at a target: backup list --from DIR|s3://BUCKET/PREFIX"},
			{"create", "take a backup now: backup create --to DIR|s3://BUCKET/PREFIX --recipient age1..."},
			{"verify", "check a backup's signature and chunks, and with --identity its contents: backup verify --from ... [--id ID]"},
			{"restore", "restore into an empty store, replaying later erasures: backup restore --from ... --identity FILE"},
			{"drill", "restore the newest backup into a throwaway store and time it: backup drill --from ... --identity FILE"}}},
		{name: "bench", summary: "measure this build", run: runBench, subs: []subcommand{
			{"decide", "decisions per second"},
			{"ingest", "events recorded per second"},
			{"startup", "time to start with a large ledger"}}},
		{name: "version", summary: "print the version", run: runVersion},
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
			if len(c.subs) > 0 {
				return runGroup(ctx, env, c, args[1:])
			}
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

// runGroup runs one command of a group, or answers the group's help:
// asked for (--help, on stdout, exit 0) or needed (on stderr, exit 2).
func runGroup(ctx context.Context, env *environment, c command, args []string) error {
	if len(args) > 0 && isHelp(args[0]) {
		groupUsage(env.stdout, c)
		return flag.ErrHelp
	}
	if len(args) > 0 {
		for _, sub := range c.subs {
			if first, _, _ := strings.Cut(sub.name, " "); first == args[0] {
				return c.run(ctx, env, args)
			}
		}
	}
	if len(args) > 0 {
		fmt.Fprintf(env.stderr, "steward: unknown %s command %q\n\n", c.name, args[0])
	}
	groupUsage(env.stderr, c)
	return errUsage
}

func groupUsage(w io.Writer, c command) {
	fmt.Fprintf(w, "Usage: steward %s COMMAND [flags]\n\n%s. Commands:\n", c.name, strings.ToUpper(c.summary[:1])+c.summary[1:])
	for _, sub := range c.subs {
		fmt.Fprintf(w, "  %-10s %s\n", sub.name, sub.summary)
	}
	fmt.Fprintf(w, "\nRun 'steward %s COMMAND --help' for the flags of a command.\n", c.name)
}

func isHelp(arg string) bool {
	switch arg {
	case "-h", "-help", "--h", "--help", "help":
		return true
	}
	return false
}

// helpOutput sends a flag set's usage to stdout when help was asked for,
// and to stderr (with the parse error) otherwise.
type helpOutput struct {
	stdout, stderr io.Writer
	asked          bool
}

func (h *helpOutput) Write(p []byte) (int, error) {
	if h.asked {
		return h.stdout.Write(p)
	}
	return h.stderr.Write(p)
}

// newFlags returns a flag set of a command: its errors go to stderr, its
// help, when asked for, to stdout.
func newFlags(env *environment, name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(&helpOutput{stdout: env.stdout, stderr: env.stderr})
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: steward %s\n", synopsis)
		n := 0
		fs.VisitAll(func(*flag.Flag) { n++ })
		if n > 0 {
			fmt.Fprintf(fs.Output(), "\nFlags:\n")
			fs.PrintDefaults()
		}
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
		var log *audit.Log
		if log, err = audit.New(audit.Config{DB: store}); err == nil {
			// Every vault write is recorded, from the command line too.
			if v, err = vault.Open(ctx, vault.Config{DB: store, Keyring: ring, Audit: log, Logger: slog.New(slog.NewTextHandler(env.stderr, nil))}); err == nil {
				return store, v, nil
			}
		}
	}
	store.Close()
	return nil, nil, err
}

// parse parses flags, mapping usage errors to errUsage.
func parse(fs *flag.FlagSet, args []string) error {
	if out, ok := fs.Output().(*helpOutput); ok {
		out.asked = false
		for _, a := range args {
			if a == "--" {
				break
			}
			if a != "help" && isHelp(a) {
				out.asked = true
			}
		}
	}
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
