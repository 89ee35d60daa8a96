package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/report"
)

// TestReportCommand: `steward report monthly` prints the signed report of
// a month, or writes it with --out; `steward report verify` checks it
// against the data directory's key and refuses it once one byte changed;
// bad input is one line on stderr and a non-zero exit, nothing on stdout.
func TestReportCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cli := func(stdin string, args ...string) (string, string, error) {
		var out, errOut bytes.Buffer
		if len(args) >= 2 {
			args = append([]string{args[0], args[1], "--data-dir", dir}, args[2:]...)
		}
		err := run(context.Background(), args, func(string) string { return "" }, strings.NewReader(stdin), &out, &errOut)
		return out.String(), errOut.String(), err
	}
	month := report.MonthOf(time.Now()).Prev().String()
	out, _, err := cli("", "report", "monthly", "--month", month)
	if err != nil {
		t.Fatal(err)
	}
	var saved struct {
		JWS      string
		Document report.Report
	}
	if err := json.Unmarshal([]byte(out), &saved); err != nil || saved.JWS == "" || saved.Document.Month != month || saved.Document.Kind != report.Kind {
		t.Fatalf("report %v:\n%s", err, out)
	}
	file := filepath.Join(dir, "report.json")
	if _, stderr, err := cli("", "report", "monthly", "--month", month, "--out", file); err != nil || !strings.Contains(stderr, file) {
		t.Fatalf("--out: %v %s", err, stderr)
	}
	if out, _, err = cli("", "report", "verify", file); err != nil || !strings.Contains(out, "verifies") {
		t.Fatalf("verify: %v %s", err, out)
	}
	body, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err = cli(string(body), "report", "verify", "-"); err != nil {
		t.Fatalf("verify from stdin: %v", err)
	}
	at := bytes.Index(body, []byte(`"month":"`)) + len(`"month":"`) + 3
	body[at] ^= 1 // 2026 → 2027, say
	if out, _, err = cli(string(body), "report", "verify", "-"); err == nil || out != "" {
		t.Fatalf("a changed byte verifies: %v %q", err, out)
	}

	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"no month", []string{"report", "monthly"}, "--month: required"},
		{"month without a day's form", []string{"report", "monthly", "--month", "2027-1"}, "not a month"},
		{"thirteenth month", []string{"report", "monthly", "--month", "2027-13"}, "not a month"},
		{"a date", []string{"report", "monthly", "--month", "2027-01-01"}, "not a month"},
		{"a month to come", []string{"report", "monthly", "--month", "2999-01"}, "month"},
		{"extra argument", []string{"report", "monthly", "--month", "2027-01", "extra"}, "unexpected argument"},
		{"verify a missing file", []string{"report", "verify", filepath.Join(dir, "none.json")}, "read report"},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, _, err := cli("", c.args...)
			if err == nil || out != "" {
				t.Fatalf("err %v, stdout %q", err, out)
			}
			if msg := err.Error(); !strings.Contains(msg, c.want) || strings.Contains(oneLine(msg), "\n") {
				t.Fatalf("error %q, want one line with %q", msg, c.want)
			}
		})
	}
	// An unknown subcommand and a missing file argument are usage errors.
	if _, stderr, err := cli("", "report", "yearly"); err == nil || stderr == "" {
		t.Fatalf("report yearly: %v %q", err, stderr)
	}
	if _, _, err := cli("", "report", "verify"); err == nil {
		t.Fatal("verify without a file")
	}
}
