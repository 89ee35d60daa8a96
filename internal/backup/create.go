package backup

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"sync"
	"time"

	"filippo.io/age"
	"github.com/klauspost/compress/gzip"

	"github.com/steward-dev/steward/internal/backup/target"
)

// DefaultChunkSize is the plaintext carried by one chunk when
// CreateOptions.ChunkSize is zero.
const DefaultChunkSize = 8 << 20

// Bounds of CreateOptions.ChunkSize: tiny chunks are for tests; a chunk is
// held in memory (a few at once), so it stays well under the memory budget.
const (
	minChunkSize = 256
	maxChunkSize = 64 << 20
)

// DefaultDuty is the share of wall time a backup's dump works when
// CreateOptions.Duty is zero: it rests more than twice as long as it
// works, so that a backup of a live store leaves its writers most of the
// machine (issue 15 asks that ingest keep 70 % of its rate during a
// backup) and still ends within its time budget (30 s for a million
// ledger events). On a quiet 2-core machine, at 0.4, a million events
// took 17.5 s and ingest kept a median 68 % (docs/operations.md, "Backup
// figures").
const DefaultDuty = 0.3

// CreateOptions are the keys and settings of one backup.
type CreateOptions struct {
	Recipients []age.Recipient    // at least one; the server holds only these public halves
	Signer     ed25519.PrivateKey // the backup signing key
	ChunkSize  int                // plaintext bytes per chunk before compression; default 8 MiB
	// Workers compress, encrypt and store chunks while the dump fills the
	// next; 0: one fewer than GOMAXPROCS (at least one, at most four), so
	// that a backup never takes every core from the server it runs in.
	Workers int
	// Duty is the share of wall time the dump may work, in (0, 1]: after
	// each chunk it has filled it rests for (1-Duty)/Duty times the time
	// it worked, waits for free buffers not counted. The workers only
	// follow the dump, so it paces the whole backup. 0: DefaultDuty; 1:
	// no rest (an offline store, a test).
	Duty float64
	Now  func() time.Time
}

// Create streams what dump writes into compressed, age-encrypted, hashed
// chunks on t, then writes the signed manifest last (a backup without its
// manifest is not a backup). contents is what dump returned and is stored in
// the manifest as JSON.
//
// Memory stays bounded by a few chunks: dump fills one chunk while up to
// GOMAXPROCS (at most 4) earlier ones are compressed, encrypted and stored.
// When Create fails it deletes what it wrote, as far as it can; whatever
// stays (a killed process, a write-once store) lists as incomplete.
func Create(ctx context.Context, t target.Target, opts CreateOptions,
	dump func(ctx context.Context, w io.Writer) (contents any, err error)) (Manifest, error) {
	if err := opts.check(); err != nil {
		return Manifest{}, err
	}
	recipients := make([]string, len(opts.Recipients))
	for i, r := range opts.Recipients {
		s, err := recipientString(r)
		if err != nil {
			return Manifest{}, fmt.Errorf("create backup: %w", err)
		}
		recipients[i] = s
	}
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	created := now().UTC().Truncate(time.Second)
	id, err := newID(created)
	if err != nil {
		return Manifest{}, err
	}
	chunkSize := opts.ChunkSize
	if chunkSize == 0 {
		chunkSize = DefaultChunkSize
	}

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	w := newChunkWriter(ctx, cancel, t, id, chunkSize, opts.Recipients, opts.workers(), opts.duty())
	contents, dumpErr := dump(ctx, w)
	chunks, writeErr := w.finish(dumpErr == nil)
	if err := errors.Join(dumpErr, writeErr); err != nil {
		cleanUp(ctx, t, id)
		if dumpErr != nil {
			return Manifest{}, fmt.Errorf("create backup %s: dump: %w", id, err)
		}
		return Manifest{}, fmt.Errorf("create backup %s: %w", id, err)
	}

	contentsJSON, err := json.Marshal(contents)
	if err != nil {
		cleanUp(ctx, t, id)
		return Manifest{}, fmt.Errorf("create backup %s: encode contents: %w", id, err)
	}
	m := Manifest{
		Format: FormatVersion, ID: id, Created: created,
		KeyID:       KeyID(opts.Signer.Public().(ed25519.PublicKey)),
		Compression: "gzip", Encryption: "age",
		ChunkSize: chunkSize, Recipients: recipients,
		Chunks: chunks, Contents: contentsJSON,
	}
	for _, c := range chunks {
		m.PlaintextSize += c.PlaintextSize
		m.StoredSize += c.Size
	}
	raw, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		cleanUp(ctx, t, id)
		return Manifest{}, fmt.Errorf("create backup %s: encode manifest: %w", id, err)
	}
	raw = append(raw, '\n')
	// The signature first, the manifest last: the manifest's presence is
	// what makes a backup complete.
	if err := t.Put(ctx, objectName(id, signatureName), bytes.NewReader(signManifest(opts.Signer, raw))); err != nil {
		cleanUp(ctx, t, id)
		return Manifest{}, fmt.Errorf("create backup %s: %w", id, err)
	}
	if err := t.Put(ctx, objectName(id, manifestName), bytes.NewReader(raw)); err != nil {
		cleanUp(ctx, t, id)
		return Manifest{}, fmt.Errorf("create backup %s: %w", id, err)
	}
	return m, nil
}

func (o CreateOptions) check() error {
	switch {
	case len(o.Recipients) == 0:
		return errors.New("create backup: no recipient (the backup would be readable by nobody)")
	case len(o.Signer) != ed25519.PrivateKeySize:
		return errors.New("create backup: no signing key")
	case o.ChunkSize != 0 && (o.ChunkSize < minChunkSize || o.ChunkSize > maxChunkSize):
		return fmt.Errorf("create backup: chunk size %d outside %d..%d", o.ChunkSize, minChunkSize, maxChunkSize)
	case o.Workers < 0 || o.Workers > maxWorkers:
		return fmt.Errorf("create backup: %d workers, want 0 (the default) to %d", o.Workers, maxWorkers)
	case o.Duty < 0 || o.Duty > 1 || math.IsNaN(o.Duty):
		return fmt.Errorf("create backup: duty %v outside (0, 1] (0 for the default %v)", o.Duty, DefaultDuty)
	}
	for i, r := range o.Recipients {
		if r == nil {
			return fmt.Errorf("create backup: recipient %d is nil", i+1)
		}
	}
	return nil
}

// maxWorkers bounds CreateOptions.Workers: each holds a chunk in memory.
const maxWorkers = 4

func (o CreateOptions) workers() int {
	if o.Workers > 0 {
		return o.Workers
	}
	return max(1, min(runtime.GOMAXPROCS(0)-1, maxWorkers))
}

func (o CreateOptions) duty() float64 {
	if o.Duty > 0 {
		return o.Duty
	}
	return DefaultDuty
}

// cleanUp deletes what a failed Create wrote, on a context that outlives a
// cancelled one, and gives up quietly: leftovers list as incomplete.
func cleanUp(ctx context.Context, t target.Target, id string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	objects, err := t.List(ctx, id+"/")
	if err != nil {
		return
	}
	for _, o := range objects {
		_ = t.Delete(ctx, o.Name)
	}
}

// chunkWriter cuts the dump's stream into chunks and hands full ones to
// workers. A chunk is handed over only when the next byte arrives or the
// dump ends, so its header can say whether it is the last.
type chunkWriter struct {
	ctx        context.Context
	cancel     context.CancelCauseFunc
	target     target.Target
	id         string
	size       int
	recipients []age.Recipient

	current []byte
	next    int // index of the current chunk
	// duty is CreateOptions.Duty. The dump has worked since busySince,
	// less waited, the time it spent waiting for workers and buffers;
	// rest times its pauses.
	duty      float64
	busySince time.Time
	waited    time.Duration
	rest      *time.Timer

	free    chan []byte   // plaintext buffers not in use (bounds memory)
	jobs    chan chunkJob // full chunks for the workers
	workers sync.WaitGroup

	mu     sync.Mutex
	chunks []Chunk
}

type chunkJob struct {
	index int
	data  []byte
	last  bool
}

var _ io.Writer = (*chunkWriter)(nil)

func newChunkWriter(ctx context.Context, cancel context.CancelCauseFunc, t target.Target, id string, size int, recipients []age.Recipient,
	workers int, duty float64) *chunkWriter {
	w := &chunkWriter{
		ctx: ctx, cancel: cancel, target: t, id: id, size: size, recipients: recipients,
		next: 1, duty: duty, busySince: time.Now(),
		free: make(chan []byte, workers+1),
		jobs: make(chan chunkJob),
	}
	for range workers + 1 {
		w.free <- nil // allocated on first use: a small backup stays small
	}
	w.current = w.buffer()
	for range workers {
		w.workers.Add(1)
		go w.work()
	}
	return w
}

func (w *chunkWriter) buffer() []byte {
	start := time.Now()
	defer func() { w.waited += time.Since(start) }()
	select {
	case b := <-w.free:
		if b == nil {
			b = make([]byte, 0, w.size)
		}
		return b[:0]
	case <-w.ctx.Done():
		return nil
	}
}

// Write copies p into chunks; it fails once any chunk has failed.
func (w *chunkWriter) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		if err := context.Cause(w.ctx); err != nil {
			return written, err
		}
		if len(w.current) == w.size {
			if !w.submit(false) {
				return written, context.Cause(w.ctx)
			}
		}
		n := copy(w.current[len(w.current):w.size], p)
		w.current = w.current[:len(w.current)+n]
		p = p[n:]
		written += n
	}
	return written, nil
}

// submit hands the current chunk to a worker, rests (see
// CreateOptions.Duty) and takes a fresh buffer.
func (w *chunkWriter) submit(last bool) bool {
	worked := time.Since(w.busySince) - w.waited
	start := time.Now()
	select {
	case w.jobs <- chunkJob{index: w.next, data: w.current, last: last}:
	case <-w.ctx.Done():
		return false
	}
	w.waited += time.Since(start)
	w.next++
	if last {
		w.current = nil
		return true
	}
	if !w.pause(worked) {
		return false
	}
	w.current = w.buffer()
	return w.current != nil
}

// pause rests in proportion to worked, the dump's time at work since its
// last rest, and starts the next period of work.
func (w *chunkWriter) pause(worked time.Duration) bool {
	if rest := time.Duration(float64(worked) * (1 - w.duty) / w.duty); rest > 0 {
		if w.rest == nil {
			w.rest = time.NewTimer(rest)
		} else {
			w.rest.Reset(rest)
		}
		select {
		case <-w.rest.C:
		case <-w.ctx.Done():
			w.rest.Stop()
			return false
		}
	}
	w.busySince, w.waited = time.Now(), 0
	return true
}

// finish stores the last chunk (when the dump succeeded), waits for the
// workers and returns the chunks in order.
func (w *chunkWriter) finish(dumped bool) ([]Chunk, error) {
	if dumped && context.Cause(w.ctx) == nil {
		w.submit(true)
	}
	close(w.jobs)
	w.workers.Wait()
	if err := context.Cause(w.ctx); err != nil {
		return nil, err
	}
	if !dumped {
		return nil, nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	chunks := make([]Chunk, len(w.chunks))
	for _, c := range w.chunks {
		chunks[c.Index-1] = c
	}
	return chunks, nil
}

func (w *chunkWriter) work() {
	defer w.workers.Done()
	var (
		sealed bytes.Buffer
		zip    *gzip.Writer
	)
	for job := range w.jobs {
		if w.ctx.Err() != nil {
			continue // drain: Create is failing
		}
		sealed.Reset()
		err := sealChunk(&sealed, &zip, w.recipients, w.id, job)
		plaintext := int64(len(job.data))
		w.free <- job.data
		if err != nil {
			w.cancel(fmt.Errorf("chunk %d: %w", job.index, err))
			continue
		}
		sum := sha256.Sum256(sealed.Bytes())
		chunk := Chunk{
			Index: job.index, Name: chunkName(job.index), Size: int64(sealed.Len()),
			SHA256: hex.EncodeToString(sum[:]), PlaintextSize: plaintext,
		}
		if err := w.target.Put(w.ctx, objectName(w.id, chunk.Name), bytes.NewReader(sealed.Bytes())); err != nil {
			w.cancel(fmt.Errorf("chunk %d: %w", job.index, err))
			continue
		}
		w.mu.Lock()
		w.chunks = append(w.chunks, chunk)
		w.mu.Unlock()
	}
}

// sealChunk writes age(gzip(header + data)) to dst. zip is the worker's
// reusable compressor.
func sealChunk(dst io.Writer, zip **gzip.Writer, recipients []age.Recipient, id string, job chunkJob) error {
	encrypted, err := age.Encrypt(dst, recipients...)
	if err != nil {
		return fmt.Errorf("encrypt: %w", err)
	}
	if *zip == nil {
		*zip, err = gzip.NewWriterLevel(encrypted, gzip.BestSpeed)
		if err != nil {
			return fmt.Errorf("compress: %w", err)
		}
	} else {
		(*zip).Reset(encrypted)
	}
	if _, err := io.WriteString(*zip, chunkHeader(id, job.index, job.last)); err != nil {
		return fmt.Errorf("compress: %w", err)
	}
	if _, err := (*zip).Write(job.data); err != nil {
		return fmt.Errorf("compress: %w", err)
	}
	if err := (*zip).Close(); err != nil {
		return fmt.Errorf("compress: %w", err)
	}
	if err := encrypted.Close(); err != nil {
		return fmt.Errorf("encrypt: %w", err)
	}
	return nil
}
