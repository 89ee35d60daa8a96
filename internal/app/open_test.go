package app_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/app"
	"github.com/steward-dev/steward/internal/app/apptest"
	"github.com/steward-dev/steward/internal/config"
	"github.com/steward-dev/steward/internal/vault"
)

// TestOpenFailingMidwayReleasesEverything: an Open that fails after the
// store, the consent service, the vault, the outbox and the checkpointers
// are open (bad configuration of a later part) leaves no goroutine behind,
// and the same SQLite data directory opens again at once.
func TestOpenFailingMidwayReleasesEverything(t *testing.T) {
	badConnectors := t.TempDir()
	if err := os.WriteFile(filepath.Join(badConnectors, "shop.yaml"), []byte("engine: [not, a, dataset"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		break_ func(*config.Config)
		want   string
	}{
		{"bad trusted proxies", func(c *config.Config) { c.TrustedProxies = []string{"not-an-address"} }, "--trusted-proxies"},
		{"bad connectors", func(c *config.Config) { c.ConnectorsDir = badConnectors }, "connectors"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			// Migrated already: this tests releasing what Open opened, and
			// the first start's migrations cost seconds under -race
			// (TestDemoStartsAfterTheDemoCustomerWasErased starts on empty
			// stores).
			apptest.CopySQLiteStore(t, filepath.Join(dir, "steward.db"))
			cfg := config.Config{DataDir: dir, PublicURL: "http://127.0.0.1", LogLevel: "warn", FollowInterval: 200 * time.Millisecond,
				ShutdownTimeout: time.Second, PasswordMemoryMiB: 8, PasswordTime: 1, MasterKey: "1:" + vault.GenerateKey(),
				Controller: config.Controller{Name: "Example Shop", Email: "privacy@shop.example"}}
			log := slog.New(slog.NewTextHandler(io.Discard, nil))
			ctx := context.Background()
			// A first Open and Close, so that what stays for the life of
			// the process (the drivers' pools) is counted in the baseline.
			good, err := app.Open(ctx, cfg, log)
			if err != nil {
				t.Fatal(err)
			}
			if err := good.Close(); err != nil {
				t.Fatal(err)
			}
			baseline := steadyGoroutines()

			bad := cfg
			tc.break_(&bad)
			if _, err := app.Open(ctx, bad, log); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Open with %s: %v, want an error about %q", tc.name, err, tc.want)
			}
			if n := settledGoroutines(baseline); n > baseline {
				buf := make([]byte, 1<<20)
				t.Fatalf("%d goroutines after the failed Open, %d before:\n%s", n, baseline, buf[:runtime.Stack(buf, true)])
			}
			again, err := app.Open(ctx, cfg, log)
			if err != nil {
				t.Fatalf("reopen the data directory after the failed Open: %v", err)
			}
			if err := again.Close(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// settledGoroutines waits up to five seconds for the number of goroutines
// to fall to want (goroutines that were told to stop take a moment to
// return), and returns it.
func settledGoroutines(want int) int {
	deadline := time.Now().Add(5 * time.Second)
	for {
		n := runtime.NumGoroutine()
		if n <= want || time.Now().After(deadline) {
			return n
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// steadyGoroutines returns the number of goroutines once it holds still
// for a tenth of a second (or after five seconds).
func steadyGoroutines() int {
	deadline := time.Now().Add(5 * time.Second)
	n := runtime.NumGoroutine()
	for time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		m := runtime.NumGoroutine()
		if m == n {
			return n
		}
		n = m
	}
	return n
}
