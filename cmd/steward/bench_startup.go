package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/steward-dev/steward/internal/consent"
)

// benchStartup fills a fresh store with n ledger events (or, with dir
// holding a store already, uses that one), then starts "steward serve" on
// it as a child process twice, and reports for each start how long the
// index took to build and the child's resident memory once ready (and its
// peak): the first start rebuilds the index from the whole ledger and
// writes its snapshot when stopped, the second loads the snapshot and
// replays the tail. With bulk above 0, only bulk events go through the
// append path and the rest are copies of them (consent.CopyEventsForBench).
func benchStartup(ctx context.Context, env *environment, n int, database, dir string, bulk int) error {
	database, dropStore, err := freshBenchStore(ctx, env, database)
	if err != nil {
		return err
	}
	defer dropStore()
	reuse := false
	if dir == "" {
		if dir, err = os.MkdirTemp("", "steward-startup-"); err != nil {
			return err
		}
		defer os.RemoveAll(dir)
	} else if _, err := os.Stat(filepath.Join(dir, "steward.db")); err == nil && database == "" {
		reuse = true
	}
	if reuse {
		fmt.Fprintf(env.stderr, "starting on the ledger already in %s (--events ignored)\n", dir)
	} else {
		a, _, err := openBenchApp(ctx, env, dir, database, time.Hour)
		if err != nil {
			return err
		}
		written := n
		if bulk > 0 && bulk < n {
			written = bulk
		}
		fmt.Fprintf(env.stderr, "writing %d ledger events...\n", written)
		started := time.Now()
		if err := prefillLedgerConcurrently(ctx, a.Consent, written, env.stderr); err != nil {
			a.Close()
			return err
		}
		fmt.Fprintf(env.stderr, "wrote them in %s\n", time.Since(started).Round(time.Millisecond))
		if written < n {
			started = time.Now()
			copied, err := consent.CopyEventsForBench(ctx, a.DB, n, func(copied int) {
				if copied%1_000_000 < 5000 {
					fmt.Fprintf(env.stderr, "  %d events copied\n", copied)
				}
			})
			if err != nil {
				a.Close()
				return err
			}
			fmt.Fprintf(env.stderr, "copied them to %d more in %s (--bulk: each copy is chained, but carries its original's receipt; rollups not kept)\n",
				copied, time.Since(started).Round(time.Millisecond))
		}
		if err := a.Close(); err != nil {
			return err
		}
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	store := "sqlite"
	if database != "" {
		store = "postgres"
	}
	// The first start rebuilds the index from the whole ledger and, when
	// stopped, writes the index's snapshot; the second starts from it.
	if err := os.Remove(filepath.Join(dir, "consent-index.snapshot")); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	var rows []startupRun
	for _, label := range []string{"full", "snapshot"} {
		run, err := startServeChild(ctx, env, exe, dir, database)
		if err != nil {
			return fmt.Errorf("%s start: %w", label, err)
		}
		if want := label == "snapshot"; run.fromSnapshot != want {
			return fmt.Errorf("%s start: the server started from a snapshot: %v, want %v", label, run.fromSnapshot, want)
		}
		run.label = label
		rows = append(rows, run)
	}
	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Fprintf(env.stdout, "store     events      start     index build  ready after  processor time  resident  peak resident  states\n")
	for _, r := range rows {
		fmt.Fprintf(env.stdout, "%-8s %10d  %-8s  %11s  %11s  %14s  %8s  %13s  %s\n", store, r.seq, r.label, r.build, r.ready.Round(time.Millisecond),
			r.cpu, r.rss, r.peak, r.states)
	}
	fmt.Fprintf(env.stdout, "load average (1, 5, 15 min): %s\n", strings.Join(strings.Fields(string(load))[:3], " "))
	return nil
}

// startupRun is what one start of the child measured.
type startupRun struct {
	label, build, rss, peak, states, cpu string
	seq                                  int64
	ready                                time.Duration
	fromSnapshot                         bool
}

// startServeChild starts "steward serve" on dir and database, waits until
// it is ready, reads its memory, then stops it with SIGTERM (so that it
// writes the index's snapshot) and waits for it to exit.
func startServeChild(ctx context.Context, env *environment, exe, dir, database string) (startupRun, error) {
	var run startupRun
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return run, err
	}
	addr := ln.Addr().String()
	ln.Close()
	args := []string{"serve", "--data-dir", dir, "--listen", addr, "--log-level", "info", "--log-format", "json"}
	if database != "" {
		args = append(args, "--database", database)
	}
	cmd := exec.CommandContext(ctx, exe, args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return run, err
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return run, err
	}
	exited := false
	defer func() {
		if !exited {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	}()
	type built struct {
		took, states string
		seq          int64
		fromSnapshot bool
	}
	builtCh := make(chan built, 1)
	logDone := make(chan struct{})
	go func() {
		defer close(logDone)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			var entry struct {
				Msg          string `json:"msg"`
				Took         string `json:"took"`
				States       int64  `json:"states"`
				Seq          int64  `json:"ledger_seq"`
				FromSnapshot bool   `json:"from_snapshot"`
				Err          string `json:"err"`
			}
			if json.Unmarshal([]byte(line), &entry) != nil {
				continue
			}
			switch {
			case entry.Msg == "consent index built":
				builtCh <- built{entry.Took, strconv.FormatInt(entry.States, 10), entry.Seq, entry.FromSnapshot}
			case strings.Contains(entry.Msg, "snapshot"):
				fmt.Fprintf(env.stderr, "child: %s\n", line)
			}
		}
	}()
	for deadline := time.Now().Add(15 * time.Minute); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				run.ready = time.Since(start)
				break
			}
		}
	}
	if run.ready == 0 {
		return run, fmt.Errorf("the server did not become ready within 15 minutes")
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
	if err != nil {
		return run, fmt.Errorf("read child memory: %w", err)
	}
	run.rss, run.peak = procField(string(status), "VmRSS:"), procField(string(status), "VmHWM:")
	run.cpu = procCPU(cmd.Process.Pid)
	run.build, run.states = "?", "?"
	select {
	case b := <-builtCh:
		run.build, run.states, run.seq, run.fromSnapshot = b.took, b.states, b.seq, b.fromSnapshot
	case <-time.After(time.Second):
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return run, err
	}
	exited = true
	<-logDone
	if err := cmd.Wait(); err != nil {
		return run, fmt.Errorf("stop: %w", err)
	}
	return run, nil
}

// procCPU returns the processor time (user and system) process pid has
// used so far, from /proc: on a shared machine it says more than the wall
// time.
func procCPU(pid int) string {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "?"
	}
	// The fields after the command's closing parenthesis; utime and stime
	// are the 14th and 15th of the line, in clock ticks (100 a second on
	// Linux).
	_, after, ok := strings.Cut(string(stat), ") ")
	f := strings.Fields(after)
	if !ok || len(f) < 13 {
		return "?"
	}
	user, err1 := strconv.ParseInt(f[11], 10, 64)
	system, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return "?"
	}
	return (time.Duration(user+system) * 10 * time.Millisecond).String()
}

func procField(status, name string) string {
	for _, line := range strings.Split(status, "\n") {
		if strings.HasPrefix(line, name) {
			f := strings.Fields(strings.TrimPrefix(line, name))
			if len(f) == 2 && f[1] == "kB" {
				kb, _ := strconv.Atoi(f[0])
				return fmt.Sprintf("%.0f MiB", float64(kb)/1024)
			}
			return strings.Join(f, " ")
		}
	}
	return "?"
}

// prefillLedgerConcurrently is prefillLedger by four appenders at once, so
// that the group commit fills its transactions, telling progress to log
// every million events.
func prefillLedgerConcurrently(ctx context.Context, svc *consent.Service, n int, log io.Writer) error {
	const workers = 4
	var next, done atomic.Int64
	errc := make(chan error, workers)
	for range workers {
		go func() {
			for {
				start := int(next.Add(consent.MaxBatch)) - consent.MaxBatch
				if start >= n {
					errc <- nil
					return
				}
				if err := prefillRange(ctx, svc, start, min(start+consent.MaxBatch, n)); err != nil {
					errc <- err
					return
				}
				if d := done.Add(int64(min(consent.MaxBatch, n-start))); d%1_000_000 < consent.MaxBatch {
					fmt.Fprintf(log, "  %d events written\n", d)
				}
			}
		}()
	}
	var first error
	for range workers {
		if err := <-errc; err != nil && first == nil {
			first = err
			next.Store(int64(n)) // the others stop after their batch
		}
	}
	return first
}

// prefillLedger appends n banner events of devices (three purposes each,
// one choice in five a refusal), dated over the last day, in full batches.
func prefillLedger(ctx context.Context, svc *consent.Service, n int) error {
	for start := 0; start < n; start += consent.MaxBatch {
		if err := prefillRange(ctx, svc, start, min(start+consent.MaxBatch, n)); err != nil {
			return err
		}
	}
	return nil
}

// prefillRange appends events number from to to (excluded) of prefillLedger.
func prefillRange(ctx context.Context, svc *consent.Service, from, to int) error {
	purposes := []string{"analytics", "marketing", "sale_of_data"}
	at := time.Now().Add(-24 * time.Hour)
	events := make([]consent.Event, 0, to-from)
	for i := from; i < to; i++ {
		action := consent.ActionGrant
		if i%5 == 0 {
			action = consent.ActionDeny
		}
		events = append(events, consent.Event{ID: "s" + strconv.Itoa(i), Property: "demo",
			Device: fmt.Sprintf("%08x-5f1c-4e2a-9b7d-%012x", i/3, i/3), Purpose: purposes[i%3], Action: action,
			Source: consent.SourceBanner, NoticeVersion: "2026-11", Jurisdiction: "DE", At: at.Add(time.Duration(i) * time.Millisecond)})
	}
	if err := svc.ValidateEvents(events, consent.Author{Kind: consent.AuthorIngestKey, Property: "demo"}); err != nil {
		return err
	}
	_, err := svc.Append(ctx, events)
	return err
}
