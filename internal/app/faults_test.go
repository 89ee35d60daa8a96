package app_test

// Fault rehearsals (issue 19): each test replays a fault against a whole
// Steward and checks what it answers while the fault lasts and what is left
// when it is over. docs/operations.md, "Faults and how Steward behaves",
// says what each one shows.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/app/apptest"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/testenv"
	"github.com/steward-dev/steward/internal/testenv/netswitch"
)

// ingest posts one banner event per request from a few workers until
// stopped, and keeps what each answer said.
type ingest struct {
	mu       sync.Mutex
	acked    []string
	statuses map[int]int
	// wrong names answers that break the rules of a fault: a status other
	// than 200 or 503, or a 503 without Retry-After or problem+json.
	wrong  []string
	cancel context.CancelFunc
	done   sync.WaitGroup
}

func startIngest(url, key, prefix string, workers int) *ingest {
	ctx, cancel := context.WithCancel(context.Background())
	in := &ingest{statuses: map[int]int{}, cancel: cancel}
	for w := range workers {
		in.done.Add(1)
		go func() {
			defer in.done.Done()
			client := &http.Client{Timeout: 20 * time.Second}
			for i := 0; ctx.Err() == nil; i++ {
				id := fmt.Sprintf("%s-%d-%d", prefix, w, i)
				body := fmt.Sprintf(`{"events":[{"id":%q,"property":"demo","device":"dev-%s-%d","purpose":"analytics","action":"grant","source":"banner","notice_version":"2026-11"}]}`, id, prefix, w)
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url+"/v1/consent/events", strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+key)
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				if err != nil {
					if ctx.Err() == nil {
						time.Sleep(20 * time.Millisecond)
					}
					continue
				}
				answer, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				in.mu.Lock()
				in.statuses[resp.StatusCode]++
				switch {
				case resp.StatusCode == http.StatusOK:
					in.acked = append(in.acked, id)
				case resp.StatusCode == http.StatusServiceUnavailable:
					if resp.Header.Get("Retry-After") == "" || resp.Header.Get("Content-Type") != "application/problem+json" {
						in.wrong = append(in.wrong, fmt.Sprintf("503 with Retry-After %q, Content-Type %q: %s",
							resp.Header.Get("Retry-After"), resp.Header.Get("Content-Type"), answer))
					}
					time.Sleep(20 * time.Millisecond) // as a client that honours Retry-After would, only sooner
				default:
					in.wrong = append(in.wrong, fmt.Sprintf("%d: %s", resp.StatusCode, answer))
				}
				in.mu.Unlock()
			}
		}()
	}
	return in
}

// count returns how many answers had status (0: how many were acknowledged).
func (in *ingest) count(status int) int {
	in.mu.Lock()
	defer in.mu.Unlock()
	if status == 0 {
		return len(in.acked)
	}
	return in.statuses[status]
}

// waitFor waits until cond holds, failing t after limit.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s", limit, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (in *ingest) stop(t *testing.T) []string {
	t.Helper()
	in.cancel()
	in.done.Wait()
	in.mu.Lock()
	defer in.mu.Unlock()
	t.Logf("ingest answers by status: %v", in.statuses)
	if len(in.wrong) > 0 {
		t.Errorf("%d answers broke the rules of the fault, the first: %s", len(in.wrong), in.wrong[0])
	}
	return in.acked
}

func assertAllPresent(t *testing.T, acked []string, present map[string]bool) {
	t.Helper()
	missing := 0
	for _, id := range acked {
		if !present[id] {
			missing++
		}
	}
	t.Logf("%d events acknowledged, %d in the ledger, %d acknowledged ones missing", len(acked), len(present), missing)
	if missing > 0 {
		t.Fatalf("%d of %d acknowledged events are missing", missing, len(acked))
	}
}

// rehearseOutage runs ingest against srv, calls down, checks what Steward
// answers while the store is away, calls up, and checks that ingest
// resumes in the same process and that no acknowledged event is lost.
// With readsDown false (a full disk) the store still reads, so /readyz is
// not asked while the fault lasts.
func rehearseOutage(t *testing.T, srv *apptest.Server, readsDown bool, down, up func()) {
	t.Helper()
	question := `{"questions":[{"device":"dev-out-0","purpose":"analytics","jurisdiction":"DE"}]}`
	in := startIngest(srv.URL, srv.Keys.Ingest, "out", 4)
	defer in.cancel()
	waitFor(t, 20*time.Second, "ingest to be acknowledged before the fault", func() bool { return in.count(0) >= 40 })

	down()
	waitFor(t, 30*time.Second, "writes to answer 503 while the store is down", func() bool { return in.count(http.StatusServiceUnavailable) >= 20 })
	if resp, body := do(t, "POST", srv.URL+"/v1/decisions", srv.Keys.Decide, question); resp.StatusCode != 200 || !strings.Contains(body, `"allowed":true`) {
		t.Fatalf("decision while the store is down: %d %s", resp.StatusCode, body)
	}
	if resp, body := do(t, "GET", srv.URL+"/readyz", "", ""); readsDown && resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("readyz while the store is down: %d %s", resp.StatusCode, body)
	}
	ackedDuring := in.count(0)

	up()
	waitFor(t, 60*time.Second, "ingest to resume without a restart", func() bool { return in.count(0) >= ackedDuring+40 })
	acked := in.stop(t)
	if resp, body := do(t, "GET", srv.URL+"/readyz", "", ""); resp.StatusCode != 200 {
		t.Fatalf("readyz after the store came back: %d %s", resp.StatusCode, body)
	}
	assertAllPresent(t, acked, apptest.LedgerIDs(t, srv.URL, srv.Keys.Admin))
}

// TestFaultPostgresRestart: PostgreSQL goes away during ingest and comes
// back. Writes answer 503 with Retry-After (problem+json) meanwhile,
// decisions go on from the in-memory index, ingest resumes without a
// restart of Steward, and every acknowledged event is in the ledger.
// "connection" cuts the connection path with a proxy in front of the test
// server; "restart" stops and starts a throwaway PostgreSQL cluster of the
// test's own (the shared one on 5432 is never stopped).
func TestFaultPostgresRestart(t *testing.T) {
	t.Run("connection", func(t *testing.T) {
		pgURL := dbtest.PostgresURL(t)
		prox := netswitch.Start(t, "127.0.0.1:5432")
		viaProxy := strings.Replace(pgURL, "127.0.0.1:5432", prox.Addr(), 1)
		srv := apptest.StartWith(t, db.Postgres, apptest.Options{DatabaseURL: viaProxy})
		rehearseOutage(t, srv, true, prox.Down, prox.Up)
	})
	t.Run("restart", func(t *testing.T) {
		cluster := startThrowawayPostgres(t)
		srv := apptest.StartWith(t, db.Postgres, apptest.Options{DatabaseURL: cluster.url})
		rehearseOutage(t, srv, true, cluster.stop, cluster.start)
	})
}

// throwawayPostgres is a PostgreSQL cluster made for one test in a
// temporary directory, on a free port, which the test may stop and start.
type throwawayPostgres struct {
	t       *testing.T
	bin     string
	data    string
	url     string
	options string
	asUser  *syscall.Credential
}

func startThrowawayPostgres(t *testing.T) *throwawayPostgres {
	t.Helper()
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(matches) == 0 {
		testenv.Missing(t, "no initdb under /usr/lib/postgresql to make a throwaway cluster")
	}
	pg := &throwawayPostgres{t: t, bin: filepath.Dir(matches[len(matches)-1])}
	dir, err := os.MkdirTemp("", "steward-fault-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if os.Geteuid() == 0 {
		// initdb refuses root: the cluster belongs to the postgres user.
		u, err := user.Lookup("postgres")
		if err != nil {
			testenv.Missing(t, "running as root and no postgres user to own a throwaway cluster")
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
		pg.asUser = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	pg.data = filepath.Join(dir, "data")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	pg.options = fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off", port, dir)
	pg.url = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	pg.run("initdb", "-D", pg.data, "-A", "trust", "-U", "postgres", "--no-sync", "--no-instructions")
	pg.start()
	t.Cleanup(func() { _ = pg.command("pg_ctl", "-D", pg.data, "-m", "immediate", "-w", "stop").Run() })
	return pg
}

func (pg *throwawayPostgres) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(pg.bin, name), args...)
	if pg.asUser != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: pg.asUser}
	}
	return cmd
}

func (pg *throwawayPostgres) run(name string, args ...string) {
	pg.t.Helper()
	if out, err := pg.command(name, args...).CombinedOutput(); err != nil {
		pg.t.Fatalf("%s: %v\n%s", name, err, out)
	}
}

func (pg *throwawayPostgres) start() {
	pg.t.Helper()
	pg.run("pg_ctl", "-D", pg.data, "-o", pg.options, "-l", filepath.Join(filepath.Dir(pg.data), "log"), "-w", "start")
}

func (pg *throwawayPostgres) stop() {
	pg.t.Helper()
	pg.run("pg_ctl", "-D", pg.data, "-m", "fast", "-w", "stop")
}

// TestFaultSQLiteDiskFull: the SQLite store's disk fills up during ingest
// (a small tmpfs made for the test, filled by a file). Writes answer 503
// with Retry-After while it is full, decisions go on, and once the filler
// is deleted ingest resumes by itself with every acknowledged event kept.
func TestFaultSQLiteDiskFull(t *testing.T) {
	dir := smallDisk(t, 16<<20)
	apptest.CopySQLiteStore(t, filepath.Join(dir, "steward.db"))
	srv := apptest.StartWith(t, db.SQLite, apptest.Options{DataDir: dir})
	filler := filepath.Join(dir, "filler")
	fill := func() {
		f, err := os.Create(filler)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		chunk := make([]byte, 64<<10)
		for {
			if _, err := f.Write(chunk); err != nil {
				if !errors.Is(err, syscall.ENOSPC) {
					t.Fatalf("fill the disk: %v", err)
				}
				return
			}
		}
	}
	free := func() {
		if err := os.Remove(filler); err != nil {
			t.Fatal(err)
		}
	}
	rehearseOutage(t, srv, false, fill, free)
}

// smallDisk mounts a tmpfs of size bytes for the test and returns its
// path; it is unmounted when the test ends (after the server that uses it
// has stopped, as cleanups run last first). Without the right to mount
// the test is skipped, or failed under STEWARD_TEST_REQUIRE_ALL=1.
func smallDisk(t *testing.T, size int) string {
	t.Helper()
	// The mount point sits in a directory of the test's own: Steward
	// keeps its erasure journal beside the data directory.
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d,mode=0700", size), "tmpfs", dir).CombinedOutput(); err != nil {
		testenv.Missing(t, "cannot mount a small tmpfs to fill (needs root): %v %s", err, bytes.TrimSpace(out))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", dir, err, out)
		}
	})
	return dir
}
