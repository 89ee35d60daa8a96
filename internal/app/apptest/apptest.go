// Package apptest starts a whole Steward (store, consent service, HTTP
// server on a loopback port) for integration tests, seeded with the demo
// catalog, on SQLite or PostgreSQL.
//
//	srv := apptest.Start(t, db.SQLite)
//	resp, err := http.Get(srv.URL + "/readyz")
package apptest

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/app"
	"github.com/steward-dev/steward/internal/config"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/jobs"
	"github.com/steward-dev/steward/internal/vault"
)

// Server is a running test instance.
type Server struct {
	URL  string
	App  *app.App
	Keys app.DemoKeys
	// MetricsURL is the internal metrics listener's address (with
	// Options.MetricsListen); empty otherwise.
	MetricsURL string
}

// Options adjust a test server.
type Options struct {
	// DatabaseURL overrides the store (for example a proxy in front of PostgreSQL).
	DatabaseURL string
	DataDir     string
	Log         io.Writer
	// SMTP, when set (host:port of a test server such as mailtest's), turns
	// email on, without TLS, to that loopback address.
	SMTP string
	// StaffNames shows customers the names of staff who accessed their data.
	StaffNames bool
	// Connectors is a directory of dataset files; Env is the environment
	// the server reads their connection strings from.
	Connectors string
	Env        map[string]string
	// Sealed starts without a master key; by default the vault gets a fresh
	// one, or MasterKey (a second server on the same DataDir needs the
	// first one's).
	Sealed    bool
	MasterKey string
	// Demo serves the demo page at /demo, as serve --demo does.
	Demo bool
	// TrustedProxies is --trusted-proxies (tests name 127.0.0.1 to send
	// X-Forwarded-For as clients behind a proxy).
	TrustedProxies []string
	// MetricsListen serves /metrics on a loopback port of its own, as
	// --metrics-listen does, and not on URL.
	MetricsListen bool
	// CorrectableFields is --correctable-fields: vault fields customers may
	// correct (true: without approval).
	CorrectableFields map[string]bool
	// FollowInterval is --follow-interval: 0 for 200 ms, negative for no
	// polling at all (on PostgreSQL, notifications alone then wake the
	// follower).
	FollowInterval time.Duration
	// JobRetryBase shortens the wait before a failed job's retries
	// (config.Config.JobRetryBase), for rehearsals of a server that comes
	// back.
	JobRetryBase time.Duration
}

// Start starts Steward on dialect with the demo catalog and keys; it stops
// when the test ends.
func Start(tb testing.TB, dialect db.Dialect) *Server {
	tb.Helper()
	return StartWith(tb, dialect, Options{})
}

// StartWith starts Steward with options.
func StartWith(tb testing.TB, dialect db.Dialect, opts Options) *Server {
	tb.Helper()
	cfg := config.Config{
		Listen: "127.0.0.1:0", DataDir: opts.DataDir, PublicURL: "http://127.0.0.1", LogLevel: "warn", LogFormat: "text",
		FollowInterval: 200 * time.Millisecond, ShutdownTimeout: 5 * time.Second, GPCLastUpdate: "2026-11-28",
		Controller: config.Controller{Name: "Example Shop", Email: "privacy@shop.example"},
	}
	if opts.FollowInterval != 0 {
		cfg.FollowInterval = opts.FollowInterval
	}
	freshDir := cfg.DataDir == ""
	if freshDir {
		cfg.DataDir = tb.TempDir()
	}
	cfg.Database = opts.DatabaseURL
	cfg.Mail = config.Mail{SMTPPort: 587, SMTPTLS: "starttls"}
	cfg.Brand = config.Brand{Colour: "#0b57d0"}
	cfg.ConnectorsDir = opts.Connectors
	cfg.ShowStaffNames = opts.StaffNames
	// Tests sign staff in by the dozen: the cheapest hash argon2id allows
	// here, which tests the logic, not the cost.
	cfg.PasswordMemoryMiB, cfg.PasswordTime = 8, 1
	cfg.WebhookAllowHosts = []string{"127.0.0.1", "localhost"} // test receivers listen on loopback
	cfg.ConnectorPoll = 200 * time.Millisecond
	cfg.Getenv = func(k string) string { return opts.Env[k] }
	if opts.SMTP != "" {
		host, port, err := net.SplitHostPort(opts.SMTP)
		if err != nil {
			tb.Fatalf("apptest: SMTP %q: %v", opts.SMTP, err)
		}
		cfg.Mail.SMTPHost, cfg.Mail.SMTPTLS, cfg.Mail.From = host, "none", "Example Shop Privacy <privacy@shop.example>"
		cfg.Mail.SMTPPort, _ = strconv.Atoi(port)
	}
	cfg.Demo = opts.Demo
	cfg.TrustedProxies = opts.TrustedProxies
	cfg.CorrectableFields = opts.CorrectableFields
	cfg.JobRetryBase = opts.JobRetryBase
	if opts.MetricsListen {
		cfg.MetricsListen = "127.0.0.1:0"
	}
	if !opts.Sealed {
		cfg.MasterKey = opts.MasterKey
		if cfg.MasterKey == "" {
			cfg.MasterKey = "1:" + vault.GenerateKey()
		}
	}
	// A store cloned from dbtest's migrated template: Open's migration
	// then finds nothing to do, which saves most of a second per server.
	switch {
	case cfg.Database == "" && dialect == db.Postgres:
		cfg.Database = dbtest.MigratedPostgresURLWith(tb, riverFlavour)
	case cfg.Database == "" && freshDir:
		CopySQLiteStore(tb, filepath.Join(cfg.DataDir, "steward.db"))
	}
	logOut := opts.Log
	if logOut == nil {
		logOut = io.Discard
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("apptest: listen: %v", err)
	}
	cfg.PublicURL = "http://" + ln.Addr().String() // what the banner posts to
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.Open(ctx, cfg, slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		cancel()
		ln.Close()
		tb.Fatalf("apptest: open: %v", err)
	}
	keys, err := a.SeedDemo(ctx)
	if err != nil {
		cancel()
		ln.Close()
		a.Close()
		tb.Fatalf("apptest: seed: %v", err)
	}
	srv := &Server{URL: "http://" + ln.Addr().String(), App: a, Keys: keys}
	stopMetrics := func() {}
	if opts.MetricsListen {
		mln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			cancel()
			ln.Close()
			a.Close()
			tb.Fatalf("apptest: listen (metrics): %v", err)
		}
		stopMetrics = a.ServeMetrics(mln)
		srv.MetricsURL = "http://" + mln.Addr().String()
	}
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, ln) }()
	tb.Cleanup(func() {
		// A burst of concurrent requests can leave the client's transport
		// with a dialed connection it never used; the server sees it as new,
		// and graceful shutdown waits for such a connection for up to five
		// seconds. Close them first.
		http.DefaultClient.CloseIdleConnections()
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("apptest: serve: %v", err)
		}
		stopMetrics()
		a.Close()
	})
	return srv
}

// MigratedPostgresURL returns the URL of a PostgreSQL schema for tb that
// holds what a server's first start leaves there (Steward's and River's
// migrations), from dbtest's pool: a steward process started on it, as
// cmd/steward's tests start one, finds nothing to migrate.
func MigratedPostgresURL(tb testing.TB) string {
	tb.Helper()
	return dbtest.MigratedPostgresURLWith(tb, riverFlavour)
}

// CopySQLiteStore writes to path a SQLite store as a server's first start
// leaves it (Steward's and River's migrations), a copy of dbtest's
// template: a server started on it finds nothing to migrate.
func CopySQLiteStore(tb testing.TB, path string) {
	tb.Helper()
	dbtest.CopySQLiteTemplateWith(tb, path, riverFlavour)
}

// riverFlavour is a store with River's tables too, as Open leaves it: the
// pooled schemas and the SQLite template keep them, so that Open's River
// migration finds nothing to do either. Its name holds River's module
// versions, so that another River gets a template of its own.
var riverFlavour = dbtest.Flavour{
	Name: "river " + riverVersions(),
	Setup: func(ctx context.Context, store *db.DB) error {
		return jobs.Migrate(ctx, store, nil)
	},
}

func riverVersions() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	var versions []string
	for _, dep := range info.Deps {
		if strings.HasPrefix(dep.Path, "github.com/riverqueue/") {
			versions = append(versions, dep.Path+"@"+dep.Version)
		}
	}
	return strings.Join(versions, " ")
}
