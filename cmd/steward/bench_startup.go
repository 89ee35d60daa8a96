package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/steward-dev/steward/internal/consent"
)

// benchStartup fills a fresh store with n ledger events, then starts
// "steward serve" on it as a child process and reports how long the index
// took to build and the child's resident memory once ready.
func benchStartup(ctx context.Context, env *environment, n int, database string) error {
	database, dropStore, err := freshBenchStore(ctx, env, database)
	if err != nil {
		return err
	}
	defer dropStore()
	dir, err := os.MkdirTemp("", "steward-startup-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	a, _, err := openBenchApp(ctx, env, dir, database, time.Hour)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stderr, "writing %d ledger events...\n", n)
	started := time.Now()
	if err := prefillLedger(ctx, a.Consent, n); err != nil {
		a.Close()
		return err
	}
	fmt.Fprintf(env.stderr, "wrote them in %s\n", time.Since(started).Round(time.Millisecond))
	if err := a.Close(); err != nil {
		return err
	}

	exe, err := os.Executable()
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
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
		return err
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	took := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			if strings.Contains(line, "consent index built") {
				if _, after, ok := strings.Cut(line, `"took":"`); ok {
					took <- strings.SplitN(after, `"`, 2)[0]
				}
			}
		}
	}()
	var ready time.Duration
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				ready = time.Since(start)
				break
			}
		}
	}
	if ready == 0 {
		return fmt.Errorf("the server did not become ready within 2 minutes")
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
	if err != nil {
		return fmt.Errorf("read child memory: %w", err)
	}
	rss, peak := procField(string(status), "VmRSS:"), procField(string(status), "VmHWM:")
	build := "?"
	select {
	case build = <-took:
	case <-time.After(time.Second):
	}
	store := "sqlite"
	if database != "" {
		store = "postgres"
	}
	fmt.Fprintf(env.stdout, "store     events   index build  ready after  resident  peak resident\n")
	fmt.Fprintf(env.stdout, "%-8s %7d   %11s  %11s  %8s  %13s\n", store, n, build, ready.Round(time.Millisecond), rss, peak)
	return nil
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

// prefillLedger appends n banner events of devices (three purposes each,
// one choice in five a refusal), dated over the last day, in full batches.
func prefillLedger(ctx context.Context, svc *consent.Service, n int) error {
	purposes := []string{"analytics", "marketing", "sale_of_data"}
	at := time.Now().Add(-24 * time.Hour)
	for start := 0; start < n; start += consent.MaxBatch {
		events := make([]consent.Event, 0, consent.MaxBatch)
		for i := start; i < min(start+consent.MaxBatch, n); i++ {
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
		if _, err := svc.Append(ctx, events); err != nil {
			return err
		}
	}
	return nil
}
