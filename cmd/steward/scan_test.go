package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/ethics/ethicstest"
	"github.com/steward-dev/steward/internal/receipt"
	"github.com/steward-dev/steward/internal/scanner"
	"github.com/steward-dev/steward/internal/scanner/scantest"
	"github.com/steward-dev/steward/internal/testenv"
)

// TestScanCommand: `steward scan` refuses bad input in one line, says so
// when Chromium is missing, and on the fixture site exits non-zero with
// --fail-on violation while the tracker fires before consent, and zero
// once the site is fixed; both runs are stored.
func TestScanCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	url := "sqlite:" + dir + "/steward.db"
	cli := func(args ...string) (string, string, error) {
		var out, errOut bytes.Buffer
		args = append(args, "--data-dir", dir, "--database", url)
		err := run(context.Background(), args, func(string) string { return "" }, strings.NewReader(""), &out, &errOut)
		return out.String(), errOut.String(), err
	}
	// A migrated store (TestAnalyticsRebuildCommand runs `steward migrate`).
	dbtest.CopySQLiteTemplate(t, dir+"/steward.db")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no property", []string{"scan"}, "--property: required"},
		{"bad fail-on", []string{"scan", "--property", "shop", "--fail-on", "warning"}, `--fail-on: must be violation or drift, not "warning"`},
		{"bad pages", []string{"scan", "--property", "shop", "--pages", "0"}, "--pages: must be 1 to"},
		{"no chromium", []string{"scan", "--property", "shop", "--chrome", dir + "/no-chromium"}, "the scanner needs Chromium, and none was found"},
	} {
		out, _, err := cli(tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(oneLine(err.Error()), "\n") || out != "" {
			t.Errorf("%s: %v (stdout %q), want %q", tc.name, err, out, tc.want)
		}
	}
	if _, err := scanner.FindChrome(""); err != nil {
		testenv.Missing(t, "steward scan needs Chromium: %v", err)
	}

	ctx := context.Background()
	store, err := db.Open(ctx, url, "")
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	_, key, _ := ed25519.GenerateKey(nil)
	signer, _ := receipt.NewSigner(key)
	svc, err := consent.Open(ctx, consent.Config{DB: store, Signer: signer, FollowInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	ethicstest.OpenPurposes(t, svc)
	scantest.Seed(t, svc)
	site := scantest.New(t, scantest.Banner(t, svc, store, ""), true, false, 2)

	if _, _, err := cli("scan", "--property", "nope", "--url", site.URL); err == nil || !strings.Contains(err.Error(), `property "nope" not found`) {
		t.Errorf("unknown property: %v", err)
	}
	if _, _, err := cli("scan", "--property", scantest.Property, "--url", "http://elsewhere.example/"); err == nil || !strings.Contains(err.Error(), "url: must be an http or https address") {
		t.Errorf("a URL outside the property: %v", err)
	}

	out, _, err := cli("scan", "--property", scantest.Property, "--url", site.URL, "--fail-on", "violation")
	if !errors.Is(err, errViolations) {
		t.Fatalf("broken site: %v, want the violations error\n%s", err, out)
	}
	for _, want := range []string{"2 pages in 5 consent states", "36 violations", `<script type="text/plain" data-steward-purpose="PURPOSE" src="` + site.Tracker + `/tracker.js"></script>`} {
		if !strings.Contains(out, want) {
			t.Errorf("broken site: no %q in\n%s", want, out)
		}
	}
	for _, row := range []string{"none cookie _fbp marketing before_consent", "reject cookie tp_id marketing purpose_refused", "only:marketing script localhost - purpose_refused",
		"session_storage stats_visit", "cookie tp_id localhost third marketing declared"} {
		if !hasRow(out, row) {
			t.Errorf("broken site: no row %q in\n%s", row, out)
		}
	}
	site.SetBroken(false)
	out, _, err = cli("scan", "--property", scantest.Property, "--url", site.URL, "--fail-on", "violation")
	if err != nil || !strings.Contains(out, "\n0 violations\n") {
		t.Errorf("fixed site: %v\n%s", err, out)
	}
	// Undeclared trackers are inventory drift: recorded, once each, open
	// while the latest scan sees them; --fail-on drift fails on them.
	var undeclared int
	if m := regexp.MustCompile(`(\d+) undeclared \(inventory drift\)`).FindStringSubmatch(out); m == nil {
		t.Errorf("fixed site: no count of undeclared trackers in\n%s", out)
	} else {
		undeclared, _ = strconv.Atoi(m[1])
	}
	out, _, err = cli("scan", "--property", scantest.Property, "--url", site.URL, "--fail-on", "drift")
	if (undeclared > 0) != errors.Is(err, errDrift) {
		t.Errorf("--fail-on drift with %d undeclared trackers: %v\n%s", undeclared, err, out)
	}
	var open int
	if err := store.QueryRowContext(ctx, `SELECT count(*) FROM drift_findings WHERE system_name = 'site:shop' AND evidence = 'tracker'
		AND state = 'open'`).Scan(&open); err != nil || open != undeclared {
		t.Errorf("%d open tracker findings after three scans, %v; want %d, once each", open, err, undeclared)
	}
	var runs int
	if err := store.QueryRowContext(ctx, `SELECT count(*) FROM scan_runs WHERE property = 'shop' AND state = 'done' AND trigger_kind = 'cli'`).Scan(&runs); err != nil || runs != 3 {
		t.Errorf("%d stored runs, %v; want 3", runs, err)
	}
	if site.Posts.Load() != 0 {
		t.Error("the scan submitted a form")
	}
}

// hasRow reports whether a line of out starts with the words of row,
// whatever the columns' widths.
func hasRow(out, row string) bool {
	want := strings.Fields(row)
	for _, line := range strings.Split(out, "\n") {
		if got := strings.Fields(line); len(got) >= len(want) && slices.Equal(got[:len(want)], want) {
			return true
		}
	}
	return false
}
