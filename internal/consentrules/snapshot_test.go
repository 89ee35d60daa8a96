package consentrules

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"testing"
	"time"
)

// snapshotFixture is an index holding every kind of entry: states of
// devices and subjects, by vendor and by channel, links (one relinked),
// restrictions placed and lifted, objections, and an erased subject with
// all of those.
func snapshotFixture() *Index {
	x := NewIndex(RefKey)
	var events []Event
	seq := int64(0)
	next := func() int64 { seq++; return seq }
	for i := range 20 {
		dev := RefKey(fmt.Sprintf("dev-%d", i))
		events = append(events,
			Event{Seq: next(), Ident: dev, Purpose: "analytics", Action: ActionGrant, At: uint32(100 + i), Notice: 1},
			Event{Seq: next(), Ident: dev, Purpose: "ads", Vendor: "ads-co", Action: ActionDeny, At: uint32(100 + i), Notice: 2, Imported: i%3 == 0})
	}
	for _, c := range []string{"cust-1", "cust-2", "gone"} {
		k := RefKey(c)
		events = append(events,
			Event{Seq: next(), Ident: k, IsSubject: true, Purpose: "news", Action: ActionWithdraw, At: 300},
			Event{Seq: next(), Ident: k, IsSubject: true, Purpose: "news", Channel: "email", Action: ActionGrant, At: 301, Portal: true},
			Event{Seq: next(), Ident: k, IsSubject: true, Purpose: "analytics", Action: ActionObject, At: 302})
	}
	x.Apply(events)
	x.ApplyLinks([]Link{
		{Device: RefKey("dev-1"), Subject: RefKey("cust-1"), Seq: next()},
		{Device: RefKey("dev-2"), Subject: RefKey("gone"), Seq: next()},
		{Device: RefKey("dev-3"), Subject: RefKey("cust-2"), Seq: next()},
		{Device: RefKey("dev-3"), Subject: RefKey("cust-1"), Seq: next()}, // relinked
	})
	x.ApplyRestrictions([]Restriction{
		{Seq: next(), Subject: RefKey("cust-1"), Purpose: "ads"},
		{Seq: next(), Subject: RefKey("cust-2")},
		{Seq: next(), Subject: RefKey("gone"), Purpose: "analytics"},
		{Seq: next(), Subject: RefKey("cust-2"), Lift: true},
	})
	x.Forget([]Key{RefKey("gone")}, next())
	return x
}

// answers asks the index every question the fixture can answer.
func answers(x *Index) []string {
	var out []string
	ids := []string{"cust-1", "cust-2", "gone", "nobody"}
	for i := range 21 {
		ids = append(ids, fmt.Sprintf("dev-%d", i))
	}
	for _, id := range ids {
		for _, p := range []string{"analytics", "ads", "news"} {
			for _, v := range []string{"", "ads-co"} {
				for _, ch := range []uint16{0, ChannelCode("email"), ChannelCode("sms")} {
					subject, device := id, ""
					if len(id) > 4 && id[:4] == "dev-" {
						subject, device = "", id
					}
					x.mu.RLock()
					vendor := x.vendors[v]
					x.mu.RUnlock()
					s, found, h := x.Latest(subject, device, x.PurposeID(p), vendor, ch)
					out = append(out, fmt.Sprintf("%s %s %q %d: %+v %v %+v", id, p, v, ch, s, found, h))
				}
			}
		}
	}
	return out
}

func roundTrip(t *testing.T, x *Index) (*Index, []byte) {
	t.Helper()
	var buf bytes.Buffer
	if _, err := x.WriteSnapshot(&buf); err != nil {
		t.Fatal(err)
	}
	y, err := ReadSnapshot(bytes.NewReader(buf.Bytes()), int64(buf.Len()), RefKey)
	if err != nil {
		t.Fatalf("ReadSnapshot: %v", err)
	}
	return y, buf.Bytes()
}

func TestSnapshotRoundTrip(t *testing.T) {
	x := snapshotFixture()
	y, file := roundTrip(t, x)
	want, got := answers(x), answers(y)
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("after the round trip:\n got %s\nwant %s", got[i], want[i])
		}
	}
	if y.MaxSeq() != x.MaxSeq() {
		t.Errorf("MaxSeq %d, want %d", y.MaxSeq(), x.MaxSeq())
	}
	// The erased subject's states are not written: each subject holds a
	// state in the arena and a choice by one channel (its objection is
	// apart), the devices 40.
	if n, m := x.Len(), y.Len(); n != 40+3*2 || m != 40+2*2 {
		t.Errorf("%d states in the index, %d in the snapshot; want 46 and 44 (none of the erased subject)", n, m)
	}
	gone := RefKey("gone")
	var key [16]byte
	for i := range 8 {
		key[i], key[8+i] = byte(gone.A>>(8*i)), byte(gone.B>>(8*i))
	}
	if bytes.Contains(file, key[:]) {
		t.Error("the snapshot holds the erased subject's key")
	}
	// Nor its restriction, objection or link.
	if r, o, l := len(y.restricted), len(y.objections), len(y.linkSeq); r != len(x.restricted)-1 || o != len(x.objections)-1 || l != len(x.linkSeq)-1 {
		t.Errorf("restrictions, objections, links: %d %d %d in the snapshot, of %d %d %d", r, o, l,
			len(x.restricted), len(x.objections), len(x.linkSeq))
	}
	// The loaded index goes on like the original.
	for _, ix := range []*Index{x, y} {
		ix.Apply([]Event{{Seq: 100, Ident: RefKey("dev-3"), Purpose: "ads", Action: ActionGrant, At: 400}})
		ix.ApplyLinks([]Link{{Device: RefKey("dev-4"), Subject: RefKey("cust-2"), Seq: 101}})
		ix.Forget([]Key{RefKey("cust-1")}, 102)
	}
	want, got = answers(x), answers(y)
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("after more entries:\n got %s\nwant %s", got[i], want[i])
		}
	}
	// And writes the same snapshot again (tables in map order, so
	// compared by size).
	if _, again := roundTrip(t, y); len(again) == 0 {
		t.Error("empty second snapshot")
	}
}

func TestSnapshotCorrupt(t *testing.T) {
	_, file := roundTrip(t, snapshotFixture())
	cases := map[string][]byte{
		"truncated":       file[:len(file)-5],
		"a trailing byte": append(append([]byte(nil), file...), 0),
		"empty":           nil,
	}
	huge := append([]byte(nil), file...)
	copy(huge[8:], []byte{0xff, 0xff, 0xff, 0x7f}) // the purposes' count
	cases["a huge count"] = huge
	for name, b := range cases {
		if _, err := ReadSnapshot(bytes.NewReader(b), int64(len(b)), RefKey); err == nil {
			t.Errorf("%s: read without an error", name)
		}
	}
	// Every single-byte change either fails or gives an index (the
	// caller's checksum catches the rest), and never panics.
	for i := range file {
		b := append([]byte(nil), file...)
		b[i] ^= 0xa5
		_, _ = ReadSnapshot(bytes.NewReader(b), int64(len(b)), RefKey)
	}
}

// TestSnapshotKeepsDecisionsFlowing: while a snapshot is written (here
// held up by a reader that does not read) an append waits for the index,
// but decisions, which take the read lock, do not wait behind the append.
func TestSnapshotKeepsDecisionsFlowing(t *testing.T) {
	x := NewIndex(RefKey)
	grant := func(seq int64, device string) Event {
		return Event{Seq: seq, Ident: RefKey(device), Purpose: "analytics", Action: ActionGrant, At: uint32(seq)}
	}
	x.Apply([]Event{grant(1, "d1")})
	pr, pw := io.Pipe()
	written := make(chan struct{})
	go func() {
		_, _ = x.WriteSnapshot(bufio.NewWriterSize(pw, 16))
		close(written)
	}()
	for !x.encoding.Load() {
		time.Sleep(time.Millisecond)
	}
	applied := make(chan struct{})
	go func() {
		x.Apply([]Event{grant(2, "d2")})
		close(applied)
	}()
	time.Sleep(20 * time.Millisecond) // the append is waiting for the index now
	decided := make(chan bool)
	go func() {
		_, found, _ := x.Latest("", "d1", x.PurposeID("analytics"), 0, 0)
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
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	<-written
	pw.Close()
	select {
	case <-applied:
	case <-time.After(5 * time.Second):
		t.Fatal("the append did not go through after the snapshot")
	}
}
