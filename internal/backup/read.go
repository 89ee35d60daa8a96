package backup

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"filippo.io/age"
	"github.com/klauspost/compress/gzip"

	"github.com/steward-dev/steward/internal/backup/target"
	"github.com/steward-dev/steward/internal/errs"
)

// Report is what Verify found in a backup that passed.
type Report struct {
	ID            string
	Created       time.Time
	KeyID         string
	Chunks        int
	StoredSize    int64
	PlaintextSize int64
	// Decrypted tells whether every chunk was also decrypted and its header
	// and contents checked (Verify was given identities).
	Decrypted bool
	Contents  json.RawMessage
}

// Verify checks backup id on t without trusting the target: the manifest's
// signature against trusted keys, then every chunk present, in order, with
// its size and SHA-256, and no object that the manifest does not list. With
// identities it also decrypts every chunk, checks that its header binds it to
// this backup and position, and calls check (when not nil) with the
// plaintext stream. The error is a *Fault naming what is wrong.
func Verify(ctx context.Context, t target.Target, id string, trusted []ed25519.PublicKey,
	identities []age.Identity, check func(io.Reader) error) (Report, error) {
	m, err := loadManifest(ctx, t, id, trusted)
	if err != nil {
		return Report{ID: id}, err
	}
	report := Report{ID: m.ID, Created: m.Created, KeyID: m.KeyID, Chunks: len(m.Chunks),
		StoredSize: m.StoredSize, PlaintextSize: m.PlaintextSize, Contents: m.Contents}
	if err := checkStored(ctx, t, m); err != nil {
		return report, err
	}
	if len(identities) == 0 {
		return report, nil
	}
	plain := newPlainReader(ctx, t, m, identities)
	var checkErr error
	if check != nil {
		checkErr = check(plain)
	}
	// Read what check left, so every chunk is decrypted and checked.
	if _, err := io.Copy(io.Discard, plain); err != nil {
		return report, err
	}
	if checkErr != nil {
		if plain.err != nil && !errors.Is(plain.err, io.EOF) {
			return report, plain.err
		}
		return report, fmt.Errorf("backup %s: contents: %w", id, checkErr)
	}
	report.Decrypted = true
	return report, nil
}

// Open verifies backup id as Verify does without identities (signature,
// every chunk's presence, size and hash), then returns its manifest and the
// decrypted snapshot stream. Each chunk's hash is checked again before it is
// decrypted, so bytes changed on the target after the first pass never reach
// the reader; the stream fails (never silently ends) on any fault.
func Open(ctx context.Context, t target.Target, id string, trusted []ed25519.PublicKey,
	identities []age.Identity) (Manifest, io.ReadCloser, error) {
	if len(identities) == 0 {
		return Manifest{}, nil, errors.New("open backup: no identity to decrypt with")
	}
	m, err := loadManifest(ctx, t, id, trusted)
	if err != nil {
		return Manifest{}, nil, err
	}
	if err := checkStored(ctx, t, m); err != nil {
		return m, nil, err
	}
	plain := newPlainReader(ctx, t, m, identities)
	// Open the first chunk now: a wrong identity fails here, not at the
	// first read.
	if err := plain.openChunk(); err != nil {
		return m, nil, err
	}
	return m, plain, nil
}

// loadManifest reads the manifest and its signature, verifies the signature
// against trusted before anything else, and parses the manifest.
func loadManifest(ctx context.Context, t target.Target, id string, trusted []ed25519.PublicKey) (Manifest, error) {
	if _, err := ParseID(id); err != nil {
		return Manifest{}, errs.Wrap(errs.CodeInvalid, err, "backup id")
	}
	if len(trusted) == 0 {
		return Manifest{}, errors.New("verify backup: no trusted signing key given")
	}
	raw, err := readObject(ctx, t, objectName(id, manifestName), maxManifestSize)
	if errors.Is(err, target.ErrNotFound) {
		if objects, listErr := t.List(ctx, id+"/"); listErr == nil && len(objects) == 0 {
			return Manifest{}, errs.NotFound("backup", id)
		}
		return Manifest{}, manifestFault(id, "manifest missing (incomplete backup)")
	}
	if err != nil {
		return Manifest{}, fmt.Errorf("backup %s: %w", id, err)
	}
	signature, err := readObject(ctx, t, objectName(id, signatureName), ed25519.SignatureSize)
	if errors.Is(err, target.ErrNotFound) {
		return Manifest{}, manifestFault(id, "manifest is not signed (%s missing)", signatureName)
	}
	if errors.Is(err, errTooLarge) || err == nil && len(signature) != ed25519.SignatureSize {
		return Manifest{}, manifestFault(id, "manifest signature malformed")
	}
	if err != nil {
		return Manifest{}, fmt.Errorf("backup %s: %w", id, err)
	}
	var signer ed25519.PublicKey
	for _, pub := range trusted {
		if verifyManifest(pub, raw, signature) {
			signer = pub
			break
		}
	}
	if signer == nil {
		// Only to name the fault: nothing unsigned is trusted.
		var claimed struct {
			KeyID string `json:"key_id"`
		}
		_ = json.Unmarshal(raw, &claimed)
		for _, pub := range trusted {
			if KeyID(pub) == claimed.KeyID {
				return Manifest{}, manifestFault(id, "manifest signature does not verify")
			}
		}
		return Manifest{}, manifestFault(id, "manifest signed by an unknown key")
	}
	m, err := parseManifest(id, raw)
	if err != nil {
		return m, err
	}
	if m.KeyID != KeyID(signer) {
		return m, manifestFault(id, "manifest names key %q but was signed by %q", m.KeyID, KeyID(signer))
	}
	return m, nil
}

var errTooLarge = errors.New("object larger than expected")

// readObject reads a whole object of at most limit bytes.
func readObject(ctx context.Context, t target.Target, name string, limit int64) ([]byte, error) {
	r, err := t.Get(ctx, name)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if int64(len(data)) > limit {
		return data, errTooLarge
	}
	return data, nil
}

// checkStored checks, without decrypting, that the target holds exactly the
// chunks the manifest lists, with their sizes and hashes.
func checkStored(ctx context.Context, t target.Target, m Manifest) error {
	objects, err := t.List(ctx, m.ID+"/")
	if err != nil {
		return fmt.Errorf("backup %s: %w", m.ID, err)
	}
	sizes := make(map[string]int64, len(objects))
	for _, o := range objects {
		sizes[strings.TrimPrefix(o.Name, m.ID+"/")] = o.Size
	}
	for i, c := range m.Chunks {
		size, ok := sizes[c.Name]
		if !ok {
			if truncated(sizes, m.Chunks[i:]) {
				return chunkFault(m.ID, c.Index, "missing (truncated backup)")
			}
			return chunkFault(m.ID, c.Index, "missing")
		}
		if size != c.Size {
			return chunkFault(m.ID, c.Index, "size mismatch (stored %d bytes, manifest says %d)", size, c.Size)
		}
		delete(sizes, c.Name)
	}
	delete(sizes, manifestName)
	delete(sizes, signatureName)
	for name := range sizes {
		if index, ok := strings.CutPrefix(name, chunkPrefix); ok {
			if n, err := strconv.Atoi(index); err == nil {
				return chunkFault(m.ID, n, "not in the manifest (extra chunk)")
			}
		}
		return manifestFault(m.ID, "object %s is not in the manifest", name)
	}
	for _, c := range m.Chunks {
		if _, err := readChunk(ctx, t, m.ID, c); err != nil {
			return err
		}
	}
	return nil
}

// truncated tells whether every chunk from the first missing one on is
// missing, as when a backup lost its end.
func truncated(present map[string]int64, rest []Chunk) bool {
	for _, c := range rest {
		if _, ok := present[c.Name]; ok {
			return false
		}
	}
	return true
}

// readChunk reads a chunk's stored bytes and checks their size and hash:
// nothing is decrypted before that.
func readChunk(ctx context.Context, t target.Target, id string, c Chunk) ([]byte, error) {
	data, err := readObject(ctx, t, objectName(id, c.Name), c.Size)
	switch {
	case errors.Is(err, target.ErrNotFound):
		return nil, chunkFault(id, c.Index, "missing")
	case errors.Is(err, errTooLarge):
		return nil, chunkFault(id, c.Index, "size mismatch (stored more than the manifest's %d bytes)", c.Size)
	case err != nil:
		return nil, fmt.Errorf("backup %s: chunk %d: %w", id, c.Index, err)
	case int64(len(data)) != c.Size:
		return nil, chunkFault(id, c.Index, "size mismatch (stored %d bytes, manifest says %d)", len(data), c.Size)
	}
	sum := sha256.Sum256(data)
	if hex.EncodeToString(sum[:]) != c.SHA256 {
		return nil, chunkFault(id, c.Index, "hash mismatch")
	}
	return data, nil
}

// chunkHeader is the first line of every chunk's plaintext: it binds the
// chunk to its backup and position, and marks the last one.
func chunkHeader(id string, index int, last bool) string {
	position := "more"
	if last {
		position = "last"
	}
	return fmt.Sprintf("%s chunk %s %d %s\n", FormatVersion, id, index, position)
}

const maxHeaderSize = 128

// plainReader is the decrypted snapshot stream of a verified manifest.
type plainReader struct {
	ctx        context.Context
	target     target.Target
	manifest   Manifest
	identities []age.Identity

	next    int           // position in manifest.Chunks of the chunk to open
	current *bufio.Reader // the open chunk's plaintext after its header
	zip     *gzip.Reader
	read    int64 // plaintext read from the open chunk
	total   int64
	err     error // sticky
}

var _ io.ReadCloser = (*plainReader)(nil)

func newPlainReader(ctx context.Context, t target.Target, m Manifest, identities []age.Identity) *plainReader {
	return &plainReader{ctx: ctx, target: t, manifest: m, identities: identities}
}

func (p *plainReader) Read(b []byte) (int, error) {
	for p.err == nil {
		if p.current == nil {
			if p.next == len(p.manifest.Chunks) {
				if p.total != p.manifest.PlaintextSize {
					p.err = manifestFault(p.manifest.ID, "plaintext is %d bytes, manifest says %d", p.total, p.manifest.PlaintextSize)
					break
				}
				p.err = io.EOF
				break
			}
			if err := p.openChunk(); err != nil {
				break
			}
		}
		chunk := p.manifest.Chunks[p.next-1]
		if len(b) == 0 {
			return 0, nil
		}
		// Never give more than the chunk holds: a longer stream is a fault.
		limit := chunk.PlaintextSize - p.read
		if int64(len(b)) > limit+1 {
			b = b[:limit+1]
		}
		n, err := p.current.Read(b)
		p.read += int64(n)
		if p.read > chunk.PlaintextSize {
			p.err = chunkFault(p.manifest.ID, chunk.Index, "decrypts to more than the manifest's %d bytes", chunk.PlaintextSize)
			return 0, p.err
		}
		p.total += int64(n)
		if errors.Is(err, io.EOF) {
			if p.read != chunk.PlaintextSize {
				p.err = chunkFault(p.manifest.ID, chunk.Index, "decrypts to %d bytes, manifest says %d", p.read, chunk.PlaintextSize)
				return 0, p.err
			}
			p.current = nil
			if n > 0 {
				return n, nil
			}
			continue
		}
		if err != nil {
			p.err = chunkFault(p.manifest.ID, chunk.Index, "does not decompress: %v", err)
			return 0, p.err
		}
		return n, nil
	}
	return 0, p.err
}

// openChunk reads the next chunk, checks its hash, decrypts it and checks its
// header. Failures are sticky.
func (p *plainReader) openChunk() error {
	if err := p.ctx.Err(); err != nil {
		p.err = err
		return err
	}
	chunk := p.manifest.Chunks[p.next]
	p.next++
	p.read = 0
	sealed, err := readChunk(p.ctx, p.target, p.manifest.ID, chunk)
	if err != nil {
		p.err = err
		return err
	}
	decrypted, err := age.Decrypt(bytes.NewReader(sealed), p.identities...)
	if err != nil {
		var noMatch *age.NoIdentityMatchError
		if errors.As(err, &noMatch) {
			p.err = chunkFault(p.manifest.ID, chunk.Index, "no identity given matches its recipients (wrong identity)")
		} else {
			p.err = chunkFault(p.manifest.ID, chunk.Index, "does not decrypt: %v", err)
		}
		return p.err
	}
	if p.zip == nil {
		p.zip, err = gzip.NewReader(decrypted)
	} else {
		err = p.zip.Reset(decrypted)
	}
	if err != nil {
		p.err = chunkFault(p.manifest.ID, chunk.Index, "does not decompress: %v", err)
		return p.err
	}
	p.zip.Multistream(false)
	// The decrypted plaintext must end where gzip ends: a trailing
	// stream would be data that no one checked.
	body := bufio.NewReader(io.MultiReader(p.zip, endOf(decrypted, p.manifest.ID, chunk.Index)))
	header, err := body.ReadSlice('\n')
	if err != nil || len(header) > maxHeaderSize {
		p.err = chunkFault(p.manifest.ID, chunk.Index, "no chunk header")
		return p.err
	}
	last := p.next == len(p.manifest.Chunks)
	if string(header) != chunkHeader(p.manifest.ID, chunk.Index, last) {
		p.err = chunkFault(p.manifest.ID, chunk.Index, "header %q does not bind it to this backup and position", strings.TrimSpace(string(header)))
		return p.err
	}
	p.current = body
	return nil
}

// endOf reads nothing and fails when r still holds data.
func endOf(r io.Reader, id string, index int) io.Reader {
	return readerFunc(func([]byte) (int, error) {
		var probe [1]byte
		if n, _ := io.ReadFull(r, probe[:]); n > 0 {
			return 0, chunkFault(id, index, "data after its compressed stream")
		}
		return 0, io.EOF
	})
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(b []byte) (int, error) { return f(b) }

// Close releases the stream; reading after Close fails.
func (p *plainReader) Close() error {
	if p.err == nil {
		p.err = errors.New("backup stream closed")
	}
	p.current = nil
	return nil
}
