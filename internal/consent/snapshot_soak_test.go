package consent

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/testenv"
)

// TestSnapshotTenMillion (STEWARD_TEST_SOAK=1; STEWARD_SOAK_EVENTS to
// change the count) measures, each in a child process of its own so that
// its peak resident memory is its own: building the index by applying ten
// million events as "steward bench startup" writes them (a device per
// three events, three purposes, one choice in five a refusal), which is
// the in-memory part of a full rebuild (without reading the rows from the
// store); and loading the snapshot of that index, the part of a start from
// a snapshot that grows with the ledger (the tail's replay does not). Each
// child reports its wall time, its processor time and its peak resident
// memory (VmHWM). The figures are logged, not asserted: the machine may be
// shared.
func TestSnapshotTenMillion(t *testing.T) {
	n := 10_000_000
	if s := os.Getenv("STEWARD_SOAK_EVENTS"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil {
			t.Fatal(err)
		}
	}
	switch os.Getenv("STEWARD_SNAPSHOT_CHILD") {
	case "build":
		started := time.Now()
		x := buildSoakIndex(n)
		took := time.Since(started)
		if path := os.Getenv("STEWARD_SNAPSHOT_PATH"); path != "" {
			started := time.Now()
			states, size, err := writeSnapshotFile(x, snapshotPositions{events: int64(n), chainSeq: int64(n)}, path)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Printf("child: wrote the snapshot (%d states, %d MiB) in %s\n", states, size>>20, time.Since(started).Round(time.Millisecond))
		}
		status, _ := os.ReadFile("/proc/self/status")
		fmt.Printf("child: applied %d events (%d states) in %s; %s\n", n, x.Len(), took.Round(time.Millisecond), statusLine(string(status), "VmHWM"))
		return
	case "load":
		started := time.Now()
		x, pos, size, err := readSnapshot(os.Getenv("STEWARD_SNAPSHOT_PATH"))
		if err != nil {
			t.Fatal(err)
		}
		took := time.Since(started)
		status, _ := os.ReadFile("/proc/self/status")
		fmt.Printf("child: loaded %d states (seq %d, %d MiB) in %s; %s\n", x.Len(), pos.events, size>>20,
			took.Round(time.Millisecond), statusLine(string(status), "VmHWM"))
		return
	}
	if !testenv.Soak() {
		t.Skip("soak test: set STEWARD_TEST_SOAK=1")
	}
	path := filepath.Join(t.TempDir(), "index.snapshot")
	for _, child := range []string{"build", "load"} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestSnapshotTenMillion$", "-test.v")
		cmd.Env = append(os.Environ(), "STEWARD_SNAPSHOT_CHILD="+child, "STEWARD_SNAPSHOT_PATH="+path)
		started := time.Now()
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("child %s: %v\n%s", child, err, out)
		}
		for _, line := range strings.Split(string(out), "\n") {
			if strings.HasPrefix(line, "child:") {
				t.Log(line)
			}
		}
		// The processor time tells more than the wall time on a busy machine.
		t.Logf("child %s: %s wall, %s user, %s system (the process, start and test binary included)", child,
			time.Since(started).Round(time.Millisecond), cmd.ProcessState.UserTime().Round(time.Millisecond),
			cmd.ProcessState.SystemTime().Round(time.Millisecond))
	}
	load, _ := os.ReadFile("/proc/loadavg")
	t.Logf("load average: %s", strings.TrimSpace(string(load)))
}

// buildSoakIndex applies n events shaped as bench startup's.
func buildSoakIndex(n int) *Index {
	x := NewIndex()
	purposes := []string{"analytics", "marketing", "sale_of_data"}
	at := time.Now().Add(-24 * time.Hour)
	batch := make([]indexedEvent, 0, 20000)
	for i := range n {
		action := actionGrant
		if i%5 == 0 {
			action = actionDeny
		}
		batch = append(batch, indexedEvent{Seq: int64(i + 1), Ident: x.key(fmt.Sprintf("%08x-5f1c-4e2a-9b7d-%012x", i/3, i/3)),
			Purpose: purposes[i%3], Action: action, At: unixSeconds(at.Add(time.Duration(i) * time.Millisecond)), Notice: 1})
		if len(batch) == cap(batch) {
			x.apply(batch)
			batch = batch[:0]
		}
	}
	x.apply(batch)
	return x
}

func statusLine(status, name string) string {
	for _, line := range strings.Split(status, "\n") {
		if strings.HasPrefix(line, name+":") {
			return strings.Join(strings.Fields(line), " ")
		}
	}
	return name + ": ?"
}
