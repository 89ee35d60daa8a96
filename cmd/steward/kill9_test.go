package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/app/apptest"
)

// kill9Cycles is how many times TestKill9KeepsAcknowledgedEvents kills
// steward per store: two in the normal suite (each start of a child costs
// seconds, more under -race), 100 with STEWARD_TEST_KILL9=1
// (the weekly CI mode, .ci/weekly), or STEWARD_TEST_KILL9_CYCLES.
func kill9Cycles() int {
	if n, err := strconv.Atoi(os.Getenv("STEWARD_TEST_KILL9_CYCLES")); err == nil && n > 0 {
		return n
	}
	if os.Getenv("STEWARD_TEST_KILL9") == "1" {
		return 100
	}
	return 2
}

// TestKill9KeepsAcknowledgedEvents kills steward with SIGKILL at a random
// moment of ingest, restarts it, and again, kill9Cycles times per store.
// After each kill, `steward ledger verify` must find the ledger's chain
// intact, and at the end every event steward acknowledged (2xx) must be in
// the ledger.
func TestKill9KeepsAcknowledgedEvents(t *testing.T) {
	t.Parallel()
	cycles := kill9Cycles()
	stores := []struct {
		name  string
		flags func(t *testing.T) []string
	}{
		{"sqlite", func(t *testing.T) []string { return []string{"--data-dir", migratedDataDir(t)} }},
		{"postgres", func(t *testing.T) []string {
			return []string{"--data-dir", t.TempDir(), "--database", apptest.MigratedPostgresURL(t)}
		}},
	}
	for _, store := range stores {
		t.Run(store.name, func(t *testing.T) {
			storeFlags := store.flags(t)
			// One public URL for every start, as a deployment has: it
			// names the ledger checkpoints' signer, and each child
			// listens on a port of its own.
			start := append(slices.Clone(storeFlags), "--public-url", "http://steward.test")
			restart := append(slices.Clone(start), "--master-key-file", filepath.Join(storeFlags[1], "demo-master.keys"))
			var admin, ingest string
			var acked []string
			for cycle := range cycles {
				// The first start seeds the demo; the next ones start
				// as it did, with the master key --demo left in the
				// data directory (seeding again would cost each cycle
				// seconds of password hashing for demo staff).
				var c *child
				if cycle == 0 {
					c = startChild(t, append(start, "--demo")...)
					admin = c.demoKey(t, "Admin key")
					ingest = c.demoKey(t, "Ingest key")
				} else {
					c = startChild(t, restart...)
				}
				go io.Copy(io.Discard, pipeRest(c))
				got := ingestUntilKilled(t, c, ingest, fmt.Sprintf("c%d", cycle))
				acked = append(acked, got...)
				out, _, err := runCLI(t, "", append([]string{"ledger", "verify"}, storeFlags...)...)
				if err != nil || !strings.Contains(out, "consent ledger OK") {
					t.Fatalf("cycle %d: ledger verify after kill -9: %v\n%s", cycle, err, out)
				}
			}
			last := startChild(t, restart...)
			go io.Copy(io.Discard, pipeRest(last))
			present := apptest.LedgerIDs(t, last.url, admin)
			missing := 0
			for _, id := range acked {
				if !present[id] {
					missing++
				}
			}
			t.Logf("%s: %d kill -9 cycles, %d events acknowledged, %d in the ledger, acknowledged events lost: %d",
				store.name, cycles, len(acked), len(present), missing)
			if missing > 0 {
				t.Fatalf("%d of %d acknowledged events are missing after %d kill -9 cycles", missing, len(acked), cycles)
			}
		})
	}
}

// ingestUntilKilled posts events to c from a few workers, kills c with
// SIGKILL at a random moment once ingest runs, and returns the ids of the
// events c acknowledged.
func ingestUntilKilled(t *testing.T, c *child, ingest, prefix string) []string {
	t.Helper()
	var mu sync.Mutex
	var acked []string
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Timeout: 10 * time.Second}
			for i := 0; ctx.Err() == nil; i++ {
				id := fmt.Sprintf("%s-%d-%d", prefix, w, i)
				body := fmt.Sprintf(`{"events":[{"id":%q,"property":"demo","device":"dev-%d","purpose":"analytics","action":"grant","source":"banner","notice_version":"2026-11"}]}`, id, w)
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, c.url+"/v1/consent/events", strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+ingest)
				resp, err := client.Do(req)
				if err != nil {
					return // the server is gone
				}
				ok := resp.StatusCode/100 == 2
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if ok {
					mu.Lock()
					acked = append(acked, id)
					mu.Unlock()
				}
			}
		}()
	}
	// Once ingest runs, kill at a random moment within the next 400 ms.
	deadline := time.Now().Add(time.Minute)
	for {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no event acknowledged within a minute")
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(time.Duration(rand.IntN(400)) * time.Millisecond)
	if err := c.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = c.cmd.Wait()
	cancel()
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	return acked
}
