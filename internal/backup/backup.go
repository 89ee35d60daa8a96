// Package backup is Steward's backup format: a snapshot streamed into
// compressed, age-encrypted chunks on a write-once target, listed in a
// manifest signed with Ed25519. The server holds only the recipients (public
// halves), so it cannot read its own backups; the signature proves a backup
// whole, since age alone does not authenticate who encrypted.
//
// On the target, backup ID keeps
//
//	ID/chunk-000001 ... ID/chunk-NNNNNN   age(gzip(header line + snapshot bytes))
//	ID/manifest.sig                        Ed25519 signature of the manifest
//	ID/manifest.json                       written last: a backup without it is incomplete
//
// docs/backup-format.md describes the bytes for an independent verifier.
//
//	m, err := backup.Create(ctx, t, backup.CreateOptions{Recipients: rs, Signer: key}, dump)
//	report, err := backup.Verify(ctx, t, m.ID, trusted, nil, nil)
//	m, r, err := backup.Open(ctx, t, m.ID, trusted, identities)
package backup

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// FormatVersion names the format in every manifest and chunk header.
const FormatVersion = "steward-backup/1"

// Object names inside a backup's folder.
const (
	manifestName  = "manifest.json"
	signatureName = "manifest.sig"
	chunkPrefix   = "chunk-"
)

// idTimeLayout is the time part of a backup id: UTC, to the second, so that
// ids sort by time as strings.
const idTimeLayout = "20060102T150405Z"

// newID returns a fresh backup id for t: its UTC time to the second and six
// random hex digits (two backups in the same second get different ids).
func newID(t time.Time) (string, error) {
	var random [3]byte
	if _, err := rand.Read(random[:]); err != nil {
		return "", fmt.Errorf("backup id: %w", err)
	}
	return t.UTC().Format(idTimeLayout) + "-" + hex.EncodeToString(random[:]), nil
}

// ParseID checks that id has the shape of a backup id and returns its time.
func ParseID(id string) (time.Time, error) {
	stamp, random, ok := strings.Cut(id, "-")
	if !ok || len(random) != 6 || strings.Trim(random, "0123456789abcdef") != "" {
		return time.Time{}, fmt.Errorf("backup id %q: want TIME-XXXXXX, like 20261207T054322Z-3f9a1c", id)
	}
	t, err := time.Parse(idTimeLayout, stamp)
	if err != nil {
		return time.Time{}, fmt.Errorf("backup id %q: %w", id, err)
	}
	return t, nil
}

func chunkName(index int) string { return fmt.Sprintf("%s%06d", chunkPrefix, index) }

func objectName(id, name string) string { return id + "/" + name }
