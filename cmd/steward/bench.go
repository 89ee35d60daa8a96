package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/steward-dev/steward/internal/app"
	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/backup"
	"github.com/steward-dev/steward/internal/backup/target"
	"github.com/steward-dev/steward/internal/config"
	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/loadgen"
	"github.com/steward-dev/steward/internal/scanner"
	"github.com/steward-dev/steward/internal/vault"
)

// benchTarget is a Steward to measure: one started in this process on a
// fresh data directory (the default), or one already running at --url.
type benchTarget struct {
	url   string
	keys  app.DemoKeys
	app   *app.App
	close func()
}

func startBenchTarget(ctx context.Context, env *environment, database, parent string) (*benchTarget, error) {
	database, dropStore, err := freshBenchStore(ctx, env, database)
	if err != nil {
		return nil, err
	}
	// The data directory inside a directory of the run's own, so that
	// what is kept beside it (the erasure journal, DATA.erasures) goes
	// with it.
	dir, err := os.MkdirTemp(parent, "steward-bench-")
	if err != nil {
		dropStore()
		return nil, err
	}
	a, keys, err := openBenchApp(ctx, env, filepath.Join(dir, "data"), database, time.Second)
	if err != nil {
		os.RemoveAll(dir)
		dropStore()
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		a.Close()
		os.RemoveAll(dir)
		dropStore()
		return nil, err
	}
	serveCtx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = a.Serve(serveCtx, ln); close(done) }()
	return &benchTarget{url: "http://" + ln.Addr().String(), keys: keys, app: a, close: func() {
		cancel()
		<-done
		a.Close()
		os.RemoveAll(dir)
		dropStore()
	}}, nil
}

// freshBenchStore gives each run an empty store, as the SQLite default
// (a new temporary directory) does: for a postgres:// URL, a new schema in
// that database, dropped by the returned function. Measuring on whatever
// earlier runs left behind would make runs incomparable.
func freshBenchStore(ctx context.Context, env *environment, database string) (string, func(), error) {
	if !strings.HasPrefix(database, "postgres://") && !strings.HasPrefix(database, "postgresql://") {
		return database, func() {}, nil
	}
	u, err := url.Parse(database)
	if err != nil {
		return "", nil, fmt.Errorf("--database: %w", err)
	}
	admin, err := sql.Open("pgx", database)
	if err != nil {
		return "", nil, fmt.Errorf("--database: %w", err)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "steward_bench_" + hex.EncodeToString(b[:])
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		admin.Close()
		return "", nil, fmt.Errorf("create a schema for the run: %w", err)
	}
	fmt.Fprintf(env.stderr, "PostgreSQL: measuring in the new schema %s, dropped at the end\n", schema)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), func() {
		defer admin.Close()
		if _, err := admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			fmt.Fprintf(env.stderr, "drop schema %s: %v\n", schema, err)
		}
	}, nil
}

// openBenchApp opens a Steward on dir (and database) with the demo
// catalog, as the benchmarks measure it.
func openBenchApp(ctx context.Context, env *environment, dir, database string, follow time.Duration) (*app.App, app.DemoKeys, error) {
	cfg := config.Config{Listen: "127.0.0.1:0", DataDir: dir, Database: database, LogLevel: "warn", LogFormat: "text",
		FollowInterval: follow, ShutdownTimeout: 5 * time.Second, GPCLastUpdate: "2026-11-28",
		Controller: config.Controller{Name: "Bench Co"},
		// An unsealed vault, so that the demo signs its vendors off and
		// the decisions measured pass the vendor gate, as in production.
		MasterKey: "1:" + vault.GenerateKey(),
		// No tracker scan: the weekly one would start at once on the demo
		// property and its Chromium take a core from what is measured.
		ScanChrome: scanner.ChromeOff}
	a, err := app.Open(ctx, cfg, slog.New(slog.NewTextHandler(env.stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		return nil, app.DemoKeys{}, err
	}
	keys, err := a.SeedDemo(ctx)
	if err != nil {
		a.Close()
		return nil, app.DemoKeys{}, err
	}
	return a, keys, nil
}

type benchFlags struct {
	connections int
	duration    time.Duration
	database    string
	url, key    string
	dir         string
	profiles    string
}

func registerBenchFlags(fs interface {
	IntVar(*int, string, int, string)
	DurationVar(*time.Duration, string, time.Duration, string)
	StringVar(*string, string, string, string)
}) *benchFlags {
	f := &benchFlags{}
	fs.IntVar(&f.connections, "connections", 64, "concurrent keep-alive connections")
	fs.DurationVar(&f.duration, "duration", 10*time.Second, "measured time per run (at most 10m)")
	fs.StringVar(&f.database, "database", "", "store of the in-process server: empty for SQLite in a temporary directory, or a postgres:// URL")
	fs.StringVar(&f.url, "url", "", "measure a running Steward at this loopback URL instead of starting one")
	fs.StringVar(&f.key, "key", "", "API key for --url (decide key for decide, ingest key of property demo for ingest)")
	fs.StringVar(&f.profiles, "cpuprofiles", "", "write a CPU profile of each run's measured phase (the warm-up and the seeding left out) into this existing directory, one file a run: echo-1.pprof, decide-batch1-1.pprof, ingest-1.pprof...")
	fs.StringVar(&f.dir, "dir", "", "where the in-process server keeps its data (and ingest --during-backups its backups): empty for the system's temporary directory, which may be in memory (tmpfs); name an existing directory on the disk you mean to measure; startup: kept, and a SQLite store already in it is started on again instead of writing --events anew")
	return f
}

func runBench(ctx context.Context, env *environment, args []string) error {
	if len(args) == 0 || (args[0] != "decide" && args[0] != "ingest" && args[0] != "startup") {
		fmt.Fprintln(env.stderr, "Usage: steward bench decide [--batch N] [flags] | steward bench ingest [flags] | steward bench startup [--events N]")
		return errUsage
	}
	kind := args[0]
	fs := newFlags(env, "bench "+kind, "bench "+kind+" [flags]")
	f := registerBenchFlags(fs)
	batches := fs.String("batch", "1,100", "decide: questions per request, a comma-separated list of sizes to run")
	devices := fs.Int("devices", 100000, "decide: devices with recorded consent in the in-process server")
	events := fs.Int("events", 1000000, "startup: ledger events to start with")
	bulk := fs.Int("bulk", 0, "startup: write only this many events through the append path and copy them to --events (each copy chained, carrying its original's receipt; rollups not kept); 0: every event appended")
	duringBackups := fs.Bool("during-backups", false, "ingest: measure again while backups of the store are taken back to back")
	rounds := fs.Int("rounds", 0, "measurements of each kind, summarised by median and range: decide (default 3): rounds of the echo and each batch size, in alternating order; ingest (default 1): alternating with and without backups (with --during-backups)")
	prefill := fs.Int("prefill", 0, "ingest: ledger events written before measuring, so that a backup of the store takes a while (with --during-backups)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run (server and load generator) to this file")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if *cpuProfile != "" && f.profiles != "" {
		return errors.New("--cpuprofile and --cpuprofiles: choose one")
	}
	if *cpuProfile != "" {
		out, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer out.Close()
		if err := pprof.StartCPUProfile(out); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if kind == "startup" {
		return benchStartup(ctx, env, *events, f.database, f.dir, *bulk)
	}
	target := &benchTarget{url: strings.TrimRight(f.url, "/"), keys: app.DemoKeys{Decide: f.key, Ingest: f.key}, close: func() {}}
	if f.url == "" {
		var err error
		if target, err = startBenchTarget(ctx, env, f.database, f.dir); err != nil {
			return err
		}
	}
	defer target.close()
	if kind == "decide" {
		if *rounds == 0 {
			*rounds = 3
		}
		return benchDecide(ctx, env, target, f, *batches, *devices, *rounds)
	}
	if *rounds == 0 {
		*rounds = 1
	}
	if *prefill > 0 && target.app != nil {
		fmt.Fprintf(env.stderr, "writing %d ledger events...\n", *prefill)
		if err := prefillLedger(ctx, target.app.Consent, *prefill); err != nil {
			return err
		}
	}
	if *rounds < 1 || *rounds > 100 {
		return fmt.Errorf("--rounds: %d is not from 1 to 100", *rounds)
	}
	return benchIngest(ctx, env, target, f, *duringBackups, *rounds)
}

// decideRun is one kind of run of "bench decide": the echo, or decisions
// in batches of one size.
type decideRun struct {
	name, file string // the row's name; the profile's file name
	batch      int    // 0 for the echo
	cfg        loadgen.Config
}

func benchDecide(ctx context.Context, env *environment, t *benchTarget, f *benchFlags, batches string, devices, rounds int) error {
	if rounds < 1 || rounds > 100 {
		return fmt.Errorf("--rounds: %d is not from 1 to 100", rounds)
	}
	var sizes []int
	for _, field := range strings.Split(batches, ",") {
		batch, err := strconv.Atoi(strings.TrimSpace(field))
		if err != nil || batch < 1 || batch > 1000 {
			return fmt.Errorf("--batch: %q is not a number from 1 to 1000", field)
		}
		sizes = append(sizes, batch)
	}
	if t.app != nil {
		fmt.Fprintf(env.stderr, "seeding %d devices with consent...\n", devices)
		if err := seedDevices(ctx, t.app.Consent, devices); err != nil {
			return err
		}
	}
	echoURL, stop, err := loadgen.EchoServer()
	if err != nil {
		return err
	}
	defer stop()
	echoBody := []byte(`{"questions":[{"device":"bench-1","purpose":"analytics","vendor":"metrics-co","jurisdiction":"DE"}]}`)
	runs := []decideRun{{name: "baseline echo", file: "echo", cfg: loadgen.Config{URL: echoURL,
		Header: http.Header{"Content-Type": {"application/json"}}, Body: func(int, int) []byte { return echoBody }}}}
	for _, batch := range sizes {
		bodies := decideBodies(batch, devices)
		runs = append(runs, decideRun{name: fmt.Sprintf("decide batch=%d", batch), file: fmt.Sprintf("decide-batch%d", batch), batch: batch,
			cfg: loadgen.Config{URL: t.url + "/v1/decisions",
				Header: http.Header{"Authorization": {"Bearer " + t.keys.Decide}, "Content-Type": {"application/json"}},
				Body:   func(worker, n int) []byte { return bodies[(worker*131+n)%len(bodies)] }}})
	}
	// What the seeding leaves to do is done now rather than during the
	// first run: the ledger's checkpoint over the new entries, and the
	// collection of its garbage.
	if t.app != nil && t.app.LedgerCheckpoints != nil {
		if err := t.app.LedgerCheckpoints.Checkpoint(ctx); err != nil {
			return err
		}
	}
	runtime.GC()
	// results[i][round] is run i's result in that round. Rounds alternate
	// the order of the runs (the echo first, then last), so that drift on
	// a shared machine and whatever one run leaves behind (a collection
	// due, a checkpoint) touch the echo and the decisions alike.
	results := make([][]loadgen.Result, len(runs))
	var rows []loadgen.Row
	for round := 1; round <= rounds; round++ {
		order := make([]int, len(runs))
		for i := range order {
			order[i] = i
		}
		if round%2 == 0 {
			slices.Reverse(order)
		}
		for _, i := range order {
			run := runs[i]
			cfg := run.cfg
			cfg.Connections, cfg.Duration = f.connections, f.duration
			name := run.name
			if rounds > 1 {
				name = fmt.Sprintf("%s #%d", run.name, round)
			}
			fmt.Fprintf(env.stderr, "%s: %d connections, %s...\n", name, f.connections, f.duration)
			res, err := f.measure(ctx, cfg, fmt.Sprintf("%s-%d", run.file, round))
			if err != nil {
				return err
			}
			results[i] = append(results[i], res)
			row := loadgen.Row{Name: name, Result: res}
			if run.batch > 0 {
				row.Extra = map[string]string{"questions/s": fmt.Sprintf("%.0f", res.RequestsPerSecond*float64(run.batch))}
			}
			rows = append(rows, row)
		}
	}
	if err := loadgen.WriteTable(env.stdout, rows); err != nil {
		return err
	}
	fmt.Fprintln(env.stdout)
	for i := 1; i < len(runs); i++ {
		fmt.Fprintln(env.stdout, echoRatioSummary(runs[i].name, results[0], results[i]))
	}
	return nil
}

// decideBodies are request bodies of batch questions each, about devices
// spread over the seeded ones.
func decideBodies(batch, devices int) [][]byte {
	bodies := make([][]byte, 4096)
	for i := range bodies {
		var b strings.Builder
		b.WriteString(`{"questions":[`)
		for q := 0; q < batch; q++ {
			if q > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"device":"bench-%d","purpose":"analytics","vendor":"metrics-co","jurisdiction":"DE"}`, (i*batch+q)*7919%max(devices, 1))
		}
		b.WriteString(`]}`)
		bodies[i] = []byte(b.String())
	}
	return bodies
}

// echoRatioSummary compares a run with the echo round by round: the
// ratios of requests/s, of p99 latency and of processor time per request
// in each round, and their medians and ranges.
func echoRatioSummary(name string, echo, other []loadgen.Result) string {
	var rate, p99, cpu []float64
	for round := range other {
		e, o := echo[round], other[round]
		rate = append(rate, ratio(o.RequestsPerSecond, e.RequestsPerSecond))
		p99 = append(p99, ratio(float64(o.P99), float64(e.P99)))
		cpu = append(cpu, ratio(float64(o.CPUPerRequest()), float64(e.CPUPerRequest())))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s / echo, %d round(s):", name, len(other))
	for _, m := range []struct {
		what   string
		values []float64
	}{{"req/s", rate}, {"p99", p99}, {"cpu/req", cpu}} {
		lo, mid, hi := spread(m.values)
		fmt.Fprintf(&b, " %s median %.2f (%.2f–%.2f; rounds", m.what, mid, lo, hi)
		for _, v := range m.values {
			fmt.Fprintf(&b, " %.2f", v)
		}
		b.WriteString(");")
	}
	return strings.TrimSuffix(b.String(), ";")
}

// ratio is a/b, or 0 when b is not positive.
func ratio(a, b float64) float64 {
	if b <= 0 {
		return 0
	}
	return a / b
}

// measure runs cfg and, with --cpuprofiles, profiles its measured phase
// into name.pprof in that directory.
func (f *benchFlags) measure(ctx context.Context, cfg loadgen.Config, name string) (loadgen.Result, error) {
	var profileErr error
	if f.profiles != "" {
		cfg.Measured = func() func() {
			out, err := os.Create(filepath.Join(f.profiles, name+".pprof"))
			if err != nil {
				profileErr = err
				return nil
			}
			if err := pprof.StartCPUProfile(out); err != nil {
				out.Close()
				profileErr = fmt.Errorf("--cpuprofiles: %w", err)
				return nil
			}
			return func() {
				pprof.StopCPUProfile()
				if err := out.Close(); err != nil {
					profileErr = err
				}
			}
		}
	}
	res, err := loadgen.Run(ctx, cfg)
	if err == nil {
		err = profileErr
	}
	return res, err
}

// seedDevices records a grant for analytics for n devices.
func seedDevices(ctx context.Context, svc *consent.Service, n int) error {
	at := time.Now().Add(-time.Hour)
	for start := 0; start < n; start += consent.MaxBatch {
		events := make([]consent.Event, 0, consent.MaxBatch)
		for i := start; i < min(start+consent.MaxBatch, n); i++ {
			events = append(events, consent.Event{ID: fmt.Sprintf("seed-%d", i), Property: "demo", Device: fmt.Sprintf("bench-%d", i),
				Purpose: "analytics", Action: consent.ActionGrant, Source: consent.SourceImport, NoticeVersion: "2026-11", At: at})
		}
		if err := svc.ValidateEvents(events, consent.Author{Kind: consent.AuthorAdminKey}); err != nil {
			return err
		}
		if _, err := svc.Append(ctx, events); err != nil {
			return err
		}
	}
	return nil
}

// benchBaseline measures a bare net/http JSON echo server with the same
// load generator, so that figures can be compared across machines.
func benchBaseline(ctx context.Context, env *environment, f *benchFlags) ([]loadgen.Row, error) {
	url, stop, err := loadgen.EchoServer()
	if err != nil {
		return nil, err
	}
	defer stop()
	body := []byte(`{"questions":[{"device":"bench-1","purpose":"analytics","vendor":"metrics-co","jurisdiction":"DE"}]}`)
	fmt.Fprintf(env.stderr, "baseline: bare net/http JSON echo, %d connections, %s...\n", f.connections, f.duration)
	res, err := f.measure(ctx, loadgen.Config{URL: url, Header: http.Header{"Content-Type": {"application/json"}},
		Body: func(int, int) []byte { return body }, Connections: f.connections, Duration: f.duration}, "echo")
	if err != nil {
		return nil, err
	}
	return []loadgen.Row{{Name: "baseline echo", Result: res}}, nil
}

func benchIngest(ctx context.Context, env *environment, t *benchTarget, f *benchFlags, duringBackups bool, rounds int) error {
	if duringBackups && t.app == nil {
		return errors.New("--during-backups needs the in-process server (no --url)")
	}
	rows, err := benchBaseline(ctx, env, f)
	if err != nil {
		return err
	}
	store := "sqlite"
	if strings.HasPrefix(f.database, "postgres") {
		store = "postgres"
	}
	if f.url != "" {
		store = "remote"
	}
	// Rounds alternate, so that drift on a shared machine (other work,
	// a growing store) touches both kinds of run alike.
	var without, with []float64
	for round := 1; round <= rounds; round++ {
		suffix := ""
		if rounds > 1 {
			suffix = fmt.Sprintf(" #%d", round)
		}
		row, err := ingestRun(ctx, env, t, f, fmt.Sprintf("ingest-%d", round))
		if err != nil {
			return err
		}
		row.Name = "ingest " + store + suffix
		rows = append(rows, row)
		without = append(without, row.Result.RequestsPerSecond)
		if !duringBackups {
			continue
		}
		row, backups, err := ingestDuringBackups(ctx, env, t, f, fmt.Sprintf("ingest-during-backups-%d", round))
		if err != nil {
			return err
		}
		row.Name = "ingest " + store + " during backups" + suffix
		row.Extra["backups"] = strconv.Itoa(backups)
		rows = append(rows, row)
		with = append(with, row.Result.RequestsPerSecond)
	}
	if err := loadgen.WriteTable(env.stdout, rows); err != nil {
		return err
	}
	if duringBackups {
		fmt.Fprintln(env.stdout)
		fmt.Fprintln(env.stdout, backupRatioSummary(without, with))
	}
	return nil
}

// backupRatioSummary compares ingest with and without backups: the median
// and range of each, and of the ratio of each round's two runs.
func backupRatioSummary(without, with []float64) string {
	ratios := make([]float64, len(with))
	for i := range with {
		if without[i] > 0 {
			ratios[i] = with[i] / without[i]
		}
	}
	lo, mid, hi := spread(ratios)
	wlo, wmid, whi := spread(without)
	blo, bmid, bhi := spread(with)
	return fmt.Sprintf("ingest during backups / without, %d round(s): median %.0f %% (range %.0f–%.0f %%); "+
		"events/s without: median %.0f (%.0f–%.0f), during backups: median %.0f (%.0f–%.0f)",
		len(ratios), 100*mid, 100*lo, 100*hi, wmid, wlo, whi, bmid, blo, bhi)
}

// spread returns the least, the median and the greatest of values.
func spread(values []float64) (lo, median, hi float64) {
	if len(values) == 0 {
		return 0, 0, 0
	}
	sorted := slices.Sorted(slices.Values(values))
	n := len(sorted)
	median = sorted[n/2]
	if n%2 == 0 {
		median = (sorted[n/2-1] + sorted[n/2]) / 2
	}
	return sorted[0], median, sorted[n-1]
}

// ingestDuringBackups measures ingest while backups of the server's store
// are taken one after another, beside its data (--dir). The backup running
// when the measurement ends is cancelled; only complete backups count.
func ingestDuringBackups(ctx context.Context, env *environment, t *benchTarget, f *benchFlags, profile string) (loadgen.Row, int, error) {
	dir, err := os.MkdirTemp(f.dir, "steward-bench-backups-")
	if err != nil {
		return loadgen.Row{}, 0, err
	}
	defer os.RemoveAll(dir)
	to, err := target.OpenDir(dir)
	if err != nil {
		return loadgen.Row{}, 0, err
	}
	recipient, err := backup.GenerateIdentity(io.Discard)
	if err != nil {
		return loadgen.Row{}, 0, err
	}
	recipients, err := backup.ParseRecipients([]string{recipient})
	if err != nil {
		return loadgen.Row{}, 0, err
	}
	bctx, stop := context.WithCancel(audit.WithActor(ctx, audit.System()))
	defer stop()
	done := make(chan error, 1)
	backups := 0
	go func() {
		for bctx.Err() == nil {
			if _, err := t.app.Recovery.Create(bctx, to, recipients); err != nil {
				if bctx.Err() != nil {
					break // cancelled at the end of the measurement
				}
				done <- err
				return
			}
			backups++
		}
		done <- nil
	}()
	fmt.Fprintf(env.stderr, "ingest during backups taken back to back...\n")
	row, err := ingestRun(ctx, env, t, f, profile)
	stop()
	if berr := <-done; err == nil {
		err = berr
	}
	return row, backups, err
}

// ingestRun measures one run of ingest against t.
func ingestRun(ctx context.Context, env *environment, t *benchTarget, f *benchFlags, profile string) (loadgen.Row, error) {
	run := time.Now().UnixNano()
	buffers := make([][]byte, f.connections)
	devices := make([]string, 64000)
	for i := range devices {
		var b [16]byte
		_, _ = rand.Read(b[:])
		devices[i] = fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
	}
	fmt.Fprintf(env.stderr, "ingest: %d connections, one event per request, %s...\n", f.connections, f.duration)
	res, err := f.measure(ctx, loadgen.Config{
		URL: t.url + "/v1/consent/events", Header: http.Header{"Authorization": {"Bearer " + t.keys.Ingest}, "Content-Type": {"application/json"}},
		Body: func(worker, n int) []byte {
			// As the banner does: event ids are time-ordered (UUID version 7
			// layout), device ids random UUIDs that stay with a browser.
			buffers[worker] = fmt.Appendf(buffers[worker][:0], `{"events":[{"id":"%012x-7%03x-8%03x-%012x","property":"demo","device":"%s","purpose":"analytics","action":"grant","source":"banner","notice_version":"2026-11"}]}`,
				time.Now().UnixMilli(), worker, n&0xfff, run&0xffffffffffff^int64(n), devices[(worker*1000+n%1000)%len(devices)])
			return buffers[worker]
		},
		Check: func(status int, body []byte) error {
			if status != http.StatusOK || !strings.Contains(string(body), `"receipt":"ey`) {
				return fmt.Errorf("status %d: %.200s", status, body)
			}
			return nil
		},
		Connections: f.connections, Duration: f.duration,
	}, profile)
	if err != nil {
		return loadgen.Row{}, err
	}
	return loadgen.Row{Result: res, Extra: map[string]string{"events/s": fmt.Sprintf("%.0f", res.RequestsPerSecond)}}, nil
}
