package main

import (
	"os"
	"strings"
	"testing"
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
