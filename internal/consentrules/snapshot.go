// Snapshots of the index: its tables written out, so that a process can
// start from them and the ledger's tail instead of replaying the whole
// ledger. The framing (what the tables cover in the ledger, the key of the
// identities' hashes, a checksum) is the caller's; this file writes and
// reads the tables alone.
//
// A snapshot holds no id: identities are their Keys. It holds nothing of
// an identity an erasure made unreachable (Forget): neither its states
// nor its links, restrictions, objections or channel choices, so that an
// erased subject leaves the next snapshot written.
//
// Layout, little-endian, each table a count and its entries: the highest
// sequence number applied; purposes and vendors (length-prefixed key,
// number); identities by number (key, linked subject and flags, kind:
// subject, device, or unreachable with a zero key); the states (identity,
// purpose, vendor, state); the links' sequence numbers; restrictions;
// liftings of all; objections; choices by one channel. The identity
// tables are rebuilt from the identities' keys and kinds.

package consentrules

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"time"
)

// lockWrite takes the write lock. While a snapshot is written (for
// seconds with ten million states, holding the read lock), it polls for
// the lock instead of queueing for it: a writer queued on a sync.RWMutex
// holds back every new reader, so that decisions would wait for the whole
// snapshot; this way only the writer does.
func (x *Index) lockWrite() {
	for x.encoding.Load() {
		if x.mu.TryLock() {
			return
		}
		time.Sleep(time.Millisecond)
	}
	x.mu.Lock()
}

// encoded sizes of entries
const (
	stateSize      = 8 + 4 + 2 + 1 + 1
	identSize      = 8 + 8 + 4 + 1
	stateEntrySize = 4 + 2 + 2 + stateSize
	maxTableKey    = 1 << 10 // bytes of a purpose or vendor key
)

// identity kinds
const (
	kindUnreachable = iota
	kindSubject
	kindDevice
)

// snapWriter writes little-endian values; the first error sticks.
type snapWriter struct {
	w   *bufio.Writer
	buf []byte
	err error
}

func (w *snapWriter) put(b []byte) {
	if w.err == nil {
		_, w.err = w.w.Write(b)
	}
}

func (w *snapWriter) u32(v uint32) {
	w.buf = binary.LittleEndian.AppendUint32(w.buf[:0], v)
	w.put(w.buf)
}

func (w *snapWriter) u64(v uint64) {
	w.buf = binary.LittleEndian.AppendUint64(w.buf[:0], v)
	w.put(w.buf)
}

func appendState(b []byte, s State) []byte {
	b = binary.LittleEndian.AppendUint64(b, s.Seq)
	b = binary.LittleEndian.AppendUint32(b, s.At)
	b = binary.LittleEndian.AppendUint16(b, s.Notice)
	imported := uint8(0)
	if s.Imported {
		imported = 1
	}
	return append(b, s.Action, imported)
}

func decodeState(b []byte) State {
	return State{Seq: binary.LittleEndian.Uint64(b), At: binary.LittleEndian.Uint32(b[8:]), Notice: binary.LittleEndian.Uint16(b[12:]),
		Action: b[14], Imported: b[15] == 1}
}

// WriteSnapshot writes the index's tables to w and returns how many states
// (by one channel included) it wrote. It holds the read lock throughout:
// decisions go on, and writers wait for it without holding them back.
func (x *Index) WriteSnapshot(w io.Writer) (states int, err error) {
	// Writers arriving from now on poll (lockWrite) rather than queue, so
	// that decisions keep taking the read lock while this one holds it.
	x.encoding.Store(true)
	defer x.encoding.Store(false)
	x.mu.RLock()
	defer x.mu.RUnlock()
	sw := &snapWriter{w: bufio.NewWriterSize(w, 1<<20), buf: make([]byte, 0, 64)}
	states = x.encode(sw)
	if sw.err == nil {
		sw.err = sw.w.Flush()
	}
	return states, sw.err
}

// encode writes the tables; the caller holds the read lock.
func (x *Index) encode(w *snapWriter) int {
	w.u64(x.maxSeq)
	for _, m := range []map[string]uint16{x.purposes, x.vendors} {
		w.u32(uint32(len(m)))
		for k, n := range m {
			w.u32(uint32(len(k)))
			w.put([]byte(k))
			w.buf = binary.LittleEndian.AppendUint16(w.buf[:0], n)
			w.put(w.buf)
		}
	}
	// Identities still reachable by a key: a forgotten (erased) subject's
	// number is in no table, and nothing of it is written, not its key.
	kind := make([]uint8, x.idents.len())
	x.subjects.each(func(n uint32) { kind[n] = kindSubject })
	x.devices.each(func(n uint32) { kind[n] = kindDevice })
	reachable := func(n uint32) bool { return kind[n] != kindUnreachable }
	w.u32(uint32(x.idents.len()))
	for n := range uint32(x.idents.len()) {
		info := x.idents.at(n)
		var key Key
		link := uint32(0)
		if reachable(n) {
			key = info.key
			// hasDevices follows from the devices' links, rebuilt.
			link = info.link &^ identMask &^ flagHasDevices
			if s := info.subject(); reachable(s) {
				link |= s
			}
		}
		w.buf = binary.LittleEndian.AppendUint64(w.buf[:0], key.A)
		w.buf = binary.LittleEndian.AppendUint64(w.buf, key.B)
		w.buf = binary.LittleEndian.AppendUint32(w.buf, link)
		w.buf = append(w.buf, kind[n])
		w.put(w.buf)
	}
	states := 0
	for n := range uint32(x.idents.len()) {
		if reachable(n) {
			for i := x.idents.at(n).first; i != 0; i = x.states.at(i).next {
				states++
			}
		}
	}
	w.u32(uint32(states))
	for n := range uint32(x.idents.len()) {
		if !reachable(n) {
			continue
		}
		for i := x.idents.at(n).first; i != 0; i = x.states.at(i).next {
			e := x.states.at(i)
			w.buf = binary.LittleEndian.AppendUint32(w.buf[:0], uint32(n))
			w.buf = binary.LittleEndian.AppendUint16(w.buf, e.purpose)
			w.buf = binary.LittleEndian.AppendUint16(w.buf, e.vendor)
			w.buf = appendState(w.buf, e.State)
			w.put(w.buf)
		}
	}
	// Links of devices still linked: an erasure unlinked the others (and
	// deleted their rows, so that a rebuild would not know them either).
	linked := func(d uint32) bool { s := x.idents.at(d).subject(); return reachable(d) && s != 0 && reachable(s) }
	writeSeqs(w, x.linkSeq, linked)
	writeKeyed(w, x.restricted, reachable, func(v uint64) { w.u64(v) })
	writeSeqs(w, x.liftedAll, reachable)
	writeKeyed(w, x.objections, reachable, func(s State) { w.put(appendState(w.buf[:0], s)) })
	writeKeyed(w, x.channelStates, reachable, func(s State) { w.put(appendState(w.buf[:0], s)) })
	return states + countKeyed(x.channelStates, reachable)
}

// countKeyed counts the entries of a table by stateKey whose identity is
// reachable.
func countKeyed[V any](m map[uint64]V, reachable func(uint32) bool) int {
	n := 0
	for k := range m {
		if reachable(uint32(k >> 32)) {
			n++
		}
	}
	return n
}

// writeSeqs writes the entries of a table of sequences by identity number
// that keep: their count, then each number and sequence.
func writeSeqs(w *snapWriter, m map[uint32]uint64, keep func(uint32) bool) {
	n := 0
	for id := range m {
		if keep(id) {
			n++
		}
	}
	w.u32(uint32(n))
	for id, seq := range m {
		if keep(id) {
			w.u32(id)
			w.u64(seq)
		}
	}
}

// writeKeyed writes the entries of a table by stateKey whose identity is
// reachable, each value by put.
func writeKeyed[V any](w *snapWriter, m map[uint64]V, reachable func(uint32) bool, put func(V)) {
	w.u32(uint32(countKeyed(m, reachable)))
	for k, v := range m {
		if reachable(uint32(k >> 32)) {
			w.u64(k)
			put(v)
		}
	}
}

// snapReader reads a snapshot's tables; the first error sticks.
type snapReader struct {
	r    *bufio.Reader
	left int64 // bytes not read yet
	buf  [32]byte
	err  error
}

func (r *snapReader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf(format, args...)
	}
}

// read returns the next n (≤ 32) bytes, valid until the next read.
func (r *snapReader) read(n int) []byte {
	if r.err != nil {
		return r.buf[:n]
	}
	if _, err := io.ReadFull(r.r, r.buf[:n]); err != nil {
		r.fail("truncated: %v", err)
		return r.buf[:n]
	}
	r.left -= int64(n)
	return r.buf[:n]
}

func (r *snapReader) u16() uint16 { return binary.LittleEndian.Uint16(r.read(2)) }
func (r *snapReader) u32() uint32 { return binary.LittleEndian.Uint32(r.read(4)) }
func (r *snapReader) u64() uint64 { return binary.LittleEndian.Uint64(r.read(8)) }

// count reads a table's length and checks that entries of size each fit in
// what is left, so that a corrupt count cannot make a huge allocation.
func (r *snapReader) count(size int) int {
	n := int64(r.u32())
	if r.err == nil && n*int64(size) > r.left {
		r.fail("corrupt: a table of %d entries of %d bytes in %d bytes", n, size, r.left)
	}
	if r.err != nil {
		return 0
	}
	return int(n)
}

func (r *snapReader) key() string {
	n := int(r.u32())
	if r.err == nil && (n > maxTableKey || int64(n) > r.left) {
		r.fail("corrupt: a key of %d bytes", n)
	}
	if r.err != nil {
		return ""
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r.r, b); err != nil {
		r.fail("truncated: %v", err)
	}
	r.left -= int64(n)
	return string(b)
}

// ident checks an identity number read from the snapshot.
func (r *snapReader) ident(n uint32, idents int) uint32 {
	if int(n) >= idents || n == 0 {
		r.fail("corrupt: identity %d of %d", n, idents)
		return 0
	}
	return n
}

// ReadSnapshot reads the tables WriteSnapshot wrote from r, of which size
// bytes are the tables, and returns the index they make, whose identities
// are keyed by keyOf (which must be the key of the index written). It
// checks every count and number against the size and the tables (not the
// content's integrity, which is the caller's checksum).
func ReadSnapshot(r io.Reader, size int64, keyOf func(string) Key) (*Index, error) {
	sr := &snapReader{r: bufio.NewReaderSize(r, 1<<20), left: size}
	x := NewIndex(keyOf)
	x.maxSeq = sr.u64()
	for i, m := range []map[string]uint16{x.purposes, x.vendors} {
		clear(m)
		for range sr.count(4 + 2) {
			k := sr.key()
			n := sr.u16()
			if i == 0 && n == 0 || i == 1 && (n == 0) != (k == "") {
				sr.fail("corrupt: key %q numbered %d", k, n)
			}
			m[k] = n
		}
	}
	if _, ok := x.vendors[""]; !ok && sr.err == nil {
		sr.fail("corrupt: no vendor 0")
	}
	n := sr.count(identSize)
	if sr.err == nil && (n == 0 || n > identMask+1) {
		sr.fail("corrupt: %d identities", n)
	}
	for i := range n {
		b := sr.read(identSize)
		info := identInfo{key: Key{binary.LittleEndian.Uint64(b), binary.LittleEndian.Uint64(b[8:])}, link: binary.LittleEndian.Uint32(b[16:])}
		kind := b[20]
		if sr.err != nil {
			break
		}
		if i == 0 {
			if info != (identInfo{}) || kind != kindUnreachable {
				sr.fail("corrupt: identity 0 is not empty")
			}
			continue // NewIndex added it
		}
		if info.link&flagHasDevices != 0 || int(info.subject()) >= n {
			sr.fail("corrupt: identity %d's link %x", i, info.link)
			break
		}
		x.idents.add(info)
		switch kind {
		case kindSubject:
			x.subjects.insert(x, uint32(i))
		case kindDevice:
			x.devices.insert(x, uint32(i))
		case kindUnreachable:
		default:
			sr.fail("corrupt: identity %d of kind %d", i, kind)
		}
	}
	c := sr.count(stateEntrySize)
	for range c {
		b := sr.read(stateEntrySize)
		ident := sr.ident(binary.LittleEndian.Uint32(b), n)
		if sr.err != nil {
			break
		}
		info := x.idents.at(ident)
		info.first = x.states.add(stateEntry{State: decodeState(b[8:]), purpose: binary.LittleEndian.Uint16(b[4:]),
			vendor: binary.LittleEndian.Uint16(b[6:]), next: info.first})
	}
	c = sr.count(4 + 8)
	x.linkSeq = make(map[uint32]uint64, c)
	for range c {
		d := sr.ident(sr.u32(), n)
		x.linkSeq[d] = sr.u64()
	}
	for range sr.count(8 + 8) {
		k := sr.u64()
		sr.ident(uint32(k>>32), n)
		x.restricted[k] = sr.u64()
	}
	for range sr.count(4 + 8) {
		s := sr.ident(sr.u32(), n)
		x.liftedAll[s] = sr.u64()
	}
	for _, m := range []map[uint64]State{x.objections, x.channelStates} {
		for range sr.count(8 + stateSize) {
			b := sr.read(8 + stateSize)
			k := binary.LittleEndian.Uint64(b)
			sr.ident(uint32(k>>32), n)
			m[k] = decodeState(b[8:])
		}
	}
	if sr.err == nil && sr.left != 0 {
		sr.fail("corrupt: %d bytes after the last table", sr.left)
	}
	if sr.err != nil {
		return nil, sr.err
	}
	// Which devices each subject has follows from the devices' links.
	for d := range uint32(x.idents.len()) {
		if s := x.idents.at(d).subject(); s != 0 {
			if s == d {
				return nil, fmt.Errorf("corrupt: identity %d linked to itself", d)
			}
			x.devicesOf[s] = append(x.devicesOf[s], d)
			x.idents.at(s).set(flagHasDevices, true)
		}
	}
	return x, nil
}
