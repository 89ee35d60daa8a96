package backup

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/steward-dev/steward/internal/backup/target"
)

// sweep is a small backup on a real directory, and the checks every
// corruption of it must fail.
type sweep struct {
	ctx     context.Context
	dir     *target.Dir
	root    string
	keys    keys
	backup  Manifest
	other   Manifest // a second backup, to swap things in from
	trusted []ed25519.PublicKey
}

func newSweep(t *testing.T) *sweep {
	d, root := mustDir(t)
	k := mustKeys(t)
	s := &sweep{ctx: context.Background(), dir: d, root: root, keys: k, trusted: []ed25519.PublicKey{k.public}}
	s.backup = mustCreate(t, d, k, syntheticLines(60), 2048, testNow)
	s.other = mustCreate(t, d, k, syntheticLines(61), 2048, testNow.Add(time.Hour))
	if len(s.backup.Chunks) < 4 {
		t.Fatalf("the sweep wants at least 4 chunks, has %d", len(s.backup.Chunks))
	}
	s.mustAccept(t)
	return s
}

func (s *sweep) path(id, name string) string { return filepath.Join(s.root, id, name) }

func (s *sweep) mustAccept(t *testing.T) {
	t.Helper()
	if _, err := Verify(s.ctx, s.dir, s.backup.ID, s.trusted, []age.Identity{s.keys.identity}, nil); err != nil {
		t.Fatalf("the untouched backup does not verify: %v", err)
	}
}

// outcome is what Verify (without and with the identity) and Open said.
type outcome struct {
	errs      [3]error
	delivered int64 // plaintext bytes Open's stream gave before failing
}

func (s *sweep) try(identities []age.Identity, trusted []ed25519.PublicKey) outcome {
	var o outcome
	_, o.errs[0] = Verify(s.ctx, s.dir, s.backup.ID, trusted, nil, nil)
	_, o.errs[1] = Verify(s.ctx, s.dir, s.backup.ID, trusted, identities, func(r io.Reader) error {
		_, err := io.Copy(io.Discard, r)
		return err
	})
	_, r, err := Open(s.ctx, s.dir, s.backup.ID, trusted, identities)
	if err == nil {
		o.delivered, err = io.Copy(io.Discard, r)
		r.Close()
		if err == nil {
			err = errors.New("open read the whole stream without a fault")
		}
	}
	o.errs[2] = err
	return o
}

// refusedAs checks that every check failed with a fault on chunk (0: the
// manifest; -1: any) whose message contains text, and returns what is wrong.
func (o outcome) refusedAs(chunk int, text string, skipVerifyWithout bool) string {
	for i, err := range o.errs {
		if i == 0 && skipVerifyWithout {
			continue
		}
		var fault *Fault
		switch {
		case err == nil:
			return [...]string{"verify", "verify with identity", "open"}[i] + " accepted it"
		case !errors.As(err, &fault):
			return "not a fault: " + err.Error()
		case chunk >= 0 && fault.Chunk != chunk:
			return "fault on the wrong chunk: " + err.Error()
		case !strings.Contains(err.Error(), text):
			return "fault not named " + text + ": " + err.Error()
		}
	}
	if o.delivered != 0 {
		return "open delivered plaintext before the fault"
	}
	return ""
}

// flipOffsets is every byte of a small file; of a large one, the first and
// last 4 KiB and every 61st byte between.
func flipOffsets(size int) []int {
	var out []int
	for i := 0; i < size; i++ {
		if size <= 8192 || i < 4096 || i >= size-4096 || i%61 == 0 {
			out = append(out, i)
		}
	}
	return out
}

func TestCorruptionSweepEveryByte(t *testing.T) {
	s := newSweep(t)
	files := []struct {
		name  string
		chunk int // the fault must name it
		text  string
	}{
		{manifestName, 0, "manifest"},
		{signatureName, 0, "manifest signature does not verify"},
	}
	for _, c := range s.backup.Chunks {
		files = append(files, struct {
			name  string
			chunk int
			text  string
		}{c.Name, c.Index, "hash mismatch"})
	}
	identities := []age.Identity{s.keys.identity}
	flips, refused := 0, 0
	for _, f := range files {
		path := s.path(s.backup.ID, f.name)
		if err := os.Chmod(path, 0o600); err != nil {
			t.Fatal(err)
		}
		original, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, at := range flipOffsets(len(original)) {
			flipped := bytes.Clone(original)
			flipped[at] ^= 0x01
			if err := os.WriteFile(path, flipped, 0o600); err != nil {
				t.Fatal(err)
			}
			flips++
			if problem := s.try(identities, s.trusted).refusedAs(f.chunk, f.text, false); problem != "" {
				t.Errorf("%s byte %d flipped: %s", f.name, at, problem)
			} else {
				refused++
			}
		}
		if err := os.WriteFile(path, original, 0o400); err != nil {
			t.Fatal(err)
		}
	}
	s.mustAccept(t)
	t.Logf("corruption sweep: %d single-byte flips over %d files (every byte of the manifest, its signature and %d chunks): %d refused with the fault named, 0 plaintext bytes from Open",
		flips, len(files), len(s.backup.Chunks), refused)
	if refused != flips {
		t.Fatalf("%d of %d flips got through", flips-refused, flips)
	}
}

func TestCorruptionSweepStructure(t *testing.T) {
	s := newSweep(t)
	b, last := s.backup, len(s.backup.Chunks)
	otherKeys := mustKeys(t)
	identities := []age.Identity{s.keys.identity}
	tests := []struct {
		name       string
		corrupt    func(t *testing.T) // undone by the restore of the backup's folder
		identities []age.Identity
		trusted    []ed25519.PublicKey
		chunk      int
		text       string
		// the fault shows only on decryption: Verify without an identity
		// cannot see it and may pass.
		onlyDecrypting bool
	}{
		{name: "final chunk dropped", chunk: last, text: fmt.Sprintf("chunk %d missing (truncated backup)", last),
			corrupt: func(t *testing.T) { mustRemove(t, s.path(b.ID, b.Chunks[last-1].Name)) }},
		{name: "middle chunk dropped", chunk: 2, text: "chunk 2 missing",
			corrupt: func(t *testing.T) { mustRemove(t, s.path(b.ID, b.Chunks[1].Name)) }},
		{name: "two chunks swapped", chunk: 2, text: "mismatch",
			corrupt: func(t *testing.T) { s.swapFiles(t, s.path(b.ID, b.Chunks[1].Name), s.path(b.ID, b.Chunks[2].Name)) }},
		{name: "chunk from another backup", chunk: 2, text: "mismatch",
			corrupt: func(t *testing.T) {
				s.copyFile(t, s.path(s.other.ID, b.Chunks[1].Name), s.path(b.ID, b.Chunks[1].Name))
			}},
		{name: "chunk truncated", chunk: 3, text: "size mismatch",
			corrupt: func(t *testing.T) {
				path := s.path(b.ID, b.Chunks[2].Name)
				data, _ := os.ReadFile(path)
				s.writeFile(t, path, data[:len(data)-16])
			}},
		{name: "chunk extended", chunk: 3, text: "size mismatch",
			corrupt: func(t *testing.T) {
				path := s.path(b.ID, b.Chunks[2].Name)
				data, _ := os.ReadFile(path)
				s.writeFile(t, path, append(data, 0))
			}},
		{name: "extra chunk after the last", chunk: last + 1, text: "not in the manifest",
			corrupt: func(t *testing.T) {
				s.copyFile(t, s.path(s.other.ID, chunkName(1)), s.path(b.ID, chunkName(last+1)))
			}},
		{name: "unsigned manifest", chunk: 0, text: "manifest is not signed",
			corrupt: func(t *testing.T) { mustRemove(t, s.path(b.ID, signatureName)) }},
		{name: "no manifest", chunk: 0, text: "manifest missing (incomplete backup)",
			corrupt: func(t *testing.T) { mustRemove(t, s.path(b.ID, manifestName)) }},
		{name: "re-signed by another key", chunk: 0, text: "manifest signature does not verify",
			corrupt: func(t *testing.T) {
				raw, _ := os.ReadFile(s.path(b.ID, manifestName))
				s.writeFile(t, s.path(b.ID, signatureName), signManifest(otherKeys.signer, raw))
			}},
		{name: "rewritten and re-signed by another key", chunk: 0, text: "manifest signed by an unknown key",
			corrupt: func(t *testing.T) {
				s.resign(t, otherKeys.signer, func(m *Manifest) { m.KeyID = KeyID(otherKeys.public) })
			}},
		{name: "trusted key is another", trusted: []ed25519.PublicKey{otherKeys.public}, chunk: 0,
			text: "manifest signed by an unknown key", corrupt: func(*testing.T) {}},
		{name: "manifest of another backup", chunk: 0, text: "manifest belongs to backup",
			corrupt: func(t *testing.T) {
				s.copyFile(t, s.path(s.other.ID, manifestName), s.path(b.ID, manifestName))
				s.copyFile(t, s.path(s.other.ID, signatureName), s.path(b.ID, signatureName))
			}},
		{name: "wrong identity", identities: []age.Identity{otherKeys.identity}, chunk: 1, text: "wrong identity",
			onlyDecrypting: true, corrupt: func(*testing.T) {}},
		// With the signing key itself stolen, hashes can be made to match:
		// the header inside each chunk still catches a swap.
		{name: "swap re-signed with the real key", chunk: 2, text: "does not bind it to this backup and position",
			onlyDecrypting: true, corrupt: func(t *testing.T) {
				s.swapFiles(t, s.path(b.ID, b.Chunks[1].Name), s.path(b.ID, b.Chunks[2].Name))
				s.resign(t, s.keys.signer, func(m *Manifest) {
					m.Chunks[1], m.Chunks[2] = m.Chunks[2], m.Chunks[1]
					m.Chunks[1].Index, m.Chunks[1].Name = 2, chunkName(2)
					m.Chunks[2].Index, m.Chunks[2].Name = 3, chunkName(3)
				})
			}},
		{name: "chunk of another backup re-signed with the real key", chunk: 2, text: "does not bind it",
			onlyDecrypting: true, corrupt: func(t *testing.T) {
				s.copyFile(t, s.path(s.other.ID, b.Chunks[1].Name), s.path(b.ID, b.Chunks[1].Name))
				s.resign(t, s.keys.signer, func(m *Manifest) { m.Chunks[1] = s.other.Chunks[1]; m.fixTotals() })
			}},
		{name: "final chunk cut off and re-signed with the real key", chunk: last - 1, text: "does not bind it",
			onlyDecrypting: true, corrupt: func(t *testing.T) {
				mustRemove(t, s.path(b.ID, b.Chunks[last-1].Name))
				s.resign(t, s.keys.signer, func(m *Manifest) { m.Chunks = m.Chunks[:last-1]; m.fixTotals() })
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			saved := s.saveFolder(t)
			defer s.restoreFolder(t, saved)
			tt.corrupt(t)
			ids, trusted := identities, s.trusted
			if tt.identities != nil {
				ids = tt.identities
			}
			if tt.trusted != nil {
				trusted = tt.trusted
			}
			o := s.try(ids, trusted)
			if tt.onlyDecrypting {
				// Bytes of the chunks before the bad one may have been
				// read; none of the bad one.
				before := int64(0)
				for _, c := range b.Chunks[:tt.chunk-1] {
					before += c.PlaintextSize
				}
				if o.delivered > before {
					t.Errorf("open delivered %d bytes, the chunks before the bad one hold %d", o.delivered, before)
				}
				o.delivered = 0
			}
			if problem := o.refusedAs(tt.chunk, tt.text, tt.onlyDecrypting); problem != "" {
				t.Fatal(problem)
			}
			t.Logf("refused: %v", o.errs[2])
		})
	}
	s.mustAccept(t)
}

func (m *Manifest) fixTotals() {
	m.PlaintextSize, m.StoredSize = 0, 0
	for _, c := range m.Chunks {
		m.PlaintextSize += c.PlaintextSize
		m.StoredSize += c.Size
	}
}

func (s *sweep) writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	os.Remove(path)
	if err := os.WriteFile(path, data, 0o400); err != nil {
		t.Fatal(err)
	}
}

func (s *sweep) copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	s.writeFile(t, to, data)
}

func (s *sweep) swapFiles(t *testing.T, a, b string) {
	t.Helper()
	dataA, _ := os.ReadFile(a)
	dataB, _ := os.ReadFile(b)
	s.writeFile(t, a, dataB)
	s.writeFile(t, b, dataA)
}

// resign rewrites the backup's manifest with edit and signs it with key.
func (s *sweep) resign(t *testing.T, key ed25519.PrivateKey, edit func(*Manifest)) {
	t.Helper()
	raw, err := os.ReadFile(s.path(s.backup.ID, manifestName))
	if err != nil {
		t.Fatal(err)
	}
	var m Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	edit(&m)
	raw, err = json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	s.writeFile(t, s.path(s.backup.ID, manifestName), raw)
	s.writeFile(t, s.path(s.backup.ID, signatureName), signManifest(key, raw))
}

// saveFolder copies every file of the backup's folder, to put back after a
// case.
func (s *sweep) saveFolder(t *testing.T) map[string][]byte {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(s.root, s.backup.ID))
	if err != nil {
		t.Fatal(err)
	}
	saved := map[string][]byte{}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(s.root, s.backup.ID, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		saved[e.Name()] = data
	}
	return saved
}

func (s *sweep) restoreFolder(t *testing.T, saved map[string][]byte) {
	t.Helper()
	folder := filepath.Join(s.root, s.backup.ID)
	if err := os.RemoveAll(folder); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(folder, 0o700); err != nil {
		t.Fatal(err)
	}
	for name, data := range saved {
		s.writeFile(t, filepath.Join(folder, name), data)
	}
}
