package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/app/apptest"
	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	_ "modernc.org/sqlite"
)

// TestMain lets the tests start this test binary as "steward": with
// STEWARD_TEST_CHILD=1 it runs the program instead of the tests.
func TestMain(m *testing.M) {
	if os.Getenv("STEWARD_TEST_CHILD") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

func runCLI(t *testing.T, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	env := map[string]string{}
	err = run(context.Background(), args, func(k string) string { return env[k] }, strings.NewReader(stdin), &out, &errOut)
	return out.String(), errOut.String(), err
}

func TestCLIUsageAndErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		args    []string
		wantErr string
		wantOut string
	}{
		{"help", []string{"--help"}, "help requested", "Usage: steward COMMAND"},
		{"unknown command", []string{"frobnicate"}, `unknown command "frobnicate"`, ""},
		{"bad setting", []string{"serve", "--data-dir", t.TempDir(), "--log-level", "loud"}, "--log-level", ""},
		{"bad scope", []string{"apikey", "create", "--data-dir", t.TempDir(), "--scope", "root"}, "--scope", ""},
		{"tcf decode garbage", []string{"tcf", "decode", "!!!"}, "tcf:", ""},
		{"version", []string{"version"}, "", "steward "},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, _, err := runCLI(t, "", c.args...)
			if c.wantErr == "" && err != nil {
				t.Fatalf("error %v", err)
			}
			if c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)) {
				t.Fatalf("error %v, want it to mention %q", err, c.wantErr)
			}
			if !strings.Contains(out, c.wantOut) {
				t.Fatalf("stdout %q lacks %q", out, c.wantOut)
			}
		})
	}
}

func TestAPIKeyCreatePrintsKeyAlone(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out, _, err := runCLI(t, "", "apikey", "create", "--scope", "admin", "--data-dir", dir)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out, "stw_admin_") || strings.Count(out, "\n") != 1 {
		t.Fatalf("stdout %q: want the key alone on one line", out)
	}
	// A back end's record key belongs to no property.
	if out, _, err := runCLI(t, "", "apikey", "create", "--scope", "record", "--data-dir", dir); err != nil || !strings.HasPrefix(out, "stw_record_") {
		t.Fatalf("record key: %q, %v", out, err)
	}
	if _, _, err := runCLI(t, "", "apikey", "create", "--scope", "record", "--property", "demo", "--data-dir", dir); err == nil {
		t.Fatal("a record key bound to a property was created")
	}
	if _, _, err := runCLI(t, "", "apikey", "create", "--scope", "ingest", "--property", "nope", "--data-dir", dir); err == nil {
		t.Fatal("ingest key for an unknown property was created")
	}
}

// child is a steward process started from the test binary.
type child struct {
	cmd    *exec.Cmd
	url    string
	stdout *bufio.Scanner
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func startChild(t *testing.T, args ...string) *child {
	t.Helper()
	addr := freeAddr(t)
	cmd := exec.Command(os.Args[0], append([]string{"serve", "--listen", addr, "--log-level", "warn"}, args...)...)
	// New staff passwords (the demo's, with --demo) at the cheapest
	// argon2id cost the settings allow: the production cost takes seconds
	// per hash under -race, and these tests test the logic, not the cost.
	cmd.Env = append(os.Environ(), "STEWARD_TEST_CHILD=1", "STEWARD_PASSWORD_MEMORY=8", "STEWARD_PASSWORD_TIME=1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, url: "http://" + addr, stdout: bufio.NewScanner(stdout)}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	// A demo server under -race on a loaded 2-core machine has been seen
	// to need more than 30 s to open its stores and seed the demo; a long
	// deadline costs a passing test nothing.
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		resp, err := http.Get(c.url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return c
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("steward did not become ready at %s", c.url)
	return nil
}

// migratedDataDir returns a new data directory that holds a migrated
// SQLite store (Steward's and River's migrations), a copy of a template,
// for a test of something other than a first start
// (TestSIGTERMShutsDownGracefully, TestReceiptVerifyCommand and
// TestAPIKeyCreatePrintsKeyAlone start from an empty directory): steward
// then finds nothing to migrate, which saves seconds per start under -race.
func migratedDataDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	apptest.CopySQLiteStore(t, dir+"/steward.db")
	return dir
}

// demoKey reads a key line ("  Admin key   stw_...") from the child's output.
func (c *child) demoKey(t *testing.T, label string) string {
	t.Helper()
	for c.stdout.Scan() {
		line := strings.TrimSpace(c.stdout.Text())
		if strings.HasPrefix(line, label) {
			return strings.Fields(strings.TrimPrefix(line, label))[0]
		}
	}
	t.Fatalf("no %q line in the demo output", label)
	return ""
}

// pipeRest returns the rest of the child's stdout as a reader.
func pipeRest(c *child) io.Reader {
	r, w := io.Pipe()
	go func() {
		for c.stdout.Scan() {
			fmt.Fprintln(w, c.stdout.Text())
		}
		w.Close()
	}()
	return r
}

// TestReceiptVerifyCommand verifies a receipt served by a running steward
// against its JWKS, and refuses the same receipt with one byte changed.
func TestReceiptVerifyCommand(t *testing.T) {
	t.Parallel()
	// An empty data directory, not migratedDataDir: the transparency
	// check below expects version 1 of the page, and on a migrated store
	// it has been seen at version 2 (the jobs start sooner there, so
	// transparency.refresh may publish a version before --demo seeds the
	// catalog).
	dir := t.TempDir()
	c := startChild(t, "--data-dir", dir, "--demo")
	ingest := ""
	c.demoKey(t, "Admin key")
	ingest = c.demoKey(t, "Ingest key")
	go io.Copy(io.Discard, pipeRest(c))
	body := `{"events":[{"id":"r-1","property":"demo","device":"dev-r","purpose":"analytics","action":"grant","source":"banner","notice_version":"2026-11"}]}`
	req, _ := http.NewRequest(http.MethodPost, c.url+"/v1/consent/events", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+ingest)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		Results []struct {
			Receipt string `json:"receipt"`
		} `json:"results"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || len(out.Results) != 1 {
		t.Fatalf("append: %v %+v", err, out)
	}
	resp.Body.Close()
	jws := out.Results[0].Receipt
	file := dir + "/receipt.jws"
	if err := os.WriteFile(file, []byte(jws+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	stdout, _, err := runCLI(t, "", "receipt", "verify", "--jwks", c.url+"/.well-known/jwks.json", file)
	if err != nil || !strings.Contains(stdout, `"eventId": "r-1"`) || !strings.Contains(stdout, `"version": "KI-CR-v1.1.0"`) {
		t.Fatalf("verify against the JWKS URL: %v\n%s", err, stdout)
	}
	// Offline, with the data directory's key, from stdin.
	if _, _, err := runCLI(t, jws, "receipt", "verify", "--data-dir", dir, "-"); err != nil {
		t.Fatalf("verify with the local key: %v", err)
	}
	parts := strings.Split(jws, ".")
	payload := []byte(parts[1])
	payload[10] ^= 1 // one changed byte in the content
	tampered := parts[0] + "." + string(payload) + "." + parts[2]
	_, _, err = runCLI(t, tampered, "receipt", "verify", "--data-dir", dir, "-")
	if err == nil || !strings.Contains(err.Error(), "receipt does not verify") {
		t.Fatalf("tampered receipt: %v", err)
	}

	// The transparency page, saved as served, verifies the same way; its
	// document edited does not.
	resp, err = http.Get(c.url + "/transparency.json")
	if err != nil {
		t.Fatal(err)
	}
	page, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /transparency.json: %d %v", resp.StatusCode, err)
	}
	stdout, stderr, err := runCLI(t, string(page), "receipt", "verify", "--jwks", c.url+"/.well-known/jwks.json", "-")
	if err != nil || !strings.Contains(stderr, "transparency page version 1") || !strings.Contains(stdout, `"purposes"`) {
		t.Fatalf("verify /transparency.json: %v\n%s\n%s", err, stderr, stdout)
	}
	edited := strings.Replace(string(page), `"version":1`, `"version":2`, 1)
	if _, _, err := runCLI(t, edited, "receipt", "verify", "--data-dir", dir, "-"); err == nil || !strings.Contains(err.Error(), "differs from what its JWS signs") {
		t.Fatalf("edited transparency document: %v", err)
	}
}

// TestSIGTERMShutsDownGracefully: steward exits 0 on SIGTERM.
func TestSIGTERMShutsDownGracefully(t *testing.T) {
	t.Parallel()
	c := startChild(t, "--data-dir", t.TempDir())
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- c.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("steward did not stop within 20s of SIGTERM")
	}
}

// TestKeysRotateCommand generates two keys, starts with the first, rotates
// to the second and retires the first.
func TestKeysRotateCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	k1, _, err := runCLI(t, "", "keys", "generate")
	if err != nil {
		t.Fatal(err)
	}
	k2, _, _ := runCLI(t, "", "keys", "generate")
	file := dir + "/master.keys"
	os.WriteFile(file, []byte("1:"+strings.TrimSpace(k1)+"\n"), 0o600)
	if out, _, err := runCLI(t, "", "keys", "status", "--data-dir", dir, "--master-key-file", file); err != nil || !strings.Contains(out, `"active": 1`) {
		t.Fatalf("status: %v\n%s", err, out)
	}
	os.WriteFile(file, []byte("1:"+strings.TrimSpace(k1)+"\n2:"+strings.TrimSpace(k2)+"\n"), 0o600)
	out, _, err := runCLI(t, "", "keys", "rotate", "--to", "2", "--retire", "1", "--data-dir", dir, "--master-key-file", file)
	if err != nil || !strings.Contains(out, "version 2") || !strings.Contains(out, "version 1 is retired") {
		t.Fatalf("rotate: %v\n%s", err, out)
	}
	if _, _, err := runCLI(t, "", "keys", "rotate", "--data-dir", dir, "--master-key-file", file); err == nil {
		t.Fatal("rotate without --to succeeded")
	}
}

// TestAuditVerifyCommand: the log of a server that made keys and revealed
// nothing verifies; a changed entry is named.
func TestAuditVerifyCommand(t *testing.T) {
	t.Parallel()
	dir := migratedDataDir(t)
	c := startChild(t, "--data-dir", dir, "--demo")
	admin := c.demoKey(t, "Admin key")
	go io.Copy(io.Discard, pipeRest(c))
	for _, scope := range []string{"decide", "admin"} {
		req, _ := http.NewRequest(http.MethodPost, c.url+"/v1/api-keys", strings.NewReader(`{"scope":"`+scope+`","label":"x"}`))
		req.Header.Set("Authorization", "Bearer "+admin)
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 201 {
			t.Fatalf("create key: %v %v", resp, err)
		}
		resp.Body.Close()
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	_ = c.cmd.Wait()
	out, _, err := runCLI(t, "", "audit", "verify", "--data-dir", dir)
	if err != nil || !strings.Contains(out, "verif") {
		t.Fatalf("audit verify: %v\n%s", err, out)
	}
	store, err := sql.Open("sqlite", dir+"/steward.db")
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	// Tamper behind the log's back (the triggers refuse updates, so drop them first).
	if _, err := store.Exec(`DROP TRIGGER IF EXISTS audit_entries_no_update`); err != nil {
		t.Fatal(err)
	}
	var triggers []string
	rows, _ := store.Query(`SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_entries'`)
	for rows.Next() {
		var n string
		rows.Scan(&n)
		triggers = append(triggers, n)
	}
	rows.Close()
	for _, n := range triggers {
		store.Exec(`DROP TRIGGER "` + n + `"`)
	}
	if _, err := store.Exec(`UPDATE audit_entries SET action = 'api_key.revoke' WHERE seq = 1`); err != nil {
		t.Fatal(err)
	}
	out, _, err = runCLI(t, "", "audit", "verify", "--data-dir", dir)
	if err == nil || !strings.Contains(out+err.Error(), "1") {
		t.Fatalf("tampered log verified: %v\n%s", err, out)
	}
}

// TestAuditVerifyTail: a server writes its checkpoints to
// --audit-checkpoint-file, outside its data directory; verify reports an
// entry no checkpoint covers (and fails on it with --strict), and names the
// entries cut from the end of the log although the chain head and the
// database's checkpoints were made to agree.
func TestAuditVerifyTail(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir, witness := migratedDataDir(t), t.TempDir()+"/audit-checkpoints.txt"
	c := startChild(t, "--data-dir", dir, "--demo", "--audit-checkpoint-file", witness)
	admin := c.demoKey(t, "Admin key")
	go io.Copy(io.Discard, pipeRest(c))
	for range 2 {
		req, _ := http.NewRequest(http.MethodPost, c.url+"/v1/api-keys", strings.NewReader(`{"scope":"decide","label":"x"}`))
		req.Header.Set("Authorization", "Bearer "+admin)
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 201 {
			t.Fatalf("create key: %v %v", resp, err)
		}
		resp.Body.Close()
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	_ = c.cmd.Wait()
	if _, err := os.Stat(dir + "/audit-checkpoints.txt"); err == nil {
		t.Fatal("checkpoints were written to the data directory")
	}
	args := []string{"audit", "verify", "--data-dir", dir, "--audit-checkpoint-file", witness}
	out, _, err := runCLI(t, "", append(args, "--strict")...)
	if err != nil || !strings.Contains(out, "audit log OK") || !strings.Contains(out, "signed checkpoints agree") || strings.Contains(out, "not covered") {
		t.Fatalf("audit verify --strict after a clean stop: %v\n%s", err, out)
	}

	store, err := db.Open(ctx, "", dir)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	size, _, err := readAuditHead(store)
	if err != nil {
		t.Fatal(err)
	}
	log, err := audit.New(audit.Config{DB: store})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := log.Append(ctx, audit.Entry{Actor: audit.Staff("7"), Action: "keys.rotate"}); err != nil {
		t.Fatal(err)
	}
	out, _, err = runCLI(t, "", args...)
	want := fmt.Sprintf("1 entry after the last checkpoint (entry %d", size+1)
	if err != nil || !strings.Contains(out, "audit log OK") || !strings.Contains(out, want) {
		t.Fatalf("audit verify with an uncovered entry: %v\n%s\nwant %q", err, out, want)
	}
	if out, _, err = runCLI(t, "", append(args, "--strict", "--grace", "1ns")...); err == nil || !strings.Contains(out, "FAILED") {
		t.Fatalf("audit verify --strict with an old uncovered entry: %v\n%s", err, out)
	}

	// Cut the last covered entry and the uncovered one; make the head and
	// the database's checkpoints agree with what is left.
	for _, q := range []string{`DROP TRIGGER IF EXISTS audit_entries_no_update`, `DROP TRIGGER IF EXISTS audit_entries_no_delete`} {
		if _, err := store.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	var hash []byte
	if err := store.QueryRow(`SELECT hash FROM audit_entries WHERE seq = $1`, size-1).Scan(&hash); err != nil {
		t.Fatal(err)
	}
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`DELETE FROM audit_entries WHERE seq >= $1`, []any{size}},
		{`DELETE FROM audit_checkpoints WHERE size >= $1`, []any{size}},
		{`UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1`, []any{size - 1, hash}},
	} {
		if _, err := store.Exec(q.sql, q.args...); err != nil {
			t.Fatalf("%s: %v", q.sql, err)
		}
	}
	out, _, err = runCLI(t, "", args...)
	want = fmt.Sprintf("entry %d is missing", size)
	if err == nil || !strings.Contains(out, "FAILED") || !strings.Contains(out, want) {
		t.Fatalf("audit verify after cutting the tail: %v\n%s\nwant %q", err, out, want)
	}
}

func readAuditHead(store *db.DB) (int64, []byte, error) {
	var seq int64
	var hash []byte
	err := store.QueryRow(`SELECT seq, hash FROM audit_head WHERE id = 1`).Scan(&seq, &hash)
	return seq, hash, err
}

// TestStaffCreateCommand bootstraps the first administrator: the command
// prints the TOTP secret once, refuses bad input in one line, and needs the
// master key (TOTP secrets are sealed by the vault).
func TestStaffCreateCommand(t *testing.T) {
	t.Parallel()
	dir := migratedDataDir(t)
	key, _, _ := runCLI(t, "", "keys", "generate")
	file := dir + "/master.keys"
	os.WriteFile(file, []byte("1:"+strings.TrimSpace(key)+"\n"), 0o600)
	// The cheapest argon2id cost the settings allow: the production cost
	// takes seconds per hash under -race, and this tests the command.
	cheap := []string{"--password-memory", "8", "--password-time", "1"}
	args := append([]string{"staff", "create", "--email", "ada@shop.example", "--name", "Ada", "--data-dir", dir, "--master-key-file", file}, cheap...)
	out, _, err := runCLI(t, "", args...)
	if err != nil || !regexp.MustCompile(`(?m)^TOTP secret: [A-Z2-7]{32}$`).MatchString(out) || !strings.Contains(out, "otpauth://totp/") ||
		!regexp.MustCompile(`(?m)^password: \S{26}$`).MatchString(out) || !strings.Contains(out, "(ada@shop.example, admin) created") {
		t.Fatalf("staff create: %v\n%s", err, out)
	}
	out, _, err = runCLI(t, "long enough password 1\n", append([]string{"staff", "create", "--email", "bo@shop.example", "--name", "Bo", "--role", "privacy_officer",
		"--password-stdin", "--data-dir", dir, "--master-key-file", file}, cheap...)...)
	if err != nil || strings.Contains(out, "password:") || !strings.Contains(out, "privacy_officer") {
		t.Fatalf("staff create --password-stdin: %v\n%s", err, out)
	}
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"the same email", args, "a staff account with this email exists"},
		{"a bad role", []string{"staff", "create", "--email", "cy@shop.example", "--name", "Cy", "--role", "root", "--data-dir", dir, "--master-key-file", file}, "role"},
		{"sealed", []string{"staff", "create", "--email", "cy@shop.example", "--name", "Cy", "--data-dir", dir}, "the vault is sealed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, _, err := runCLI(t, "", c.args...); err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("err = %v, want one line with %q", err, c.want)
			}
		})
	}
}

// TestBenchIngest runs the ingest load tool briefly on both stores: it
// prints the calibration row and the ingest row without errors, and on
// PostgreSQL measures in a schema of its own that it drops afterwards.
func TestBenchIngest(t *testing.T) {
	t.Parallel()
	for _, store := range []string{"sqlite", "postgres"} {
		t.Run(store, func(t *testing.T) {
			args := []string{"bench", "ingest", "--duration", "300ms", "--connections", "4"}
			if store == "postgres" {
				args = append(args, "--database", dbtest.PostgresURL(t))
			}
			out, errOut, err := runCLI(t, "", args...)
			if err != nil {
				t.Fatalf("bench ingest: %v\n%s", err, errOut)
			}
			for _, row := range []string{"baseline echo", "ingest " + store} {
				fields := []string{}
				for _, line := range strings.Split(out, "\n") {
					if strings.HasPrefix(line, row) {
						fields = strings.Fields(strings.TrimPrefix(line, row))
					}
				}
				if len(fields) < 2 || fields[0] == "0" || fields[1] != "0" {
					t.Errorf("row %q: want requests and no errors, got %q in\n%s", row, fields, out)
				}
			}
			if store != "postgres" {
				return
			}
			m := regexp.MustCompile(`new schema (\w+)`).FindStringSubmatch(errOut)
			if m == nil {
				t.Fatalf("no schema named in %q", errOut)
			}
			admin, err := sql.Open("pgx", dbtest.PostgresURL(t))
			if err != nil {
				t.Fatal(err)
			}
			defer admin.Close()
			var left int
			if err := admin.QueryRow(`SELECT count(*) FROM pg_namespace WHERE nspname = $1`, m[1]).Scan(&left); err != nil || left != 0 {
				t.Errorf("schema %s left behind (%d, %v)", m[1], left, err)
			}
		})
	}
}

// TestLedgerVerifyCommand: the ledger of a server that recorded events
// verifies against its checkpoint file; an edited row is named by
// `steward ledger verify`, and a server started on the edited ledger is not
// ready (/readyz 503) and says so in steward_ledger_chain_ok.
func TestLedgerVerifyCommand(t *testing.T) {
	t.Parallel()
	dir := migratedDataDir(t)
	c := startChild(t, "--data-dir", dir, "--demo")
	admin := c.demoKey(t, "Admin key")
	ingest := c.demoKey(t, "Ingest key")
	go io.Copy(io.Discard, pipeRest(c))
	post := func(body, key string) *http.Response {
		req, _ := http.NewRequest(http.MethodPost, c.url+"/v1/consent/events", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	resp := post(`{"events":[{"id":"l1","property":"demo","device":"dev-1","purpose":"analytics","action":"grant","source":"banner"},
		{"id":"l2","property":"demo","device":"dev-1","purpose":"marketing","action":"deny","source":"banner"}]}`, ingest)
	var appended struct {
		Results []struct {
			Seq     int64  `json:"seq"`
			Receipt string `json:"receipt"`
		} `json:"results"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&appended); err != nil || resp.StatusCode != 200 || len(appended.Results) != 2 {
		t.Fatalf("append: %d %v", resp.StatusCode, err)
	}
	resp.Body.Close()
	// The same id with other content is a conflict that names the event.
	resp = post(`{"events":[{"id":"l2","property":"demo","device":"dev-1","purpose":"marketing","action":"grant","source":"banner"}]}`, ingest)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusConflict || !strings.Contains(string(body), "events[0].id") || strings.Contains(string(body), "deny") {
		t.Fatalf("conflicting duplicate: %d %s", resp.StatusCode, body)
	}
	// GET returns the receipt as issued.
	req, _ := http.NewRequest(http.MethodGet, c.url+"/v1/consent/events/demo/l2", nil)
	req.Header.Set("Authorization", "Bearer "+admin)
	got, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(got.Body)
	got.Body.Close()
	if got.StatusCode != 200 || !strings.Contains(string(body), appended.Results[1].Receipt) {
		t.Fatalf("get event: %d %s", got.StatusCode, body)
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	_ = c.cmd.Wait()

	for _, flags := range [][]string{nil, {"--receipts"}} {
		out, _, err := runCLI(t, "", append([]string{"ledger", "verify", "--data-dir", dir}, flags...)...)
		if err != nil || !strings.Contains(out, "consent ledger OK") || !strings.Contains(out, "signed checkpoints checked") ||
			!strings.Contains(out, " 0 entries covered by no checkpoint") {
			t.Fatalf("ledger verify %v: %v\n%s", flags, err, out)
		}
	}
	if stdout, _, err := runCLI(t, "", "ledger", "verify", "--help"); !errors.Is(err, flag.ErrHelp) || !strings.Contains(stdout, "-checkpoint") {
		t.Fatalf("ledger verify --help: %v\n%s", err, stdout)
	}

	store, err := sql.Open("sqlite", dir+"/steward.db")
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	last := appended.Results[1].Seq
	if _, err := store.Exec(`UPDATE consent_events SET action = 'grant' WHERE seq = ?`, last); err != nil {
		t.Fatal(err)
	}
	out, _, err := runCLI(t, "", "ledger", "verify", "--data-dir", dir)
	if err == nil || !strings.Contains(out, fmt.Sprintf("entry %d (event \"l2\")", last)) {
		t.Fatalf("edited ledger: %v\n%s", err, out)
	}

	// A server started on the edited ledger runs, but is not ready.
	addr := freeAddr(t)
	cmd := exec.Command(os.Args[0], "serve", "--listen", addr, "--log-level", "error", "--data-dir", dir)
	cmd.Env = append(os.Environ(), "STEWARD_TEST_CHILD=1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	deadline := time.Now().Add(2 * time.Minute)
	for {
		resp, err := http.Get("http://" + addr + "/livez")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("steward did not start")
		}
		time.Sleep(50 * time.Millisecond)
	}
	ready, err := http.Get("http://" + addr + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(ready.Body)
	ready.Body.Close()
	if ready.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "hash chain is broken") {
		t.Fatalf("/readyz on an edited ledger: %d %s", ready.StatusCode, body)
	}
	metrics, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(metrics.Body)
	metrics.Body.Close()
	if !strings.Contains(string(body), "steward_ledger_chain_ok 0") {
		t.Fatal("steward_ledger_chain_ok is not 0 on an edited ledger")
	}
}
