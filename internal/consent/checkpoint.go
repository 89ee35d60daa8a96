package consent

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/db"
)

// Ledger checkpoints are signed notes (c2sp.org/signed-note, as the audit
// log's, signed by the same key under the origin "<host>/ledger", so that
// neither can pass for the other):
//
//	shop.example/ledger
//	1042
//	q1l0nuHJvxs0yXEJ2y1kGcVxrxZq5pbLX8vlzqzHeJU=
//	2026-12-06T21:45:12Z
//
//	— shop.example/ledger 8Bm2xVV0Y0w5...==
//
// naming the last chain entry's seq and hash and the time of signing. Each
// is stored in ledger_checkpoints and appended to the ledger checkpoint file
// in the data directory (records separated by an empty line, as the audit
// checkpoint file is). Ship the file elsewhere: it is what shows a ledger
// rewritten, chain and all, or rolled back.

// ledgerCheckpoint is one signed checkpoint.
type ledgerCheckpoint struct {
	seq    int64
	hash   []byte
	at     time.Time
	note   []byte
	source string // where it was read: "file line N" or "database"
}

func checkpointText(origin string, seq int64, hash []byte, at time.Time) string {
	return origin + "\n" + strconv.FormatInt(seq, 10) + "\n" + base64.StdEncoding.EncodeToString(hash) + "\n" +
		at.UTC().Format(time.RFC3339) + "\n"
}

// openCheckpoint checks a note's signature against verifiers (none: the
// signature is not checked, only the form) and parses it.
func openCheckpoint(note []byte, verifiers []*audit.Verifier) (ledgerCheckpoint, error) {
	var text string
	if len(verifiers) > 0 {
		t, v, err := audit.OpenNote(note, verifiers...)
		if err != nil {
			return ledgerCheckpoint{}, err
		}
		if !strings.HasPrefix(t, v.Name()+"\n") {
			return ledgerCheckpoint{}, fmt.Errorf("%w: origin is not the signer's name %q", audit.ErrUnverifiedNote, v.Name())
		}
		text = t
	} else {
		split := bytes.LastIndex(note, []byte("\n\n"))
		if split < 0 {
			return ledgerCheckpoint{}, audit.ErrMalformedNote
		}
		text = string(note[:split+1])
	}
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if len(lines) < 4 {
		return ledgerCheckpoint{}, fmt.Errorf("%w: a ledger checkpoint has origin, seq, hash and time lines", audit.ErrMalformedNote)
	}
	cp := ledgerCheckpoint{note: note}
	var err error
	if cp.seq, err = strconv.ParseInt(lines[1], 10, 64); err != nil || cp.seq < 0 {
		return ledgerCheckpoint{}, fmt.Errorf("%w: checkpoint seq %q", audit.ErrMalformedNote, lines[1])
	}
	if cp.hash, err = base64.StdEncoding.Strict().DecodeString(lines[2]); err != nil || len(cp.hash) != 32 {
		return ledgerCheckpoint{}, fmt.Errorf("%w: checkpoint hash %q", audit.ErrMalformedNote, lines[2])
	}
	if cp.at, err = time.Parse(time.RFC3339, lines[3]); err != nil {
		return ledgerCheckpoint{}, fmt.Errorf("%w: checkpoint time %q", audit.ErrMalformedNote, lines[3])
	}
	return cp, nil
}

// fileNotes returns the notes of a checkpoint file with their first lines,
// and warnings about damaged records (a torn last write). A missing file
// has none.
func fileNotes(path string, tail int64) ([][]byte, []int, []string, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil, nil
	}
	if err != nil {
		return nil, nil, nil, fmt.Errorf("read ledger checkpoint file: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, nil, fmt.Errorf("read ledger checkpoint file: %w", err)
	}
	start := int64(0)
	if tail > 0 {
		start = max(st.Size()-tail, 0)
	}
	data := make([]byte, st.Size()-start)
	if _, err := f.ReadAt(data, start); err != nil && !errors.Is(err, io.EOF) {
		return nil, nil, nil, fmt.Errorf("read ledger checkpoint file: %w", err)
	}
	type block struct {
		line  int
		lines []string
		sigs  bool
	}
	var blocks []block
	var cur *block
	for n, line := range strings.Split(string(data), "\n") {
		if line == "" {
			cur = nil
			continue
		}
		if cur == nil {
			blocks = append(blocks, block{line: n + 1, sigs: strings.HasPrefix(line, "\u2014 ")})
			cur = &blocks[len(blocks)-1]
		}
		cur.lines = append(cur.lines, line)
	}
	if start > 0 && len(blocks) > 0 { // the first block may be cut
		blocks = blocks[1:]
	}
	var notes [][]byte
	var lines []int
	var warnings []string
	for i := 0; i < len(blocks); i++ {
		b := blocks[i]
		if !b.sigs && i+1 < len(blocks) && blocks[i+1].sigs {
			notes = append(notes, []byte(strings.Join(b.lines, "\n")+"\n\n"+strings.Join(blocks[i+1].lines, "\n")+"\n"))
			lines = append(lines, b.line)
			i++
			continue
		}
		if start == 0 || i > 0 {
			warnings = append(warnings, fmt.Sprintf("ledger checkpoint file: damaged record at line %d ignored", b.line))
		}
	}
	return notes, lines, warnings, nil
}

// appendCheckpointFile appends note as a record and syncs the file.
func appendCheckpointFile(path string, note []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("create checkpoint directory: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("open ledger checkpoint file: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("open ledger checkpoint file: %w", err)
	}
	var record []byte
	if size := st.Size(); size > 0 {
		// After a torn write, start a fresh record.
		tail := make([]byte, min(size, 2))
		if _, err := f.ReadAt(tail, size-int64(len(tail))); err != nil {
			return fmt.Errorf("read ledger checkpoint file: %w", err)
		}
		switch {
		case bytes.Equal(tail, []byte("\n\n")):
		case tail[len(tail)-1] == '\n':
			record = append(record, '\n')
		default:
			record = append(record, "\n\n"...)
		}
	}
	record = append(append(record, note...), '\n')
	if _, err := f.Write(record); err != nil {
		return fmt.Errorf("write ledger checkpoint file: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync ledger checkpoint file: %w", err)
	}
	return nil
}

// CheckpointerConfig holds what a Checkpointer needs.
type CheckpointerConfig struct {
	DB *db.DB
	// Signer signs the checkpoints; its name is their origin.
	Signer *audit.Signer
	// File is the ledger checkpoint file; "" keeps checkpoints in the
	// database only, which cannot reveal a rewrite of that database.
	File string
	// Interval is how often the head is checked and, when it moved, signed;
	// 0 means one second, a negative value runs no background loop (call
	// Checkpoint yourself).
	Interval time.Duration
	// Now is the clock; time.Now when nil.
	Now    func() time.Time
	Logger *slog.Logger
	// Written, when set (Service.Written of the same process), is the
	// stretch of the chain the commit loop appended: its entries are not
	// read back, and its end is signed with the hash computed in memory.
	Written *Written
}

// Checkpointer verifies the ledger's chain as it grows and signs its head.
//
// At open it takes the last checkpoint of the file (else of the database)
// and verifies the chain from there to the head: only the tail, so that
// start stays fast (`steward ledger verify` walks it all). Each round then
// verifies the entries added since and signs the new head. Once the chain
// is found broken it signs nothing more and Status reports why, until an
// operator has looked (`steward ledger verify`) and restarted.
type Checkpointer struct {
	db      *db.DB
	signer  *audit.Signer
	file    string
	now     func() time.Time
	log     *slog.Logger
	written *Written
	// onStretch is where the walker stood on the commit loop's stretch
	// number gen when it last reached the stretch's end.
	onStretch struct {
		gen uint64
		seq int64
		ok  bool
	}

	mu     sync.Mutex
	walker *walker
	last   int64 // seq of the latest checkpoint
	broken string

	stop, done chan struct{}
	closeOnce  sync.Once
}

// OpenCheckpointer verifies the tail of the chain and starts the background
// loop. A broken chain is no error: it is reported by Status, the log and
// the caller's readiness check, so that the evidence stays readable.
func OpenCheckpointer(ctx context.Context, cfg CheckpointerConfig) (*Checkpointer, error) {
	if cfg.DB == nil || cfg.Signer == nil {
		return nil, errors.New("consent: OpenCheckpointer needs a DB and a Signer")
	}
	c := &Checkpointer{db: cfg.DB, signer: cfg.Signer, file: cfg.File, now: cfg.Now, log: cfg.Logger, written: cfg.Written,
		stop: make(chan struct{}), done: make(chan struct{})}
	if c.now == nil {
		c.now = time.Now
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if err := c.start(ctx); err != nil {
		return nil, err
	}
	interval := cfg.Interval
	if interval == 0 {
		interval = time.Second
	}
	if interval < 0 {
		close(c.done)
		return c, nil
	}
	go c.loop(interval)
	return c, nil
}

// start finds the latest checkpoint and checks the chain from it.
func (c *Checkpointer) start(ctx context.Context) error {
	head, err := readHead(ctx, c.db)
	if err != nil {
		return db.Classify(err)
	}
	verifiers := []*audit.Verifier{c.signer.Verifier()}
	var latest *ledgerCheckpoint
	if c.file != "" {
		notes, _, _, err := fileNotes(c.file, 64<<10)
		if err != nil {
			return err
		}
		for i := len(notes) - 1; i >= 0 && latest == nil; i-- {
			if cp, err := openCheckpoint(notes[i], verifiers); err == nil {
				latest = &cp
			} else {
				c.log.Error("ledger: a checkpoint in the checkpoint file does not verify; ignoring it", "file", c.file, "error", err)
			}
		}
	}
	if latest == nil {
		var note string
		err := c.db.QueryRowContext(ctx, `SELECT note FROM ledger_checkpoints ORDER BY seq DESC LIMIT 1`).Scan(&note)
		switch {
		case err == nil:
			if cp, err := openCheckpoint([]byte(note), verifiers); err == nil {
				latest = &cp
			} else {
				// Perhaps another replica's, signed with its own key: verify
				// the whole chain instead (once: then this file has one).
				c.log.Warn("ledger: the latest checkpoint in the database does not verify with this server's key; verifying the whole chain", "error", err)
			}
		case !errors.Is(err, sql.ErrNoRows):
			return db.Classify(fmt.Errorf("read ledger checkpoint: %w", err))
		}
	}
	c.walker = newWalker(head.chainFrom, nil)
	if latest != nil && latest.seq > head.chainFrom {
		c.last = latest.seq
		c.walker = newWalker(latest.seq, latest.hash)
	}
	if latest != nil && latest.seq > head.chainFrom {
		// The checkpointed entry itself must still be there, unchanged.
		rows, _, err := readChain(ctx, c.db, latest.seq-1, latest.seq, 1, true)
		if err != nil {
			return db.Classify(err)
		}
		switch {
		case head.chainSeq < latest.seq:
			c.fail(&Problem{Kind: ProblemRemoved, Seq: latest.seq,
				Detail: fmt.Sprintf("checkpoint %d was signed, but the ledger head is at %d: the ledger was cut back", latest.seq, head.chainSeq)})
		case len(rows) == 0 || rows[0].seq() != latest.seq:
			c.fail(&Problem{Kind: ProblemRemoved, Seq: latest.seq, Detail: "the entry of the latest checkpoint is gone"})
		case !bytes.Equal(rows[0].hash, latest.hash):
			c.fail(&Problem{Kind: ProblemCheckpoint, Seq: latest.seq, EventID: rows[0].event.ID,
				Detail: "its hash is not the one the latest checkpoint signed"})
		}
	}
	if c.broken != "" {
		return nil
	}
	// At start the tail is checked in full; each round after, the links of
	// what was appended since (see walker.linksOnly).
	if _, err := c.advance(ctx, head); err != nil {
		return err
	}
	c.walker.linksOnly = true
	return nil
}

// advance verifies the chain from the walker to head.
func (c *Checkpointer) advance(ctx context.Context, head ledgerHead) (bool, error) {
	if c.broken != "" {
		return false, nil
	}
	w := c.walker
	from, to, gen, ok := c.written.span()
	at := func(h ledgerHead) bool { return w.prevSeq == h.chainSeq && bytes.Equal(w.prevHash, h.hash) }
	if ok && w.linksOnly && w.problem == nil && w.pending == nil && to.chainSeq <= head.chainSeq &&
		(at(from) || (c.onStretch.ok && c.onStretch.gen == gen && c.onStretch.seq == w.prevSeq)) {
		// This process chained every entry from the walker to the end of
		// its stretch, in memory: walk on from there. Whatever the store
		// holds after it must chain from that hash, and a head at the
		// same entry must hold it.
		w.prevSeq, w.prevHash, w.prevID = to.chainSeq, to.hash, ""
	}
	for w.problem == nil && w.pending == nil && w.prevSeq < head.chainSeq {
		rows, more, err := readChain(ctx, c.db, w.prevSeq, head.seq, 10000, w.linksOnly)
		if err != nil {
			return false, db.Classify(err)
		}
		for i := range rows {
			if !w.step(&rows[i]) {
				break
			}
		}
		if !more {
			break
		}
	}
	w.finish(head)
	if w.problem != nil {
		c.fail(w.problem)
		return false, nil
	}
	if ok && at(to) {
		c.onStretch.gen, c.onStretch.seq, c.onStretch.ok = gen, to.chainSeq, true
	}
	return true, nil
}

// fail marks the chain broken and says so once, naming entries by seq and
// event id only.
func (c *Checkpointer) fail(p *Problem) {
	c.broken = "the consent ledger's hash chain is broken: " + p.String()
	c.log.Error("consent ledger chain broken; no further checkpoints are signed until an operator runs `steward ledger verify`",
		"seq", p.Seq, "event_id", p.EventID, "kind", p.Kind, "detail", p.Detail)
}

// Status reports whether the chain verified so far, and if not, why.
func (c *Checkpointer) Status() (ok bool, reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.broken == "", c.broken
}

// Latest returns the seq of the latest checkpoint this Checkpointer knows.
func (c *Checkpointer) Latest() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last
}

// Checkpoint verifies the entries added since the last round and signs the
// head when it moved.
func (c *Checkpointer) Checkpoint(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.broken != "" {
		return errors.New(c.broken)
	}
	head, err := readHead(ctx, c.db)
	if err != nil {
		return db.Classify(err)
	}
	if head.chainSeq <= c.last || head.chainSeq <= head.chainFrom {
		return nil
	}
	if ok, err := c.advance(ctx, head); err != nil || !ok {
		if err == nil {
			err = errors.New(c.broken)
		}
		return err
	}
	at := c.now()
	note, err := c.signer.Sign(checkpointText(c.signer.Name(), head.chainSeq, head.hash, at))
	if err != nil {
		return err
	}
	// Another replica may have signed this seq: both notes are valid.
	if _, err := c.db.ExecContext(ctx, `INSERT INTO ledger_checkpoints (seq, hash, note, created_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (seq) DO NOTHING`, head.chainSeq, head.hash, string(note), at.UnixMicro()); err != nil {
		return db.Classify(fmt.Errorf("store ledger checkpoint: %w", err))
	}
	if c.file != "" {
		if err := appendCheckpointFile(c.file, note); err != nil {
			return err
		}
	}
	c.last = head.chainSeq
	return nil
}

func (c *Checkpointer) loop(interval time.Duration) {
	defer close(c.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	failing := ""
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			err := c.Checkpoint(ctx)
			cancel()
			switch {
			case err == nil:
				failing = ""
			case err.Error() != failing:
				failing = err.Error()
				if ok, _ := c.Status(); ok { // a broken chain was logged already
					c.log.Warn("ledger checkpoint failed", "error", err)
				}
			}
		}
	}
}

// Close stops the loop and signs what was appended since the last round.
// A nil Checkpointer closes as nothing.
func (c *Checkpointer) Close() error {
	if c == nil {
		return nil
	}
	var err error
	c.closeOnce.Do(func() {
		close(c.stop)
		<-c.done
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if ok, _ := c.Status(); ok {
			err = c.Checkpoint(ctx)
		}
	})
	return err
}
