package consentrules

import (
	"fmt"
	"runtime"
	"testing"
)

func TestRefRoundTrip(t *testing.T) {
	for _, id := range []string{"a", "customer-42", string(make([]byte, 300))} {
		ref := Ref(id)
		k, ok := ParseRef(ref)
		if !ok || k != RefKey(id) || len(ref) != 22 {
			t.Errorf("Ref(%.10q) = %q, parsed %v %v", id, ref, k, ok)
		}
	}
	if Ref("a") == Ref("b") {
		t.Error("two ids share a ref")
	}
	for _, bad := range []string{"", "short", "!!!!!!!!!!!!!!!!!!!!!!", Ref("a") + "A"} {
		if _, ok := ParseRef(bad); ok {
			t.Errorf("ParseRef(%q) accepted", bad)
		}
	}
	if n := testing.AllocsPerRun(100, func() { RefKey("3f0c2a4e-1d7b-4c55-9a0e-6b1f2d3c4e5f") }); n != 0 {
		t.Errorf("RefKey allocates %.0f times", n)
	}
}

// TestForgetAndChanged: an erasure unlinks the subject's devices and ends
// their states' reach; every change wakes the waiters of Changed.
func TestForgetAndChanged(t *testing.T) {
	x := NewIndex(RefKey)
	changed := x.Changed()
	x.ApplyLinks([]Link{{Device: RefKey("phone"), Subject: RefKey("cust"), Seq: 1}})
	select {
	case <-changed:
	default:
		t.Fatal("a link did not signal a change")
	}
	x.Apply([]Event{{Seq: 2, Ident: RefKey("cust"), IsSubject: true, Purpose: "ads", Action: ActionGrant}})
	ads := x.PurposeID("ads")
	for _, q := range [][2]string{{"cust", ""}, {"", "phone"}} {
		if _, found, _ := x.Latest(q[0], q[1], ads, 0, 0); !found {
			t.Fatalf("%v: no state before the erasure", q)
		}
	}
	changed = x.Changed()
	x.Forget([]Key{RefKey("cust")}, 3)
	<-changed
	for _, q := range [][2]string{{"cust", ""}, {"", "phone"}} {
		if s, found, _ := x.Latest(q[0], q[1], ads, 0, 0); found {
			t.Errorf("%v: %+v after the erasure", q, s)
		}
	}
	if x.MaxSeq() != 3 {
		t.Errorf("MaxSeq = %d, want the erasure's 3", x.MaxSeq())
	}
}

// BenchmarkIndexMemory reports the heap cost per state of a Decider's
// index (keys by RefKey) holding about a million states: one identity
// with three purposes each, and one purpose each (the dearest case: an
// identity per state).
func BenchmarkIndexMemory(b *testing.B) {
	for _, purposes := range []int{3, 1} {
		b.Run(fmt.Sprintf("%d purposes per identity", purposes), func(b *testing.B) {
			for b.Loop() {
				const states = 1_000_000
				x := NewIndex(RefKey)
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				batch := make([]Event, 0, 4096)
				seq := int64(0)
				for i := 0; seq < states; i++ {
					ident := RefKey(fmt.Sprintf("device-%08d-aaaa-bbbb-cccc", i))
					for p := range purposes {
						seq++
						batch = append(batch, Event{Seq: seq, Ident: ident, Purpose: [3]string{"analytics", "marketing", "sale"}[p], Action: ActionGrant, At: 1_767_225_600})
					}
					if len(batch) >= 4000 {
						x.Apply(batch)
						batch = batch[:0]
					}
				}
				x.Apply(batch)
				batch = nil
				runtime.GC()
				runtime.ReadMemStats(&after)
				b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(x.Len()), "bytes/state")
				runtime.KeepAlive(x)
			}
		})
	}
}

// TestIdentTable: keys inserted are found, removed ones are not, and the
// others survive removals that move entries back, across growth: parts
// doubling, then splitting (parts of 16 slots at most, so that thousands
// of keys make hundreds of parts and a deep directory).
func TestIdentTable(t *testing.T) {
	for _, maxPart := range []int{16, identPartMax} {
		x := NewIndex(RefKey)
		x.devices = newIdentTableOf(maxPart)
		key := func(i int) Key { return RefKey(fmt.Sprint("id-", i)) }
		const n = 5000
		for i := range n {
			x.intern(&x.devices, key(i))
		}
		for i := 0; i < n; i += 3 {
			x.devices.remove(x, key(i))
		}
		for i := range n {
			got, want := x.devices.get(x, key(i)), uint32(i+1)
			if i%3 == 0 {
				want = 0
			}
			if got != want {
				t.Fatalf("parts of %d: key %d: number %d, want %d", maxPart, i, got, want)
			}
		}
		held := map[uint32]bool{}
		x.devices.each(func(n uint32) {
			if held[n] {
				t.Errorf("parts of %d: each visits %d twice", maxPart, n)
			}
			held[n] = true
		})
		if want := n - (n+2)/3; x.devices.count != want || len(held) != want {
			t.Errorf("parts of %d: count %d, each %d, want %d", maxPart, x.devices.count, len(held), want)
		}
		if maxPart == 16 && x.devices.depth < 8 {
			t.Errorf("parts of 16: directory depth %d, want the table split", x.devices.depth)
		}
		if got := x.subjects.get(x, key(1)); got != 0 {
			t.Errorf("a device's key found among subjects: %d", got)
		}
	}
}

// TestRegimes: countries by their array, subdivisions by their map, the
// most specific entry winning and the fallback for the rest.
func TestRegimes(t *testing.T) {
	r := Compile([]string{"EU", "US-CA"}, []string{"US", "FR", "Xx"}, OptIn)
	for j, want := range map[string]Regime{"DE": OptIn, "FR": OptOut, "US": OptOut, "US-CA": OptIn, "US-NY": OptOut,
		"DE-BY": OptIn, "JP": OptIn, "": OptIn, "Xx": OptOut, "ZZ-1": OptIn} {
		if got := r.Regime(j); got != want {
			t.Errorf("Regime(%q) = %s, want %s", j, got, want)
		}
	}
	if got := Compile(nil, []string{"GB"}, OptOut); got.Regime("UK") != OptOut || got.Regime("GB") != OptOut {
		t.Errorf("fallback or country wrong: %s %s", got.Regime("UK"), got.Regime("GB"))
	}
}
