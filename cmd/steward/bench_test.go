package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/steward-dev/steward/internal/loadgen"
)

// TestBenchIngestDuringBackups runs two alternating rounds with backups
// taken back to back in a directory of the caller's choosing: every run
// has its row, the runs during backups took at least one, and the summary
// compares them; the directory is left empty.
func TestBenchIngestDuringBackups(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out, errOut, err := runCLI(t, "", "bench", "ingest", "--duration", "1500ms", "--connections", "4",
		"--during-backups", "--rounds", "2", "--dir", dir)
	if err != nil {
		t.Fatalf("bench ingest: %v\n%s", err, errOut)
	}
	for _, row := range []string{"ingest sqlite #1", "ingest sqlite during backups #1", "ingest sqlite #2", "ingest sqlite during backups #2"} {
		var fields []string
		for _, line := range strings.Split(out, "\n") {
			if strings.HasPrefix(line, row+" ") {
				fields = strings.Fields(strings.TrimPrefix(line, row))
			}
		}
		if len(fields) < 2 || fields[0] == "0" || fields[1] != "0" {
			t.Errorf("row %q: want requests and no errors, got %q in\n%s", row, fields, out)
		}
		if strings.Contains(row, "during") && (len(fields) == 0 || fields[len(fields)-1] == "0") {
			t.Errorf("row %q: no backup was completed during the run: %q", row, fields)
		}
	}
	if !strings.Contains(out, "ingest during backups / without, 2 round(s): median ") {
		t.Errorf("no summary in\n%s", out)
	}
	if entries, err := os.ReadDir(dir); err != nil || len(entries) != 0 {
		t.Errorf("--dir holds %d entries afterwards (%v), want none", len(entries), err)
	}
}

func TestSpread(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name           string
		values         []float64
		lo, median, hi float64
	}{
		{"none", nil, 0, 0, 0},
		{"one", []float64{3}, 3, 3, 3},
		{"odd", []float64{5, 1, 3}, 1, 3, 5},
		{"even", []float64{4, 1, 3, 2}, 1, 2.5, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lo, median, hi := spread(tt.values)
			if lo != tt.lo || median != tt.median || hi != tt.hi {
				t.Errorf("spread(%v) = %v, %v, %v; want %v, %v, %v", tt.values, lo, median, hi, tt.lo, tt.median, tt.hi)
			}
		})
	}
}

// TestBenchDecide runs two rounds of the echo and two batch sizes: every
// run has its row, each batch size its comparison with the echo round by
// round, and each run's measured phase its CPU profile.
func TestBenchDecide(t *testing.T) {
	dir := t.TempDir()
	out, errOut, err := runCLI(t, "", "bench", "decide", "--duration", "300ms", "--connections", "2", "--devices", "50",
		"--batch", "1,3", "--rounds", "2", "--cpuprofiles", dir)
	if err != nil {
		t.Fatalf("bench decide: %v\n%s", err, errOut)
	}
	for _, row := range []string{"baseline echo #1", "decide batch=1 #1", "decide batch=3 #1", "baseline echo #2", "decide batch=1 #2", "decide batch=3 #2"} {
		var fields []string
		for _, line := range strings.Split(out, "\n") {
			if strings.HasPrefix(line, row+" ") {
				fields = strings.Fields(strings.TrimPrefix(line, row))
			}
		}
		if len(fields) < 2 || fields[0] == "0" || fields[1] != "0" {
			t.Errorf("row %q: want requests and no errors, got %q in\n%s", row, fields, out)
		}
	}
	for _, batch := range []string{"1", "3"} {
		if !strings.Contains(out, "decide batch="+batch+" / echo, 2 round(s): req/s median ") {
			t.Errorf("no comparison of batch=%s with the echo in\n%s", batch, out)
		}
	}
	for _, name := range []string{"echo-1", "echo-2", "decide-batch1-1", "decide-batch1-2", "decide-batch3-1", "decide-batch3-2"} {
		if st, err := os.Stat(filepath.Join(dir, name+".pprof")); err != nil || st.Size() == 0 {
			t.Errorf("profile %s: %v", name, err)
		}
	}
	if _, _, err := runCLI(t, "", "bench", "decide", "--cpuprofile", filepath.Join(dir, "all"), "--cpuprofiles", dir); err == nil {
		t.Error("--cpuprofile and --cpuprofiles together were accepted")
	}
}

func TestEchoRatioSummary(t *testing.T) {
	echo := []loadgen.Result{{RequestsPerSecond: 100, P99: 10, Requests: 10, CPU: 100}, {RequestsPerSecond: 200, P99: 20, Requests: 10, CPU: 100}}
	decide := []loadgen.Result{{RequestsPerSecond: 90, P99: 12, Requests: 10, CPU: 110}, {RequestsPerSecond: 100, P99: 20, Requests: 10, CPU: 150}}
	got := echoRatioSummary("decide batch=1", echo, decide)
	want := "decide batch=1 / echo, 2 round(s): req/s median 0.70 (0.50–0.90; rounds 0.90 0.50); p99 median 1.10 (1.00–1.20; rounds 1.20 1.00); cpu/req median 1.30 (1.10–1.50; rounds 1.10 1.50)"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}
