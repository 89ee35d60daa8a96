package consent

import (
	"bufio"
	"io"
	"testing"
	"time"
)

// TestSnapshotKeepsDecisionsFlowing: while a snapshot is encoded (here
// held up by a reader that does not read) an append waits for the index,
// but decisions, which take the read lock, do not wait behind the append.
func TestSnapshotKeepsDecisionsFlowing(t *testing.T) {
	x := NewIndex()
	grant := func(seq int64, device string) indexedEvent {
		return indexedEvent{seq: seq, ident: x.key(device), purpose: "analytics", action: ActionGrant, at: timeAt(seq)}
	}
	x.apply([]indexedEvent{grant(1, "d1")})
	pr, pw := io.Pipe()
	encoded := make(chan struct{})
	go func() {
		x.encode(&snapWriter{w: bufio.NewWriterSize(pw, 16), buf: make([]byte, 0, 8)}, snapshotPositions{events: 1})
		close(encoded)
	}()
	for !x.encoding.Load() {
		time.Sleep(time.Millisecond)
	}
	applied := make(chan struct{})
	go func() {
		x.apply([]indexedEvent{grant(2, "d2")})
		close(applied)
	}()
	time.Sleep(20 * time.Millisecond) // the append is waiting for the index now
	decided := make(chan bool)
	go func() {
		x.mu.RLock()
		_, found, _ := x.latest("", "d1", x.purposes["analytics"], 0)
		x.mu.RUnlock()
		decided <- found
	}()
	select {
	case found := <-decided:
		if !found {
			t.Error("the decision during the snapshot found no state")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a decision waited behind an append queued during a snapshot")
	}
	select {
	case <-applied:
		t.Fatal("the append went through while the snapshot held the index")
	default:
	}
	go io.Copy(io.Discard, pr)
	<-encoded
	pw.Close()
	select {
	case <-applied:
	case <-time.After(5 * time.Second):
		t.Fatal("the append did not go through after the snapshot")
	}
}
