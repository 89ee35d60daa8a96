package consent

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/testenv"
)

// TestSnapshotTenMillion (STEWARD_TEST_SOAK=1) builds the index of ten
// million events as "steward bench startup" writes them (a device per
// three events, three purposes, one choice in five a refusal), writes its
// snapshot, and loads it in a child process, which reports the time the
// load took and its peak resident memory: the part of a start from a
// snapshot that grows with the ledger (the tail's replay does not).
// The figures are logged, not asserted: the machine may be shared.
func TestSnapshotTenMillion(t *testing.T) {
	if path := os.Getenv("STEWARD_SNAPSHOT_CHILD"); path != "" {
		started := time.Now()
		x, pos, size, err := readSnapshot(path)
		if err != nil {
			t.Fatal(err)
		}
		took := time.Since(started)
		status, _ := os.ReadFile("/proc/self/status")
		fmt.Printf("child: loaded %d states (seq %d, %d MiB) in %s; %s; %s\n", x.Len(), pos.events, size>>20,
			took.Round(time.Millisecond), statusLine(string(status), "VmHWM"), statusLine(string(status), "VmRSS"))
		return
	}
	if !testenv.Soak() {
		t.Skip("soak test: set STEWARD_TEST_SOAK=1")
	}
	const n = 10_000_000
	x := NewIndex()
	purposes := []string{"analytics", "marketing", "sale_of_data"}
	at := time.Now().Add(-24 * time.Hour)
	started := time.Now()
	batch := make([]indexedEvent, 0, 20000)
	for i := range n {
		action := ActionGrant
		if i%5 == 0 {
			action = ActionDeny
		}
		batch = append(batch, indexedEvent{seq: int64(i + 1), ident: x.key(fmt.Sprintf("%08x-5f1c-4e2a-9b7d-%012x", i/3, i/3)),
			purpose: purposes[i%3], action: action, at: at.Add(time.Duration(i) * time.Millisecond), noticeNo: 1})
		if len(batch) == cap(batch) {
			x.apply(batch)
			batch = batch[:0]
		}
	}
	x.apply(batch)
	t.Logf("built the index of %d events in memory in %s (%d states)", n, time.Since(started).Round(time.Millisecond), x.Len())
	path := filepath.Join(t.TempDir(), "index.snapshot")
	started = time.Now()
	states, size, err := writeSnapshotFile(x, snapshotPositions{events: n}, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote the snapshot (%d states, %d MiB) in %s", states, size>>20, time.Since(started).Round(time.Millisecond))
	x = nil
	runtime.GC()
	cmd := exec.Command(os.Args[0], "-test.run=^TestSnapshotTenMillion$", "-test.v")
	cmd.Env = append(os.Environ(), "STEWARD_SNAPSHOT_CHILD="+path)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "child:") {
			t.Log(line)
		}
	}
	// The processor time tells more than the wall time on a busy machine.
	t.Logf("child process: %s user, %s system", cmd.ProcessState.UserTime().Round(time.Millisecond), cmd.ProcessState.SystemTime().Round(time.Millisecond))
}

func statusLine(status, name string) string {
	for _, line := range strings.Split(status, "\n") {
		if strings.HasPrefix(line, name+":") {
			return strings.Join(strings.Fields(line), " ")
		}
	}
	return name + ": ?"
}
