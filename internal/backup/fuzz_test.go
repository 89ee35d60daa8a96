package backup

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

// fuzzBackupID is the backup the fuzzed manifests are read for.
const fuzzBackupID = "20261128T120000Z-0001"

// fuzzManifest is a whole, consistent manifest of two chunks.
func fuzzManifest() Manifest {
	return Manifest{Format: FormatVersion, ID: fuzzBackupID, Created: time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC),
		KeyID: "k", Compression: "gzip", Encryption: "age", ChunkSize: 1 << 20,
		Recipients: []string{"age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p"}, PlaintextSize: 1<<20 + 10, StoredSize: 700,
		Chunks: []Chunk{
			{Index: 1, Name: chunkName(1), Size: 600, SHA256: strings.Repeat("ab", 32), PlaintextSize: 1 << 20},
			{Index: 2, Name: chunkName(2), Size: 100, SHA256: strings.Repeat("cd", 32), PlaintextSize: 10},
		},
		Contents: json.RawMessage(`{"tables":{"audit_log":3}}`)}
}

// FuzzParseManifest checks the manifest parser, which reads what a backup
// target returns once its signature verified (so a key holder's bytes, or
// a bug's), and the signature check before it. It never panics; a refusal
// is a *Fault of the manifest (chunk 0) of the backup asked for; an
// accepted manifest is whole (chunks numbered from 1, sizes possible,
// totals that add up without overflowing) and encodes to a manifest that
// parses to the same value; and a signature verifies only over the bytes
// it was made for.
func FuzzParseManifest(f *testing.F) {
	good, err := json.Marshal(fuzzManifest())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(strings.Replace(string(good), `"chunk_size":1048576`, `"chunk_size":-1`, 1)))
	f.Add([]byte(strings.Replace(string(good), `"index":2`, `"index":3`, 1)))
	f.Add([]byte(string(good) + "{}"))
	f.Add([]byte(strings.Replace(string(good), `"format"`, `"extra":1,"format"`, 1)))
	for _, seed := range []string{``, `null`, `{}`, `[]`, `{"chunks":[{}]}`, `{"format":"steward-backup/1","chunks":null}`} {
		f.Add([]byte(seed))
	}
	key := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	pub := key.Public().(ed25519.PublicKey)
	goodSignature := signManifest(key, good)

	f.Fuzz(func(t *testing.T, raw []byte) {
		if verifyManifest(pub, raw, goodSignature) != (string(raw) == string(good)) {
			t.Fatal("the signature of one manifest verified another, or not its own")
		}
		m, err := parseManifest(fuzzBackupID, raw)
		if err != nil {
			var fault *Fault
			if !errors.As(err, &fault) || fault.ID != fuzzBackupID || fault.Chunk != 0 || fault.Problem == "" {
				t.Fatalf("refusal %#v is not a fault of the manifest", err)
			}
			return
		}
		if m.Format != FormatVersion || m.ID != fuzzBackupID || len(m.Chunks) == 0 || len(m.Recipients) == 0 {
			t.Fatalf("accepted an incomplete manifest: %+v", m)
		}
		var plain, stored int64
		for i, c := range m.Chunks {
			if c.Index != i+1 || c.Size <= 0 || c.PlaintextSize < 0 || c.PlaintextSize > int64(m.ChunkSize) {
				t.Fatalf("accepted chunk %d: %+v", i+1, c)
			}
			if plain > math.MaxInt64-c.PlaintextSize || stored > math.MaxInt64-c.Size {
				t.Fatalf("accepted a manifest whose sizes overflow at chunk %d: %+v", i+1, c)
			}
			plain, stored = plain+c.PlaintextSize, stored+c.Size
		}
		if plain != m.PlaintextSize || stored != m.StoredSize {
			t.Fatalf("accepted totals %d and %d for chunks of %d and %d", m.PlaintextSize, m.StoredSize, plain, stored)
		}
		again, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		m2, err := parseManifest(fuzzBackupID, again)
		if err != nil {
			t.Fatalf("an accepted manifest, written again, is refused: %v", err)
		}
		if !reflect.DeepEqual(normalManifest(t, m), normalManifest(t, m2)) {
			t.Fatalf("manifest changed on a round trip: %+v, %+v", m, m2)
		}
	})
}

// normalManifest is m with its times and raw contents as they compare.
func normalManifest(t *testing.T, m Manifest) Manifest {
	t.Helper()
	m.Created = m.Created.UTC()
	if len(m.Contents) > 0 {
		var v any
		if err := json.Unmarshal(m.Contents, &v); err != nil {
			t.Fatalf("contents: %v", err)
		}
		m.Contents, _ = json.Marshal(v)
	}
	return m
}
