package audit

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/steward-dev/steward/internal/receipt"
)

// KeyFile is the name of the checkpoint signing key in the data directory.
// It is not the receipt signing key: a checkpoint signature must not be
// confusable with a receipt, and the two keys may be rotated apart.
const KeyFile = "audit-signing-key.pem"

// LoadOrCreateKey reads the Ed25519 checkpoint signing key from dir, making
// one (PEM PKCS#8, mode 0600) at first start. Replicas sharing a PostgreSQL
// database may share one key or have one each: every key that signs is
// recorded in the database.
func LoadOrCreateKey(dir string) (ed25519.PrivateKey, error) {
	path := filepath.Join(dir, KeyFile)
	key, err := receipt.LoadKey(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return key, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	_, key, err = ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate audit signing key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encode audit signing key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) { // another process made it first
		return receipt.LoadKey(path)
	}
	if err != nil {
		return nil, fmt.Errorf("create audit signing key: %w", err)
	}
	if err := pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
		f.Close()
		return nil, fmt.Errorf("write audit signing key: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, fmt.Errorf("write audit signing key: %w", err)
	}
	return key, f.Close()
}
