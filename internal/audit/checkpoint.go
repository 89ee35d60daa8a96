package audit

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/errs"
)

// CheckpointerConfig holds what a Checkpointer needs.
type CheckpointerConfig struct {
	DB     *db.DB
	Signer *Signer
	// File is the checkpoint file that every checkpoint is appended to (see
	// the package comment); "" keeps checkpoints in the database only,
	// which cannot reveal a rollback of that database.
	File string
	// Interval bounds how long an appended entry waits for a checkpoint,
	// and is the least time between two checkpoints this Checkpointer
	// signs, so that heavy appending costs one signature per Interval;
	// 0 means one second.
	Interval time.Duration
	// Every, when positive, also makes a checkpoint once this many entries
	// were appended since the last one, before Interval has passed; 0
	// means only Interval counts.
	Every int64
	// Wake receives a value when entries were appended (Log.Appended): the
	// loop then checks at once instead of at its next poll. Nil: polling
	// only.
	Wake <-chan struct{}
	// Poll is how often the chain head is read, for entries appended by
	// other replicas (or by AppendTx, whose signal comes before its
	// commit); 0 means one second, a negative value runs no background
	// loop (call Checkpoint yourself).
	Poll time.Duration
	// Publish, when set, is called in the transaction that stores a
	// checkpoint this Checkpointer signed (never for one adopted from
	// another replica, so each checkpoint is published once), to tell
	// another system (the audit.checkpoint webhook). It is not called for
	// a checkpoint whose new entries are all Quiet; the next checkpoint,
	// which covers them too, is. If it fails, the checkpoint is stored
	// unpublished and the failure logged.
	Publish func(ctx context.Context, tx *sql.Tx, p Published) error
	// Quiet reports entries that publishing itself may cause (a webhook
	// delivery that audits): a checkpoint of only such entries is signed
	// and filed but not published, so publishing cannot feed itself.
	Quiet func(e Stored) bool
	// Now is the clock; time.Now when nil. After waits for a duration;
	// time.After when nil. Tests inject both.
	Now    func() time.Time
	After  func(d time.Duration) <-chan time.Time
	Logger *slog.Logger
}

// Published is a checkpoint as published outside the database.
type Published struct {
	Checkpoint
	// Note is the signed note, as stored and filed.
	Note []byte
	// KeyID is the signing key's 32-bit key ID, and Signature the base64
	// of the note's signature line (key ID then Ed25519 signature), so
	// that a receiver can rebuild the note: Text(), an empty line, then
	// "— " + Origin + " " + Signature.
	KeyID     uint32
	Signature string
	// At is when it was signed.
	At time.Time
}

// Data returns the published facts as the audit.checkpoint webhook
// carries them: sizes, hashes, a time, a signature and key, nothing
// personal.
func (p Published) Data() map[string]any {
	return map[string]any{
		"origin":    p.Origin,
		"size":      p.Size,
		"root":      base64.StdEncoding.EncodeToString(p.Root[:]),
		"signed_at": p.At.UTC().Truncate(time.Microsecond).Format(time.RFC3339Nano),
		"key_id":    fmt.Sprintf("%08x", p.KeyID),
		"signature": p.Signature,
	}
}

// Checkpointer signs checkpoints of the log, stores them in the database and
// appends them to the checkpoint file.
//
// Before it signs a size it verifies the chain from the previous checkpoint
// to that size, and it never signs a checkpoint that contradicts one it
// knows of (in the file or the database): after a rollback of the database,
// or a rewrite of its entries, it refuses and logs why, until an operator
// has looked (see Verify). Several replicas may each run one on a shared
// PostgreSQL: each adopts the checkpoints the others made, checks them the
// same way and appends them to its own file, so every file holds every
// checkpoint made since it was started.
//
// Timing: woken by an append (or a poll finding new entries), it signs at
// once if its last checkpoint is at least Interval old, and otherwise when
// it will be; so no entry waits more than about Interval (plus a poll for
// entries written elsewhere), and it signs at most once per Interval.
type Checkpointer struct {
	db       *db.DB
	signer   *Signer
	file     string
	every    int64
	interval time.Duration
	wake     <-chan struct{}
	publish  func(ctx context.Context, tx *sql.Tx, p Published) error
	quiet    func(e Stored) bool
	now      func() time.Time
	after    func(d time.Duration) <-chan time.Time
	log      *slog.Logger

	mu        sync.Mutex
	last      Checkpoint // latest checkpoint known to extend the previous ones
	lastAt    time.Time
	verifiers []*Verifier

	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

// ErrRefused is wrapped by Checkpoint when the log contradicts a checkpoint
// already signed, so that signing would fork history.
var ErrRefused = errors.New("checkpoint refused")

// OpenCheckpointer records the signer's verifier key in the database, reads
// the last checkpoint of the file (or else the database), and starts the
// background loop unless cfg.Poll is negative. Close stops it.
func OpenCheckpointer(ctx context.Context, cfg CheckpointerConfig) (*Checkpointer, error) {
	if cfg.DB == nil || cfg.Signer == nil {
		return nil, errors.New("audit: OpenCheckpointer needs a DB and a Signer")
	}
	c := &Checkpointer{
		db: cfg.DB, signer: cfg.Signer, file: cfg.File, every: cfg.Every, interval: cfg.Interval,
		wake: cfg.Wake, publish: cfg.Publish, quiet: cfg.Quiet,
		now: cfg.Now, after: cfg.After, log: cfg.Logger, last: Checkpoint{Origin: cfg.Signer.Name()},
	}
	if c.interval <= 0 {
		c.interval = time.Second
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.after == nil {
		c.after = time.After
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if _, err := c.db.ExecContext(ctx, `INSERT INTO audit_keys (vkey, created_at) VALUES ($1, $2) ON CONFLICT (vkey) DO NOTHING`,
		cfg.Signer.VerifierKey(), c.now().UnixMicro()); err != nil {
		return nil, storeError(fmt.Errorf("record audit verifier key: %w", err))
	}
	if err := c.loadVerifiers(ctx); err != nil {
		return nil, err
	}
	if err := c.loadLast(ctx); err != nil {
		return nil, err
	}
	c.lastAt = c.now()
	poll := cfg.Poll
	if poll == 0 {
		poll = time.Second
	}
	c.stop, c.done = make(chan struct{}), make(chan struct{})
	if poll < 0 {
		close(c.done)
		return c, nil
	}
	go c.loop(poll)
	return c, nil
}

// loadVerifiers reads the verifier keys recorded in the database, which the
// checkpoints of other replicas (and of earlier keys) verify against.
func (c *Checkpointer) loadVerifiers(ctx context.Context) error {
	vs, err := recordedVerifiers(ctx, c.db)
	if err != nil {
		return err
	}
	c.verifiers = append([]*Verifier{c.signer.Verifier()}, vs...)
	return nil
}

func recordedVerifiers(ctx context.Context, q db.Querier) ([]*Verifier, error) {
	rows, err := q.QueryContext(ctx, `SELECT vkey FROM audit_keys ORDER BY created_at`)
	if err != nil {
		return nil, storeError(fmt.Errorf("read audit verifier keys: %w", err))
	}
	defer rows.Close()
	var out []*Verifier
	for rows.Next() {
		var vkey string
		if err := rows.Scan(&vkey); err != nil {
			return nil, storeError(fmt.Errorf("read audit verifier keys: %w", err))
		}
		if v, err := NewVerifier(vkey); err == nil {
			out = append(out, v)
		}
	}
	return out, storeError(rows.Err())
}

// loadLast takes the last checkpoint of the file that verifies; with none,
// the database's latest, which is then written to the (new) file so that
// the file starts anchored.
func (c *Checkpointer) loadLast(ctx context.Context) error {
	if c.file != "" {
		recs, err := lastFileRecords(c.file)
		if err != nil {
			return err
		}
		for i := len(recs) - 1; i >= 0; i-- {
			cp, _, err := OpenCheckpoint(recs[i].note, c.verifiers...)
			if err != nil {
				c.log.Error("audit: a checkpoint in the checkpoint file does not verify; ignoring it",
					"file", c.file, "error", err)
				continue
			}
			c.last = cp
			return nil
		}
	}
	var size int64
	var note string
	err := c.db.QueryRowContext(ctx, `SELECT size, note FROM audit_checkpoints ORDER BY size DESC LIMIT 1`).Scan(&size, &note)
	if err != nil {
		if isNoRows(err) {
			return nil
		}
		return storeError(fmt.Errorf("read latest audit checkpoint: %w", err))
	}
	cp, _, err := OpenCheckpoint([]byte(note), c.verifiers...)
	if err != nil {
		return fmt.Errorf("audit checkpoint %d in the database does not verify: %w", size, err)
	}
	c.last = cp
	if c.file != "" {
		return appendCheckpointFile(c.file, []byte(note))
	}
	return nil
}

func (c *Checkpointer) loop(poll time.Duration) {
	defer close(c.done)
	t := time.NewTicker(poll)
	defer t.Stop()
	var failing string
	var due <-chan time.Time // armed while new entries wait for Interval
	for {
		select {
		case <-c.stop:
			return
		case <-c.wake:
		case <-t.C:
		case <-due:
			due = nil
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		_, wait, err := c.sign(ctx, false)
		cancel()
		if wait > 0 && due == nil {
			due = c.after(wait)
		}
		// Say each new failure once, not once a poll.
		switch {
		case err == nil:
			if failing != "" {
				c.log.Info("audit checkpoints resumed")
			}
			failing = ""
		case err.Error() != failing:
			failing = err.Error()
			level := slog.LevelWarn
			if errors.Is(err, ErrRefused) {
				level = slog.LevelError
			}
			c.log.Log(context.Background(), level, "audit checkpoint failed", "error", err)
		}
	}
}

// Close stops the background loop and makes a last checkpoint of what was
// appended since the previous one.
func (c *Checkpointer) Close() error {
	var err error
	c.closeOnce.Do(func() {
		close(c.stop)
		<-c.done
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_, err = c.checkpoint(ctx, true)
	})
	return err
}

// Checkpoint makes a checkpoint of the log as it is now, unless the latest
// one already covers it, and returns the latest checkpoint.
func (c *Checkpointer) Checkpoint(ctx context.Context) (Checkpoint, error) {
	return c.checkpoint(ctx, true)
}

// Latest returns the latest checkpoint the Checkpointer knows of (size 0
// before the first).
func (c *Checkpointer) Latest() Checkpoint {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last
}

// VerifierKey returns the verifier key of the signing key, for operators.
func (c *Checkpointer) VerifierKey() string { return c.signer.VerifierKey() }

func (c *Checkpointer) checkpoint(ctx context.Context, force bool) (Checkpoint, error) {
	cp, _, err := c.sign(ctx, force)
	return cp, err
}

// sign makes a checkpoint of the head if one is due (or force), and
// returns the latest checkpoint; wait is how long until one is due when
// new entries wait for Interval, else 0.
func (c *Checkpointer) sign(ctx context.Context, force bool) (latest Checkpoint, wait time.Duration, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	// The time before the head is read: a checkpoint stamped now covers
	// every entry appended before, so timing decisions hold.
	now := c.now()
	headSeq, headHash, err := readHead(ctx, c.db)
	if err != nil {
		return c.last, 0, storeError(err)
	}
	if err := c.adopt(ctx, headSeq); err != nil {
		return c.last, 0, err
	}
	switch {
	case headSeq < c.last.Size:
		return c.last, 0, fmt.Errorf("%w: the log holds %d entries, but checkpoint %d was signed: the database was rolled back",
			ErrRefused, headSeq, c.last.Size)
	case headSeq == c.last.Size:
		if headHash != c.last.Root {
			return c.last, 0, fmt.Errorf("%w: the chain head at %d differs from checkpoint %d: history differs from checkpoint",
				ErrRefused, headSeq, c.last.Size)
		}
		return c.last, 0, nil
	}
	if age := now.Sub(c.lastAt); !force && (c.every <= 0 || headSeq-c.last.Size < c.every) && age < c.interval {
		return c.last, c.interval - age, nil
	}
	next := Checkpoint{Origin: c.signer.Name(), Size: headSeq, Root: headHash}
	loud, err := c.extends(ctx, next)
	if err != nil {
		return c.last, 0, err
	}
	_, note, err := c.signer.SignCheckpoint(next.Size, next.Root)
	if err != nil {
		return c.last, 0, err
	}
	var pub *Published
	if c.publish != nil && loud {
		pub = &Published{Checkpoint: next, Note: note, KeyID: c.signer.KeyID(), Signature: noteSignature(note), At: now}
	}
	stored, err := c.store(ctx, next, note, pub, now)
	var perr *publishError
	if errors.As(err, &perr) {
		c.log.Warn("audit checkpoint not published", "size", next.Size, "error", perr.err)
		stored, err = c.store(ctx, next, note, nil, now)
	}
	if err != nil {
		return c.last, 0, err
	}
	if !stored {
		// Another replica signed this size first: adopt its checkpoint.
		if err := c.adopt(ctx, headSeq); err != nil {
			return c.last, 0, err
		}
		return c.last, 0, nil
	}
	if err := c.record(next, note, now); err != nil {
		return c.last, 0, err
	}
	return c.last, 0, nil
}

// publishError is a failure of CheckpointerConfig.Publish.
type publishError struct{ err error }

func (e *publishError) Error() string { return "publish audit checkpoint: " + e.err.Error() }

// store inserts the checkpoint unless its size is taken (stored false) and,
// with pub, publishes it in the same transaction: a checkpoint is
// published once, by the replica whose row it is.
func (c *Checkpointer) store(ctx context.Context, next Checkpoint, note []byte, pub *Published, now time.Time) (stored bool, err error) {
	err = c.db.Tx(ctx, func(tx *sql.Tx) error {
		stored = false
		res, err := tx.ExecContext(ctx, `INSERT INTO audit_checkpoints (size, root, note, created_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (size) DO NOTHING`, next.Size, next.Root[:], string(note), now.UnixMicro())
		if err != nil {
			return storeError(fmt.Errorf("store audit checkpoint: %w", err))
		}
		if n, err := res.RowsAffected(); err == nil && n == 0 {
			return nil
		}
		stored = true
		if pub != nil {
			if err := c.publish(ctx, tx, *pub); err != nil {
				return &publishError{err: err}
			}
		}
		return nil
	})
	return stored, err
}

// noteSignature returns the base64 of a signed note's (only) signature
// line.
func noteSignature(note []byte) string {
	text := strings.TrimSuffix(string(note), "\n")
	line := text[strings.LastIndexByte(text, '\n')+1:]
	fields := strings.Fields(strings.TrimPrefix(line, emDash))
	if len(fields) != 2 {
		return ""
	}
	return fields[1]
}

// adopt takes in the checkpoints that other replicas stored after c.last,
// each checked against the chain, and appends them to the file.
func (c *Checkpointer) adopt(ctx context.Context, headSeq int64) error {
	for {
		// Up to the head read before: a checkpoint beyond it was made after
		// (by a replica that appended since) and is adopted next time.
		rows, err := c.db.QueryContext(ctx, `SELECT size, note FROM audit_checkpoints WHERE size > $1 AND size <= $2
			ORDER BY size LIMIT 100`, c.last.Size, headSeq)
		if err != nil {
			return storeError(fmt.Errorf("read audit checkpoints: %w", err))
		}
		type stored struct {
			size int64
			note string
		}
		var batch []stored
		for rows.Next() {
			var s stored
			if err := rows.Scan(&s.size, &s.note); err != nil {
				rows.Close()
				return storeError(fmt.Errorf("read audit checkpoints: %w", err))
			}
			batch = append(batch, s)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return storeError(fmt.Errorf("read audit checkpoints: %w", err))
		}
		if len(batch) == 0 {
			return nil
		}
		for _, s := range batch {
			cp, _, err := OpenCheckpoint([]byte(s.note), c.verifiers...)
			if errors.Is(err, ErrUnverifiedNote) { // perhaps a replica with a key new to us
				if lerr := c.loadVerifiers(ctx); lerr != nil {
					return lerr
				}
				cp, _, err = OpenCheckpoint([]byte(s.note), c.verifiers...)
			}
			if err != nil {
				return fmt.Errorf("%w: checkpoint %d in the database does not verify: %v", ErrRefused, s.size, err)
			}
			if cp.Size != s.size {
				return fmt.Errorf("%w: checkpoint stored as size %d in the database is signed for size %d", ErrRefused, s.size, cp.Size)
			}
			if _, err := c.extends(ctx, cp); err != nil {
				return err
			}
			if err := c.record(cp, []byte(s.note), c.now()); err != nil {
				return err
			}
		}
	}
}

// extends checks that the entries from c.last to next verify and end in
// next.Root; loud reports that one of them is not Quiet.
func (c *Checkpointer) extends(ctx context.Context, next Checkpoint) (loud bool, err error) {
	w := &walker{q: c.db, seq: c.last.Size, hash: c.last.Root, at: func(s *Stored) {
		if c.quiet == nil || !c.quiet(*s) {
			loud = true
		}
	}}
	p, err := w.walk(ctx, next.Size)
	if err != nil {
		return false, storeError(err)
	}
	switch {
	case p != nil:
	case w.seq < next.Size:
		p = &Problem{Kind: Removed, Seq: w.seq + 1, Count: next.Size - w.seq, Detail: "entries below the chain head are missing"}
	case w.hash != next.Root:
		p = &Problem{Kind: Diverged, Seq: next.Size, Detail: fmt.Sprintf("entry %d has another hash", next.Size)}
	}
	if p != nil {
		return false, fmt.Errorf("%w: from checkpoint %d to %d: %s", ErrRefused, c.last.Size, next.Size, p)
	}
	return loud, nil
}

// record makes cp, signed or adopted at, the latest checkpoint and appends
// its note to the file.
func (c *Checkpointer) record(cp Checkpoint, note []byte, at time.Time) error {
	if c.file != "" {
		if err := appendCheckpointFile(c.file, note); err != nil {
			return errs.Wrap(errs.CodeUnavailable, err, "the audit checkpoint file cannot be written")
		}
	}
	c.last, c.lastAt = cp, at
	return nil
}
