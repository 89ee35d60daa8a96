package erasure

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/steward-dev/steward/internal/backup/target"
)

// Prefix is where the journal's objects live on its target.
const Prefix = "erasures/"

// nameTime is the time in an entry's name: fixed width, so that names sort
// by time.
const nameTime = "20060102T150405.000000000Z"

// maxObject bounds what is read of one entry: entries are a few hundred
// bytes, and a huge object is not one of ours.
const maxObject = 64 << 10

// DefaultDir is where the journal is kept when no other target is given:
// beside the data directory, not in it (<data-dir>.erasures), so that
// copying, restoring or wiping the data directory leaves the journal alone.
func DefaultDir(dataDir string) string { return filepath.Clean(dataDir) + ".erasures" }

// readers is how many entries are read at once.
const readers = 8

// Options tune a journal.
type Options struct {
	// Writer names this writer's chain: 1 to 32 lowercase letters and
	// digits. Empty: a random one, so every process starts a chain of its
	// own. A stable writer continues its chain across restarts (it reads
	// its newest entry once); two processes must never share one.
	Writer string
	// Trusted are the public keys, besides the journal's own, whose entries
	// are accepted: the keys used before a rotation, other servers' keys.
	Trusted []ed25519.PublicKey
	Now     func() time.Time
}

// Journal is the erasure journal on a target. Its methods are safe for
// concurrent use; Append serialises the writer's chain.
type Journal struct {
	target  target.Target
	key     ed25519.PrivateKey
	keyID   string
	trusted map[string]ed25519.PublicKey
	writer  string
	now     func() time.Time
	openErr error

	mu     sync.Mutex
	loaded bool      // the writer's newest entry was looked for
	seq    int64     // the writer's newest entry's number
	prev   string    // and its hash
	last   time.Time // and when it was written
}

var _ Recorder = (*Journal)(nil)

// KeyID names a public key in entries: the first 16 hex digits of its
// SHA-256.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}

// Open returns the journal kept on t, signed with key. A bad key or writer
// makes every call fail with the reason.
func Open(t target.Target, key ed25519.PrivateKey, opts Options) *Journal {
	j := &Journal{target: t, key: key, writer: opts.Writer, now: opts.Now, trusted: map[string]ed25519.PublicKey{}}
	if j.now == nil {
		j.now = time.Now
	}
	switch {
	case t == nil:
		j.openErr = errors.New("erasure journal: no target")
	case len(key) != ed25519.PrivateKeySize:
		j.openErr = errors.New("erasure journal: the signing key is not an Ed25519 private key")
	}
	if j.openErr != nil {
		return j
	}
	pub := key.Public().(ed25519.PublicKey)
	j.keyID = KeyID(pub)
	j.trusted[j.keyID] = pub
	for _, k := range opts.Trusted {
		if len(k) == ed25519.PublicKeySize {
			j.trusted[KeyID(k)] = k
		}
	}
	if j.writer == "" {
		var b [8]byte
		_, _ = rand.Read(b[:])
		j.writer = strings.ToLower(strings.TrimRight(base32(b[:]), "="))
	}
	if !validWriter(j.writer) {
		j.openErr = fmt.Errorf("erasure journal: writer %q: want 1 to 32 lowercase letters and digits", j.writer)
	}
	return j
}

func base32(b []byte) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz234567"
	var out strings.Builder
	for _, c := range b {
		out.WriteByte(alphabet[c&31])
		out.WriteByte(alphabet[c>>5])
	}
	return out.String()
}

func validWriter(w string) bool {
	if w == "" || len(w) > 32 {
		return false
	}
	for _, r := range w {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// String names the journal for messages: its target.
func (j *Journal) String() string {
	if j.target == nil {
		return "erasure journal (none)"
	}
	return "erasure journal at " + j.target.String()
}

// Writer returns this journal's writer id.
func (j *Journal) Writer() string { return j.writer }

// entryName is the object name of a writer's seq-th entry written at t.
func entryName(written time.Time, writer string, seq int64) string {
	return Prefix + written.UTC().Format(nameTime) + "-" + writer + "-" + strconv.FormatInt(seq, 10) + ".json"
}

// nameWriter returns the writer an object name says wrote it.
func nameWriter(name string) (string, bool) {
	rest, ok := strings.CutPrefix(name, Prefix)
	if !ok || len(rest) < len(nameTime)+1 {
		return "", false
	}
	parts := strings.Split(strings.TrimSuffix(rest[len(nameTime)+1:], ".json"), "-")
	if len(parts) != 2 {
		return "", false
	}
	return parts[0], true
}

// envelope is the stored object: the signed bytes and their signature.
type envelope struct {
	Entry json.RawMessage `json:"entry"`
	Sig   []byte          `json:"sig"`
}

// RecordErasure appends e (Recorder).
func (j *Journal) RecordErasure(ctx context.Context, e Entry) error { return j.Append(ctx, e) }

// Append signs e, chains it to this writer's previous entry and writes it.
// It fails when the entry is invalid (errs.CodeInvalid) or the target
// cannot be written; nothing is then written and the chain does not move.
func (j *Journal) Append(ctx context.Context, e Entry) error {
	if j.openErr != nil {
		return j.openErr
	}
	if e.Kind == "" {
		e.Kind = KindErasure
	}
	e.At = e.At.UTC()
	if err := e.check(); err != nil {
		return fmt.Errorf("erasure journal: %w", err)
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if err := j.loadHead(ctx); err != nil {
		return err
	}
	written := j.now().UTC()
	if !written.After(j.last) { // names of one writer sort as its chain does
		written = j.last.Add(time.Nanosecond)
	}
	e.Writer, e.Seq, e.Prev, e.Key, e.Written = j.writer, j.seq+1, j.prev, j.keyID, written
	signed, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("erasure journal: encode entry: %w", err)
	}
	object, err := json.Marshal(envelope{Entry: signed, Sig: ed25519.Sign(j.key, signed)})
	if err != nil {
		return fmt.Errorf("erasure journal: encode entry: %w", err)
	}
	name := entryName(written, j.writer, e.Seq)
	if err := j.target.Put(ctx, name, bytes.NewReader(object)); err != nil {
		if errors.Is(err, target.ErrExists) {
			return fmt.Errorf("erasure journal: %s exists: two processes write as writer %s", name, j.writer)
		}
		return fmt.Errorf("erasure journal: write entry: %w", err)
	}
	j.seq, j.prev, j.last = e.Seq, hashOf(signed), written
	return nil
}

// Mark appends a mark (KindMark) labelled label, and returns its time:
// from then on Head is at least that time.
func (j *Journal) Mark(ctx context.Context, label string) (time.Time, error) {
	if err := j.Append(ctx, Entry{Kind: KindMark, At: j.now(), Label: label}); err != nil {
		return time.Time{}, err
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.last, nil
}

func hashOf(signed []byte) string {
	sum := sha256.Sum256(signed)
	return hex.EncodeToString(sum[:])
}

// loadHead finds this writer's newest entry once, so that a stable writer
// continues its chain after a restart.
func (j *Journal) loadHead(ctx context.Context) error {
	if j.loaded {
		return nil
	}
	objects, err := j.target.List(ctx, Prefix)
	if err != nil {
		return fmt.Errorf("erasure journal: %w", err)
	}
	for i := len(objects) - 1; i >= 0; i-- {
		if w, ok := nameWriter(objects[i].Name); !ok || w != j.writer {
			continue
		}
		e, err := j.read(ctx, objects[i].Name)
		if err != nil {
			return err
		}
		j.seq, j.prev, j.last = e.Seq, e.Hash, e.Written
		break
	}
	j.loaded = true
	return nil
}

// VerifyError is a journal entry that does not verify: edited, signed by
// an untrusted key, renamed, out of its chain, or missing.
type VerifyError struct {
	Name    string // the object's name
	Problem string
}

func (e *VerifyError) Error() string {
	return "erasure journal: entry " + e.Name + ": " + e.Problem
}

// read gets and verifies one object.
func (j *Journal) read(ctx context.Context, name string) (Entry, error) {
	rc, err := j.target.Get(ctx, name)
	if err != nil {
		return Entry{}, fmt.Errorf("erasure journal: %w", err)
	}
	defer rc.Close()
	object, err := io.ReadAll(io.LimitReader(rc, maxObject+1))
	if err != nil {
		return Entry{}, fmt.Errorf("erasure journal: read %s: %w", name, err)
	}
	return j.verify(name, object)
}

// verify checks one object's signature against the trusted keys, its
// contents and that its name is the one its contents give.
func (j *Journal) verify(name string, object []byte) (Entry, error) {
	bad := func(format string, args ...any) (Entry, error) {
		return Entry{}, &VerifyError{Name: name, Problem: fmt.Sprintf(format, args...)}
	}
	if j.openErr != nil {
		return Entry{}, j.openErr
	}
	if len(object) > maxObject {
		return bad("larger than %d bytes", maxObject)
	}
	var env envelope
	if err := json.Unmarshal(object, &env); err != nil || len(env.Entry) == 0 {
		return bad("not a signed entry")
	}
	var e Entry
	if err := json.Unmarshal(env.Entry, &e); err != nil {
		return bad("not a signed entry")
	}
	pub, ok := j.trusted[e.Key]
	if !ok {
		return bad("signed by key %q, which is not trusted", e.Key)
	}
	if !ed25519.Verify(pub, env.Entry, env.Sig) {
		return bad("the signature does not verify: the entry was changed after it was signed, or signed by another key")
	}
	if want := entryName(e.Written, e.Writer, e.Seq); want != name || !validWriter(e.Writer) || e.Seq < 1 {
		return bad("its contents say it is %s: renamed", want)
	}
	if err := e.check(); err != nil {
		return bad("signed but invalid: %v", err)
	}
	e.Name, e.Hash, e.object = name, hashOf(env.Entry), object
	return e, nil
}

// all reads and verifies every entry, oldest first, and checks every
// writer's chain.
func (j *Journal) all(ctx context.Context) ([]Entry, error) {
	if j.openErr != nil {
		return nil, j.openErr
	}
	objects, err := j.target.List(ctx, Prefix)
	if err != nil {
		return nil, fmt.Errorf("erasure journal: %w", err)
	}
	entries := make([]Entry, len(objects))
	failures := make([]error, len(objects))
	// Reads overlap: on object storage each is a round trip.
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(readers, len(objects)) {
		wg.Go(func() {
			for i := range next {
				entries[i], failures[i] = j.read(ctx, objects[i].Name)
			}
		})
	}
	for i := range objects {
		next <- i
	}
	close(next)
	wg.Wait()
	for _, err := range failures {
		if err != nil { // the oldest failure, as a sequential read would report
			return nil, err
		}
	}
	if err := checkChains(entries); err != nil {
		return nil, err
	}
	return entries, nil
}

// checkChains checks, for entries in name order, that each writer's
// entries are numbered 1, 2, 3... and each names the hash of the one
// before: a removed or inserted entry breaks it.
func checkChains(entries []Entry) error {
	type head struct {
		seq  int64
		hash string
	}
	heads := map[string]head{}
	for _, e := range entries {
		h := heads[e.Writer]
		switch {
		case e.Seq > h.seq+1 && h.seq+1 == e.Seq-1:
			return &VerifyError{Name: e.Name, Problem: fmt.Sprintf("entry %d of writer %s before it is missing", h.seq+1, e.Writer)}
		case e.Seq > h.seq+1:
			return &VerifyError{Name: e.Name, Problem: fmt.Sprintf("entries %d to %d of writer %s before it are missing", h.seq+1, e.Seq-1, e.Writer)}
		case e.Seq <= h.seq:
			return &VerifyError{Name: e.Name, Problem: fmt.Sprintf("a second entry %d of writer %s: the chain forked (two processes with one writer id?)", e.Seq, e.Writer)}
		case e.Prev != h.hash:
			return &VerifyError{Name: e.Name, Problem: fmt.Sprintf("does not follow entry %d of writer %s: the chain is broken", h.seq, e.Writer)}
		}
		heads[e.Writer] = head{e.Seq, e.Hash}
	}
	return nil
}

// Since returns the erasures written at or after t, oldest first, after
// verifying every entry of the journal (signatures, names, chains). t is
// compared with the time an entry was written, which is after its erasure
// committed: Since(a backup's time) therefore holds every erasure the
// backup may lack (and possibly a few it has, which Replay does not mind).
func (j *Journal) Since(ctx context.Context, t time.Time) ([]Entry, error) {
	entries, err := j.all(ctx)
	if err != nil {
		return nil, err
	}
	out := []Entry{}
	for _, e := range entries {
		if e.Kind == KindErasure && !e.Written.Before(t) {
			out = append(out, e)
		}
	}
	return out, nil
}

// Head returns when the newest entry (erasure or mark) was written, zero
// for an empty journal. The newest entry's signature is verified.
func (j *Journal) Head(ctx context.Context) (time.Time, error) {
	if j.openErr != nil {
		return time.Time{}, j.openErr
	}
	objects, err := j.target.List(ctx, Prefix)
	if err != nil {
		return time.Time{}, fmt.Errorf("erasure journal: %w", err)
	}
	if len(objects) == 0 {
		return time.Time{}, nil
	}
	e, err := j.read(ctx, objects[len(objects)-1].Name)
	if err != nil {
		return time.Time{}, err
	}
	return e.Written, nil
}

// Contains checks that every entry in carried (a backup's copy, from
// ReadExport) is still in the journal, unchanged: an entry a backup carried
// and the journal lost is a VerifyError naming it.
func (j *Journal) Contains(ctx context.Context, carried []Entry) error {
	entries, err := j.all(ctx)
	if err != nil {
		return err
	}
	have := make(map[string]string, len(entries))
	for _, e := range entries {
		have[e.Name] = e.Hash
	}
	for _, c := range carried {
		switch h, ok := have[c.Name]; {
		case !ok:
			return &VerifyError{Name: c.Name, Problem: "a backup carried it and the journal no longer holds it"}
		case h != c.Hash:
			return &VerifyError{Name: c.Name, Problem: "the journal holds another entry under this name than the backup carried"}
		}
	}
	return nil
}

// exportHeader opens an export.
type exportHeader struct {
	Format  string    `json:"format"`
	UpTo    time.Time `json:"up_to"`
	Entries int       `json:"entries"`
}

// exportFormat names the export format and its version.
const exportFormat = "steward-erasure-journal/1"

// exportLine is one entry of an export: its name and its stored object.
type exportLine struct {
	Name   string          `json:"name"`
	Object json.RawMessage `json:"object"`
}

// Export writes to w every entry written at or before upTo (marks
// included), verified, as JSON lines after a header: the journal a backup
// taken at upTo carries.
func (j *Journal) Export(ctx context.Context, upTo time.Time, w io.Writer) error {
	entries, err := j.all(ctx)
	if err != nil {
		return err
	}
	var kept []Entry
	for _, e := range entries {
		if !e.Written.After(upTo) {
			kept = append(kept, e)
		}
	}
	enc := json.NewEncoder(w)
	if err := enc.Encode(exportHeader{Format: exportFormat, UpTo: upTo.UTC(), Entries: len(kept)}); err != nil {
		return fmt.Errorf("erasure journal: export: %w", err)
	}
	for _, e := range kept {
		if err := enc.Encode(exportLine{Name: e.Name, Object: e.object}); err != nil {
			return fmt.Errorf("erasure journal: export: %w", err)
		}
	}
	return nil
}

// ReadExport reads what Export wrote and verifies it as the journal itself
// is verified (signatures against this journal's trusted keys, names,
// chains, and the count the header announced). It returns every entry,
// marks included, oldest first.
func (j *Journal) ReadExport(r io.Reader) ([]Entry, error) {
	if j.openErr != nil {
		return nil, j.openErr
	}
	dec := json.NewDecoder(r)
	var h exportHeader
	if err := dec.Decode(&h); err != nil || h.Format != exportFormat {
		return nil, fmt.Errorf("erasure journal: not an export of the journal (want format %s)", exportFormat)
	}
	entries := []Entry{}
	for {
		var line exportLine
		err := dec.Decode(&line)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("erasure journal: export: entry %d: %w", len(entries)+1, err)
		}
		if err := target.CheckName(line.Name); err != nil || !strings.HasPrefix(line.Name, Prefix) {
			return nil, fmt.Errorf("erasure journal: export: entry %d: bad name", len(entries)+1)
		}
		if len(entries) > 0 && line.Name <= entries[len(entries)-1].Name {
			return nil, &VerifyError{Name: line.Name, Problem: "out of order in the export"}
		}
		e, err := j.verify(line.Name, line.Object)
		if err != nil {
			return nil, err
		}
		if e.Written.After(h.UpTo) {
			return nil, &VerifyError{Name: e.Name, Problem: "written after the export's time"}
		}
		entries = append(entries, e)
	}
	if len(entries) != h.Entries {
		return nil, fmt.Errorf("erasure journal: export holds %d entries, its header announced %d: truncated", len(entries), h.Entries)
	}
	if err := checkChains(entries); err != nil {
		return nil, err
	}
	return entries, nil
}
