// Snapshots of the decision index: start from the index as it was plus
// the ledger's tail, instead of replaying the whole ledger.
//
// A snapshot is one file, written to a temporary name, synced and renamed
// over the last. It holds no subject or device id: identities are the
// index's 128-bit keyed hashes (idKey), and the SipHash key is in the file,
// so that the process that loads it finds the same identities. States that
// an erasure made unreachable are left out, so that an erased subject
// leaves the snapshot at the next one written.
//
// Layout, little-endian: the magic, the hash key, the follower's positions
// (events, links, restrictions, erasures) and the chain hash of the event
// at the events position, then the index's tables, each a count and its
// entries, and last the CRC-32C of everything before it. Loading checks the
// magic, the counts against the file's size and the checksum, then that
// the store still holds that event with that hash and its head is not
// behind; anything else and the index is rebuilt from the whole ledger.

package consent

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/steward-dev/steward/internal/db"
)

const snapshotMagic = "STEWARD-INDEX-1\n"

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// snapshotPositions is how far into the ledger a snapshot's index reached.
type snapshotPositions struct {
	events, links, restrictions, erasures int64
	// hash is the chain hash of the event at events (nil before the
	// chain began, or with no event).
	hash []byte
}

// SnapshotInfo describes a written or loaded snapshot.
type SnapshotInfo struct {
	// Seq is the ledger sequence number the snapshot covers, States how many
	// states it holds, Bytes the file's size.
	Seq    int64
	States int
	Bytes  int64
	Took   time.Duration
}

// WriteSnapshot writes the index to path. Appends wait for the index while
// it is encoded (seconds for ten million states, see docs/operations.md);
// decisions do not.
func (s *Service) WriteSnapshot(ctx context.Context, path string) (SnapshotInfo, error) {
	started := time.Now()
	// A pass first: the follower's positions lag behind the entries this
	// process wrote itself, and the snapshot covers up to them.
	if _, err := s.follow(ctx, readAll); err != nil {
		return SnapshotInfo{}, err
	}
	s.followMu.Lock()
	pos := snapshotPositions{events: s.followedSeq, links: s.followedLinks, restrictions: s.followedRestrictions, erasures: s.followedErasures}
	s.followMu.Unlock()
	if pos.events > 0 {
		if err := s.db.QueryRowContext(ctx, `SELECT hash FROM consent_events WHERE seq = $1`, pos.events).Scan(&pos.hash); err != nil {
			return SnapshotInfo{}, db.Classify(fmt.Errorf("read chain hash: %w", err))
		}
	}
	states, size, err := writeSnapshotFile(s.index, pos, path)
	if err != nil {
		return SnapshotInfo{}, err
	}
	return SnapshotInfo{Seq: pos.events, States: states, Bytes: size, Took: time.Since(started)}, nil
}

// writeSnapshotFile writes x, which reaches pos, to path: to a temporary
// file first, synced, then renamed over path.
func writeSnapshotFile(x *Index, pos snapshotPositions, path string) (states int, size int64, err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*.tmp")
	if err != nil {
		return 0, 0, fmt.Errorf("write index snapshot: %w", err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	crc := crc32.New(castagnoli)
	w := &snapWriter{w: bufio.NewWriterSize(io.MultiWriter(tmp, crc), 1<<20), buf: make([]byte, 0, 8)}
	states = x.encode(w, pos)
	if w.err == nil {
		w.err = w.w.Flush()
	}
	if w.err == nil {
		_, w.err = tmp.Write(binary.LittleEndian.AppendUint32(nil, crc.Sum32()))
	}
	if w.err == nil {
		w.err = tmp.Sync()
	}
	if w.err != nil {
		return 0, 0, fmt.Errorf("write index snapshot: %w", w.err)
	}
	size, _ = tmp.Seek(0, io.SeekCurrent)
	if err := tmp.Close(); err != nil {
		return 0, 0, fmt.Errorf("write index snapshot: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return 0, 0, fmt.Errorf("write index snapshot: %w", err)
	}
	return states, size, nil
}

// loadSnapshot replaces the empty index with the snapshot at path when it
// is sound and matches the store, and sets the follower's positions from
// it; otherwise it leaves both as they are, says why in the log, and the
// first pass rebuilds the index from the whole ledger.
func (s *Service) loadSnapshot(ctx context.Context, path string) (SnapshotInfo, bool) {
	started := time.Now()
	x, pos, size, err := readSnapshot(path)
	if errors.Is(err, os.ErrNotExist) {
		s.log.Info("no consent index snapshot yet; building the index from the whole ledger", "path", path)
		return SnapshotInfo{}, false
	}
	if err == nil {
		err = s.checkSnapshot(ctx, pos)
	}
	if err != nil {
		s.log.Warn("consent index snapshot unusable; building the index from the whole ledger", "path", path, "err", err)
		return SnapshotInfo{}, false
	}
	s.index = x
	s.followedSeq, s.followedLinks, s.followedRestrictions, s.followedErasures = pos.events, pos.links, pos.restrictions, pos.erasures
	return SnapshotInfo{Seq: pos.events, States: x.Len(), Bytes: size, Took: time.Since(started)}, true
}

// checkSnapshot refuses a snapshot of another ledger, or of this one's
// future (the store was restored from an older backup since).
func (s *Service) checkSnapshot(ctx context.Context, pos snapshotPositions) error {
	var head int64
	if err := s.db.QueryRowContext(ctx, `SELECT seq FROM ledger_head WHERE id = 1`).Scan(&head); err != nil {
		return db.Classify(fmt.Errorf("read ledger head: %w", err))
	}
	if head < pos.events || head < pos.links || head < pos.restrictions || head < pos.erasures {
		return fmt.Errorf("stale: the snapshot reaches seq %d, the ledger's head is %d", max(pos.events, pos.links, pos.restrictions, pos.erasures), head)
	}
	if pos.events == 0 {
		return nil
	}
	var hash []byte
	err := s.db.QueryRowContext(ctx, `SELECT hash FROM consent_events WHERE seq = $1`, pos.events).Scan(&hash)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("stale: the ledger holds no event %d", pos.events)
	}
	if err != nil {
		return db.Classify(fmt.Errorf("read chain hash: %w", err))
	}
	if !bytes.Equal(hash, pos.hash) {
		return fmt.Errorf("stale: event %d's chain hash differs from the snapshot's (another ledger)", pos.events)
	}
	return nil
}

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
func (w *snapWriter) u8(v uint8) {
	if w.err == nil {
		w.err = w.w.WriteByte(v)
	}
}
func (w *snapWriter) u16(v uint16) {
	w.buf = binary.LittleEndian.AppendUint16(w.buf[:0], v)
	w.put(w.buf)
}
func (w *snapWriter) u32(v uint32) {
	w.buf = binary.LittleEndian.AppendUint32(w.buf[:0], v)
	w.put(w.buf)
}
func (w *snapWriter) u64(v uint64) {
	w.buf = binary.LittleEndian.AppendUint64(w.buf[:0], v)
	w.put(w.buf)
}
func (w *snapWriter) bytes(b []byte) {
	w.u32(uint32(len(b)))
	w.put(b)
}
func (w *snapWriter) state(s state) {
	w.u64(s.seq)
	w.u32(s.at)
	w.u16(s.notice)
	w.u8(s.action)
	if s.imported {
		w.u8(1)
	} else {
		w.u8(0)
	}
}

// stateSize is the encoded size of a state.
const stateSize = 8 + 4 + 2 + 1 + 1

// encode writes the index and returns how many states it wrote. It holds
// the read lock throughout.
func (x *Index) encode(w *snapWriter, pos snapshotPositions) int {
	// Writers arriving from now on poll (lockWrite) rather than queue, so
	// that decisions keep taking the read lock while this one holds it.
	x.encoding.Store(true)
	defer x.encoding.Store(false)
	x.mu.RLock()
	defer x.mu.RUnlock()
	w.put([]byte(snapshotMagic))
	w.u64(x.hashKey[0])
	w.u64(x.hashKey[1])
	for _, p := range []int64{pos.events, pos.links, pos.restrictions, pos.erasures} {
		w.u64(uint64(p))
	}
	w.bytes(pos.hash)
	w.u64(x.maxSeq)
	for _, m := range []map[string]uint16{x.purposes, x.vendors} {
		w.u32(uint32(len(m)))
		for k, n := range m {
			w.bytes([]byte(k))
			w.u16(n)
		}
	}
	// Identities still reachable by an id: a forgotten (erased) subject's
	// number is in no map, and its states are not written.
	reachable := make([]bool, len(x.idents))
	for _, m := range []map[idKey]uint32{x.subjects, x.devices} {
		for _, n := range m {
			reachable[n] = true
		}
	}
	w.u32(uint32(len(x.idents)))
	for n, info := range x.idents {
		subject := info.subject
		if !reachable[subject] {
			subject = 0
		}
		w.u32(subject)
		flags := uint8(0)
		if info.vendorChoices && reachable[n] {
			flags = 1
		}
		w.u8(flags)
	}
	for _, m := range []map[idKey]uint32{x.subjects, x.devices} {
		w.u32(uint32(len(m)))
		for k, n := range m {
			w.u64(k.a)
			w.u64(k.b)
			w.u32(n)
		}
	}
	states := 0
	for k := range x.states {
		if reachable[k>>32] {
			states++
		}
	}
	w.u32(uint32(states))
	for k, s := range x.states {
		if reachable[k>>32] {
			w.u64(k)
			w.state(s)
		}
	}
	w.u32(uint32(len(x.linkSeq)))
	for d, seq := range x.linkSeq {
		w.u32(d)
		w.u64(seq)
	}
	restricted := 0
	for k := range x.restricted {
		if reachable[k>>32] {
			restricted++
		}
	}
	w.u32(uint32(restricted))
	for k, seq := range x.restricted {
		if reachable[k>>32] {
			w.u64(k)
			w.u64(seq)
		}
	}
	lifted := 0
	for n := range x.liftedAll {
		if reachable[n] {
			lifted++
		}
	}
	w.u32(uint32(lifted))
	for n, seq := range x.liftedAll {
		if reachable[n] {
			w.u32(n)
			w.u64(seq)
		}
	}
	objections := 0
	for k := range x.objections {
		if reachable[k>>32] {
			objections++
		}
	}
	w.u32(uint32(objections))
	for k, s := range x.objections {
		if reachable[k>>32] {
			w.u64(k)
			w.state(s)
		}
	}
	return states
}

// snapReader reads a snapshot's body; the first error sticks.
type snapReader struct {
	r    *bufio.Reader
	left int64 // bytes of the body not read yet
	buf  [32]byte
	err  error
}

func (r *snapReader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf(format, args...)
	}
}

func (r *snapReader) read(n int) []byte {
	if r.err != nil {
		return r.buf[:n]
	}
	if _, err := io.ReadFull(r.r, r.buf[:n]); err != nil {
		r.fail("truncated: %v", err)
	}
	r.left -= int64(n)
	return r.buf[:n]
}
func (r *snapReader) u8() uint8   { return r.read(1)[0] }
func (r *snapReader) u16() uint16 { return binary.LittleEndian.Uint16(r.read(2)) }
func (r *snapReader) u32() uint32 { return binary.LittleEndian.Uint32(r.read(4)) }
func (r *snapReader) u64() uint64 { return binary.LittleEndian.Uint64(r.read(8)) }

// count reads a table's length and checks that entries of size each fit
// in what is left of the file, so that a corrupt count cannot make a huge
// allocation.
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

func (r *snapReader) bytes(limit int) []byte {
	n := int(r.u32())
	if r.err == nil && n > limit {
		r.fail("corrupt: a string of %d bytes", n)
	}
	if r.err != nil {
		return nil
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r.r, b); err != nil {
		r.fail("truncated: %v", err)
	}
	r.left -= int64(n)
	return b
}

func (r *snapReader) state() state { return decodeState(r.read(stateSize)) }

func decodeState(b []byte) state {
	return state{seq: binary.LittleEndian.Uint64(b), at: binary.LittleEndian.Uint32(b[8:]), notice: binary.LittleEndian.Uint16(b[12:]),
		action: b[14], imported: b[15] == 1}
}

// readSnapshot reads and checks the snapshot at path.
func readSnapshot(path string) (*Index, snapshotPositions, int64, error) {
	var pos snapshotPositions
	f, err := os.Open(path)
	if err != nil {
		return nil, pos, 0, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, pos, 0, err
	}
	size := info.Size()
	if size < int64(len(snapshotMagic))+4 {
		return nil, pos, size, errors.New("corrupt: too short")
	}
	var sum [4]byte
	if _, err := f.ReadAt(sum[:], size-4); err != nil {
		return nil, pos, size, fmt.Errorf("read checksum: %w", err)
	}
	crc := crc32.New(castagnoli)
	body := size - 4
	r := &snapReader{r: bufio.NewReaderSize(io.TeeReader(io.LimitReader(f, body), crc), 1<<20), left: body}
	magic := make([]byte, len(snapshotMagic))
	if _, err := io.ReadFull(r.r, magic); err != nil || string(magic) != snapshotMagic {
		return nil, pos, size, errors.New("not an index snapshot of this version")
	}
	r.left -= int64(len(magic))
	x := NewIndex()
	x.hashKey = [2]uint64{r.u64(), r.u64()}
	pos.events, pos.links, pos.restrictions, pos.erasures = int64(r.u64()), int64(r.u64()), int64(r.u64()), int64(r.u64())
	if pos.hash = r.bytes(64); len(pos.hash) == 0 {
		pos.hash = nil
	}
	x.maxSeq = r.u64()
	for _, m := range []map[string]uint16{x.purposes, x.vendors} {
		clear(m)
		for range r.count(4 + 2) {
			k := string(r.bytes(256))
			m[k] = r.u16()
		}
	}
	n := r.count(4 + 1)
	x.idents = make([]identInfo, n)
	for i := range x.idents {
		x.idents[i] = identInfo{subject: r.u32(), vendorChoices: r.u8()&1 != 0}
	}
	for _, m := range []*map[idKey]uint32{&x.subjects, &x.devices} {
		c := r.count(8 + 8 + 4)
		*m = make(map[idKey]uint32, c)
		for range c {
			b := r.read(8 + 8 + 4) // one read per entry: ten million of them at start
			k := idKey{binary.LittleEndian.Uint64(b), binary.LittleEndian.Uint64(b[8:])}
			v := binary.LittleEndian.Uint32(b[16:])
			if int(v) >= len(x.idents) {
				r.fail("corrupt: identity %d of %d", v, len(x.idents))
			}
			(*m)[k] = v
		}
	}
	c := r.count(8 + stateSize)
	x.states = make(map[uint64]state, c)
	for range c {
		b := r.read(8 + stateSize)
		x.states[binary.LittleEndian.Uint64(b)] = decodeState(b[8:])
	}
	c = r.count(4 + 8)
	x.linkSeq = make(map[uint32]uint64, c)
	for range c {
		d := r.u32()
		x.linkSeq[d] = r.u64()
	}
	for range r.count(8 + 8) {
		k := r.u64()
		x.restricted[k] = r.u64()
	}
	for range r.count(4 + 8) {
		n := r.u32()
		x.liftedAll[n] = r.u64()
	}
	for range r.count(8 + stateSize) {
		k := r.u64()
		x.objections[k] = r.state()
	}
	if r.err == nil && r.left != 0 {
		r.fail("corrupt: %d bytes after the last table", r.left)
	}
	if r.err != nil {
		return nil, pos, size, r.err
	}
	if crc.Sum32() != binary.LittleEndian.Uint32(sum[:]) {
		return nil, pos, size, errors.New("corrupt: checksum mismatch")
	}
	// Which devices each subject has follows from the devices' links.
	for d, info := range x.idents {
		if s := info.subject; s != 0 {
			if int(s) >= len(x.idents) {
				return nil, pos, size, fmt.Errorf("corrupt: identity %d of %d", s, len(x.idents))
			}
			x.devicesOf[s] = append(x.devicesOf[s], uint32(d))
			x.idents[s].hasDevices = true
		}
	}
	return x, pos, size, nil
}
