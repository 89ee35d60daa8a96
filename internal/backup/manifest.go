package backup

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Manifest describes one complete backup. It is stored as manifest.json and
// signed; nothing in a backup is trusted before its signature verifies.
type Manifest struct {
	Format      string    `json:"format"` // FormatVersion
	ID          string    `json:"id"`
	Created     time.Time `json:"created"`
	KeyID       string    `json:"key_id"`      // KeyID of the signing key
	Compression string    `json:"compression"` // "gzip"
	Encryption  string    `json:"encryption"`  // "age"
	ChunkSize   int       `json:"chunk_size"`  // plaintext bytes per chunk, the last may hold fewer
	Recipients  []string  `json:"recipients"`  // the age recipients every chunk is encrypted to
	// PlaintextSize is the length of the snapshot stream (chunk headers excluded).
	PlaintextSize int64 `json:"plaintext_size"`
	// StoredSize is the sum of the chunks' stored (encrypted) sizes.
	StoredSize int64   `json:"stored_size"`
	Chunks     []Chunk `json:"chunks"`
	// Contents is what the dump returned (the snapshot's summary), as JSON.
	Contents json.RawMessage `json:"contents"`
}

// Chunk is one chunk as the manifest lists it.
type Chunk struct {
	Index         int    `json:"index"` // from 1, in stream order
	Name          string `json:"name"`  // chunk-000001
	Size          int64  `json:"size"`  // stored (encrypted) bytes
	SHA256        string `json:"sha256"`
	PlaintextSize int64  `json:"plaintext_size"` // snapshot bytes it carries
}

// signatureContext is prefixed to the manifest's bytes before signing, so a
// signature made by the backup key means nothing anywhere else.
const signatureContext = FormatVersion + " manifest\n"

// maxManifestSize bounds what is read before the signature is checked.
const maxManifestSize = 16 << 20

func signManifest(key ed25519.PrivateKey, manifest []byte) []byte {
	return ed25519.Sign(key, append([]byte(signatureContext), manifest...))
}

func verifyManifest(pub ed25519.PublicKey, manifest, signature []byte) bool {
	return len(pub) == ed25519.PublicKeySize && len(signature) == ed25519.SignatureSize &&
		ed25519.Verify(pub, append([]byte(signatureContext), manifest...), signature)
}

// Fault is what makes a backup unusable, found by Verify, Open or the
// stream Open returns: Chunk is the chunk at fault, 0 for the manifest.
type Fault struct {
	ID      string
	Chunk   int
	Problem string
}

func (f *Fault) Error() string {
	if f.Chunk > 0 {
		if strings.HasPrefix(f.Problem, "missing") {
			return fmt.Sprintf("backup %s: chunk %d %s", f.ID, f.Chunk, f.Problem)
		}
		return fmt.Sprintf("backup %s: chunk %d: %s", f.ID, f.Chunk, f.Problem)
	}
	return fmt.Sprintf("backup %s: %s", f.ID, f.Problem)
}

func manifestFault(id, format string, args ...any) *Fault {
	return &Fault{ID: id, Problem: fmt.Sprintf(format, args...)}
}

func chunkFault(id string, chunk int, format string, args ...any) *Fault {
	return &Fault{ID: id, Chunk: chunk, Problem: fmt.Sprintf(format, args...)}
}

// parseManifest decodes a manifest whose signature has verified, and checks
// that it is whole and consistent: the format, the id asked for, chunks
// numbered from 1 in order, sizes that add up.
func parseManifest(id string, raw []byte) (Manifest, error) {
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return m, manifestFault(id, "manifest does not parse: %v", err)
	}
	if dec.More() {
		return m, manifestFault(id, "manifest has data after its end")
	}
	switch {
	case m.Format != FormatVersion:
		return m, manifestFault(id, "manifest format %q is not %s", m.Format, FormatVersion)
	case m.ID != id:
		return m, manifestFault(id, "manifest belongs to backup %q, not this one", m.ID)
	case m.Compression != "gzip" || m.Encryption != "age":
		return m, manifestFault(id, "manifest names compression %q and encryption %q, want gzip and age", m.Compression, m.Encryption)
	case len(m.Chunks) == 0:
		return m, manifestFault(id, "manifest lists no chunk")
	case len(m.Recipients) == 0:
		return m, manifestFault(id, "manifest lists no recipient")
	}
	var plain, stored int64
	for i, c := range m.Chunks {
		if c.Index != i+1 || c.Name != chunkName(i+1) {
			return m, manifestFault(id, "manifest lists chunk %d as index %d, name %q: out of order", i+1, c.Index, c.Name)
		}
		if sum, err := hex.DecodeString(c.SHA256); err != nil || len(sum) != 32 {
			return m, manifestFault(id, "manifest: chunk %d has no valid sha256", c.Index)
		}
		if c.Size <= 0 || c.PlaintextSize < 0 || c.PlaintextSize > int64(m.ChunkSize) {
			return m, manifestFault(id, "manifest: chunk %d has impossible sizes", c.Index)
		}
		plain += c.PlaintextSize
		stored += c.Size
	}
	if plain != m.PlaintextSize || stored != m.StoredSize {
		return m, manifestFault(id, "manifest totals do not add up to its chunks")
	}
	return m, nil
}
