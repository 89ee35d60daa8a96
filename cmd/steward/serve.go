package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"

	"github.com/steward-dev/steward/internal/apikey"
	"github.com/steward-dev/steward/internal/app"
	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/config"
	"github.com/steward-dev/steward/internal/jobs"
	"github.com/steward-dev/steward/internal/vault"
)

func runServe(ctx context.Context, env *environment, args []string) error {
	fs := newFlags(env, "serve", "serve [flags]")
	loader := config.Register(fs)
	demo := fs.Bool("demo", false, "seed a demo property, purposes, vendors and notice, and print demo API keys")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := loader.Load(env.getenv)
	if err != nil {
		return err
	}
	cfg.Demo = *demo
	log := app.NewLogger(cfg, env.stderr)
	if cfg.Demo && cfg.MasterKey == "" && cfg.MasterKeyFile == "" {
		// A demo should show the vault working; a real deployment keeps the
		// master key away from the data it protects.
		if cfg.MasterKeyFile, err = demoMasterKey(cfg.DataDir); err != nil {
			return err
		}
		log.Warn("demo: the vault's master key is kept in the data directory; never do this with real data", "file", cfg.MasterKeyFile)
	}
	a, err := app.Open(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	if *demo {
		keys, err := a.SeedDemo(ctx)
		if err != nil {
			return err
		}
		if keys.Customer, err = a.SeedDemoCustomer(ctx); err != nil {
			return err
		}
		if keys.Staff, err = a.SeedDemoStaff(ctx); err != nil {
			return err
		}
		printDemo(env, cfg, keys)
	}
	return a.ListenAndServe(ctx)
}

// demoMasterKey returns the demo's key file in dataDir, making it once.
func demoMasterKey(dataDir string) (string, error) {
	path := filepath.Join(dataDir, "demo-master.keys")
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return "", fmt.Errorf("create data directory: %w", err)
	}
	if err := os.WriteFile(path, []byte("# demo only: a real master key never sits next to the data\n1:"+vault.GenerateKey()+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write demo master key: %w", err)
	}
	return path, nil
}

func printDemo(env *environment, cfg config.Config, keys app.DemoKeys) {
	u := cfg.PublicURL
	fmt.Fprintf(env.stdout, `Steward is running with a demo catalog (property "demo").

  Demo page        %[1]s/demo   (the banner on a stand-in shop page; localhost works too)
  API              %[1]s/v1/   (OpenAPI: %[1]s/openapi.json)
  Receipt keys     %[1]s/.well-known/jwks.json
  Health           %[1]s/readyz   Metrics: %[5]s/metrics

  Admin key        %[2]s
  Decide key       %[3]s
  Ingest key       %[4]s   (public, for the "demo" property's web pages)

Try a decision:
  curl -s %[1]s/v1/decisions -H "Authorization: Bearer %[3]s" \
    -d '{"questions":[{"device":"dev-1","purpose":"analytics","jurisdiction":"DE"}]}'

These keys are shown once. Stop with Ctrl-C.
`, u, keys.Admin, keys.Decide, keys.Ingest, metricsBase(cfg))
	if len(keys.Staff) == 0 {
		return
	}
	fmt.Fprintf(env.stdout, "\nPrivacy portal    %s/privacy   (sign in as jo.demo@shop.example; without --smtp-host the email with the\n                  code is written to %s)\n", u, filepath.Join(cfg.DataDir, "demo-mail"))
	fmt.Fprintf(env.stdout, "Staff console     %s/admin   (demo customer: %s or jo.demo@shop.example)\n", u, keys.Customer)
	for _, s := range keys.Staff {
		fmt.Fprintf(env.stdout, "  %-17s %s  password %s\n  %-17s TOTP secret %s  (an authenticator app, or: oathtool --totp -b %s)\n",
			s.Role, s.Email, s.Password, "", s.TOTPSecret, s.TOTPSecret)
	}
}

// metricsBase is where /metrics is served: the internal address of
// --metrics-listen when set, else the public URL.
func metricsBase(cfg config.Config) string {
	if cfg.MetricsListen != "" {
		return "http://" + cfg.MetricsListen
	}
	return cfg.PublicURL
}

func runMigrate(ctx context.Context, env *environment, args []string) error {
	fs := newFlags(env, "migrate", "migrate [flags]\n\nApplies the database migrations (Steward's and the job queue's) and exits.")
	loader := config.RegisterOnly(fs, config.StoreSettings()...)
	if err := parse(fs, args); err != nil {
		return err
	}
	store, _, err := openStore(ctx, env, loader)
	if err != nil {
		return err
	}
	defer store.Close()
	// The job queue's tables (River's own migrations) go with Steward's.
	if err := jobs.Migrate(ctx, store, slog.New(slog.NewTextHandler(env.stderr, nil))); err != nil {
		return err
	}
	fmt.Fprintf(env.stderr, "migrations applied to %s\n", store.Location)
	return nil
}

func runAPIKey(ctx context.Context, env *environment, args []string) error {
	if len(args) == 0 || args[0] != "create" {
		fmt.Fprintln(env.stderr, "Usage: steward apikey create --scope ingest|record|decide|admin|reveal|disclose [--property KEY] [--label TEXT]")
		return errUsage
	}
	fs := newFlags(env, "apikey create", "apikey create --scope SCOPE [--property KEY] [flags]\n\nMakes an API key and prints it once; only its hash is stored.")
	loader := config.RegisterOnly(fs, config.VaultSettings()...)
	scope := fs.String("scope", "", "ingest (one property, public), record, decide, admin, reveal or disclose")
	property := fs.String("property", "", "the property an ingest key records events for")
	label := fs.String("label", "", "a note on what the key is for")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	s, err := apikey.ParseScope(*scope)
	if err != nil {
		return fmt.Errorf("--%w", err)
	}
	store, v, err := openVault(ctx, env, loader)
	if err != nil {
		return err
	}
	defer store.Close()
	defer v.Close()
	// A reveal key reads plaintext: making one takes the master key, which
	// openVault has checked against the store (an admin key over the API
	// cannot make one).
	if s == apikey.ScopeReveal && v.Sealed() {
		return errors.New("--scope reveal: a reveal key needs the master key; set STEWARD_MASTER_KEY or --master-key-file")
	}
	log, err := audit.New(audit.Config{DB: store})
	if err != nil {
		return err
	}
	plain, _, err := apikey.NewStore(store, nil).CreateRecorded(ctx, log, audit.System(), "cli", s, *property, *label)
	if err != nil {
		return err
	}
	fmt.Fprintln(env.stdout, plain)
	return nil
}

func runVersion(_ context.Context, env *environment, args []string) error {
	if err := parse(newFlags(env, "version", "version"), args); err != nil {
		return err
	}
	version := "(devel)"
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" {
		version = info.Main.Version
	}
	fmt.Fprintf(env.stdout, "steward %s\n", version)
	return nil
}
