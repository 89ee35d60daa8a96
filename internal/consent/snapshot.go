// Snapshots of the decision index: start from the index as it was plus
// the ledger's tail, instead of replaying the whole ledger.
//
// A snapshot is one file, written to a temporary name, synced and renamed
// over the last. It holds no subject or device id: identities are the
// index's 128-bit keyed hashes, and the SipHash key is in the file, so
// that the process that loads it finds the same identities (the file is
// readable by its owner alone: with the key, whoever knows an id can find
// its states). States that an erasure made unreachable are left out, and
// an erasure applied here (made here, or followed from another replica)
// has the snapshot written anew within erasureSnapshotDelay, so that an
// erased subject leaves the file soon, not at the next interval. A start
// from a snapshot written before an erasure replays the erasure with the
// tail, so that the subject's states never come back.
//
// Layout, little-endian: the magic (its version), the hash key, the
// follower's positions (events, links, restrictions, erasures), the chain
// entry the snapshot covers (its seq and hash: the later of the last event
// and the last erasure applied), the index's tables
// (consentrules.Index.WriteSnapshot), and last the CRC-32C of everything
// before it. Loading checks the magic, the counts against the file's size
// and the checksum, then that the store's chain holds that entry with that
// hash (the hash covers every entry before it) and that its head is not
// behind the positions; anything else (another ledger, a restored older
// store, a corrupt file, a snapshot of another version) and the index is
// rebuilt from the whole ledger, saying why in the log.

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

	"github.com/steward-dev/steward/internal/consentrules"
	"github.com/steward-dev/steward/internal/db"
)

// snapshotMagic starts a snapshot; its number changes with the layout
// (version 1 was the index before consentrules kept states in an arena).
const snapshotMagic = "STEWARD-INDEX-2\n"

// erasureSnapshotDelay is the longest an erasure waits for the snapshot to
// be written anew (at most one write per delay, however many erasures).
const erasureSnapshotDelay = time.Minute

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// snapshotPositions is how far into the ledger a snapshot's index reached.
type snapshotPositions struct {
	events, links, restrictions, erasures int64
	// chainSeq is the chain entry covered (max of events and erasures, 0
	// with neither) and hash its chain hash (nil for an entry from before
	// the chain began).
	chainSeq int64
	hash     []byte
}

func (p snapshotPositions) highest() int64 {
	return max(p.events, p.links, p.restrictions, p.erasures)
}

// SnapshotInfo describes a written or loaded snapshot.
type SnapshotInfo struct {
	// Seq is the ledger sequence number the snapshot covers (the last
	// event applied), States how many states it holds, Bytes the file's
	// size, Took how long writing or loading it took.
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
	// process wrote itself, and the snapshot covers up to them. Entries
	// applied after the pass and before the encoding are in the snapshot
	// too, and replayed again after a load, which changes nothing.
	if _, err := s.follow(ctx, readAll); err != nil {
		return SnapshotInfo{}, err
	}
	s.followMu.Lock()
	pos := snapshotPositions{events: s.followedSeq, links: s.followedLinks, restrictions: s.followedRestrictions, erasures: s.followedErasures}
	s.followMu.Unlock()
	var err error
	if pos.chainSeq, pos.hash, err = s.chainEntry(ctx, max(pos.events, pos.erasures)); err != nil {
		return SnapshotInfo{}, err
	}
	if pos.chainSeq == 0 && max(pos.events, pos.erasures) > 0 {
		return SnapshotInfo{}, fmt.Errorf("write index snapshot: the ledger holds no entry %d", max(pos.events, pos.erasures))
	}
	states, size, err := writeSnapshotFile(s.index, pos, path)
	if err != nil {
		return SnapshotInfo{}, err
	}
	return SnapshotInfo{Seq: pos.events, States: states, Bytes: size, Took: time.Since(started)}, nil
}

// chainEntry returns seq and the chain hash of the event or erasure at seq
// (0 and nil for seq 0, or when the ledger holds neither).
func (s *Service) chainEntry(ctx context.Context, seq int64) (int64, []byte, error) {
	if seq == 0 {
		return 0, nil, nil
	}
	var hash []byte
	err := s.db.QueryRowContext(ctx, `SELECT hash FROM consent_events WHERE seq = $1
		UNION ALL SELECT hash FROM consent_erasures WHERE seq = $1`, seq).Scan(&hash)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil, nil
	}
	if err != nil {
		return 0, nil, db.Classify(fmt.Errorf("read chain hash: %w", err))
	}
	return seq, hash, nil
}

// writeSnapshotFile writes x's snapshot at pos to path and returns how
// many states it holds and its size.
func writeSnapshotFile(x *Index, pos snapshotPositions, path string) (int, int64, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*.tmp") // mode 0600
	if err != nil {
		return 0, 0, fmt.Errorf("write index snapshot: %w", err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	crc := crc32.New(castagnoli)
	w := bufio.NewWriterSize(io.MultiWriter(tmp, crc), 1<<16)
	head := []byte(snapshotMagic)
	head = binary.LittleEndian.AppendUint64(head, x.hashKey[0])
	head = binary.LittleEndian.AppendUint64(head, x.hashKey[1])
	for _, p := range []int64{pos.events, pos.links, pos.restrictions, pos.erasures, pos.chainSeq} {
		head = binary.LittleEndian.AppendUint64(head, uint64(p))
	}
	head = binary.LittleEndian.AppendUint32(head, uint32(len(pos.hash)))
	head = append(head, pos.hash...)
	_, err = w.Write(head)
	states := 0
	if err == nil {
		states, err = x.WriteSnapshot(w)
	}
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		_, err = tmp.Write(binary.LittleEndian.AppendUint32(nil, crc.Sum32()))
	}
	if err == nil {
		err = tmp.Sync()
	}
	var size int64
	if err == nil {
		size, err = tmp.Seek(0, io.SeekCurrent)
	}
	if err == nil {
		err = tmp.Close()
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
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
	if head < pos.highest() {
		return fmt.Errorf("stale: the snapshot reaches seq %d, the ledger's head is %d", pos.highest(), head)
	}
	if pos.chainSeq != max(pos.events, pos.erasures) {
		return fmt.Errorf("corrupt: chain entry %d, positions %d and %d", pos.chainSeq, pos.events, pos.erasures)
	}
	seq, hash, err := s.chainEntry(ctx, pos.chainSeq)
	if err != nil {
		return err
	}
	if seq != pos.chainSeq {
		return fmt.Errorf("stale: the ledger holds no chain entry %d", pos.chainSeq)
	}
	if !bytes.Equal(hash, pos.hash) {
		return fmt.Errorf("stale: chain entry %d's hash differs from the snapshot's (another ledger, or one restored since)", pos.chainSeq)
	}
	return nil
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
	const fixed = len(snapshotMagic) + 2*8 + 5*8 + 4
	if size < int64(fixed)+4 {
		return nil, pos, size, errors.New("corrupt: too short")
	}
	var sum [4]byte
	if _, err := f.ReadAt(sum[:], size-4); err != nil {
		return nil, pos, size, fmt.Errorf("read checksum: %w", err)
	}
	crc := crc32.New(castagnoli)
	r := bufio.NewReaderSize(io.TeeReader(io.LimitReader(f, size-4), crc), 1<<20)
	head := make([]byte, fixed)
	if _, err := io.ReadFull(r, head); err != nil {
		return nil, pos, size, fmt.Errorf("truncated: %w", err)
	}
	if string(head[:len(snapshotMagic)]) != snapshotMagic {
		return nil, pos, size, errors.New("not an index snapshot of this version")
	}
	b := head[len(snapshotMagic):]
	u64 := func() uint64 { v := binary.LittleEndian.Uint64(b); b = b[8:]; return v }
	hashKey := [2]uint64{u64(), u64()}
	pos.events, pos.links, pos.restrictions, pos.erasures, pos.chainSeq = int64(u64()), int64(u64()), int64(u64()), int64(u64()), int64(u64())
	n := int64(binary.LittleEndian.Uint32(b))
	left := size - 4 - int64(fixed)
	if n > 64 || n > left {
		return nil, pos, size, fmt.Errorf("corrupt: a chain hash of %d bytes", n)
	}
	if n > 0 {
		pos.hash = make([]byte, n)
		if _, err := io.ReadFull(r, pos.hash); err != nil {
			return nil, pos, size, fmt.Errorf("truncated: %w", err)
		}
	}
	x := newIndexKeyed(hashKey)
	if x.Index, err = consentrules.ReadSnapshot(r, left-n, x.key); err != nil {
		return nil, pos, size, err
	}
	if crc.Sum32() != binary.LittleEndian.Uint32(sum[:]) {
		return nil, pos, size, errors.New("corrupt: checksum mismatch")
	}
	return x, pos, size, nil
}

// StartedFrom describes the snapshot Open started from; false when it
// rebuilt the index from the whole ledger.
func (s *Service) StartedFrom() (SnapshotInfo, bool) {
	if s.fromSnapshot == nil {
		return SnapshotInfo{}, false
	}
	return *s.fromSnapshot, true
}

// snapshotLoop writes the snapshot every interval (never when 0), and
// within erasureSnapshotDelay of an erasure applied to the index.
func (s *Service) snapshotLoop(interval time.Duration) {
	var tick <-chan time.Time
	if interval > 0 {
		t := time.NewTicker(interval)
		defer t.Stop()
		tick = t.C
	}
	var erased <-chan time.Time
	last := time.Now()
	for {
		select {
		case <-s.stop:
			return
		case <-tick:
			s.snapshot()
			last = time.Now()
		case <-s.snapshotDue:
			if erased == nil {
				erased = time.After(max(0, s.erasureDelay-time.Since(last)))
			}
		case <-erased:
			erased = nil
			s.snapshot()
			last = time.Now()
		}
	}
}

// erased tells the snapshot loop that an erasure reached the index, so
// that the snapshot on disk, which may still hold the subject's states,
// is written anew.
func (s *Service) erased() {
	if s.snapshotPath == "" {
		return
	}
	select {
	case s.snapshotDue <- struct{}{}:
	default:
	}
}

// snapshot writes the index's snapshot, logging the outcome.
func (s *Service) snapshot() {
	if s.index.MaxSeq() == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	info, err := s.WriteSnapshot(ctx, s.snapshotPath)
	if err != nil {
		s.log.Warn("write consent index snapshot", "err", err)
		return
	}
	s.log.Info("consent index snapshot written", "seq", info.Seq, "states", info.States, "bytes", info.Bytes,
		"took", info.Took.Round(time.Millisecond).String())
}
