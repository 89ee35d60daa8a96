// Package secretbox seals small secrets (TOTP seeds, webhook secrets) with
// AES-256-GCM under a key derived from the master key with HKDF, one
// derived key per use, and binds each to its context (associated data).
//
//	box, err := secretbox.Derive(masterKey, "staff-totp")
//	sealed, err := box.Seal([]byte(secret), []byte("totp:"+staffID))
package secretbox

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
)

// Box seals and opens with one AES-256-GCM key.
type Box struct{ aead cipher.AEAD }

// Derive returns a box whose key is HKDF-SHA256(master, info=purpose).
func Derive(master []byte, purpose string) (*Box, error) {
	if len(master) < 32 {
		return nil, errors.New("secretbox: the master key must be at least 32 bytes")
	}
	key, err := hkdf.Key(sha256.New, master, nil, "steward secretbox "+purpose, 32)
	if err != nil {
		return nil, fmt.Errorf("secretbox: derive key: %w", err)
	}
	return New(key)
}

// New returns a box for a 32-byte key.
func New(key []byte) (*Box, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("secretbox: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("secretbox: %w", err)
	}
	return &Box{aead: aead}, nil
}

// Seal encrypts plaintext bound to associated; the nonce leads the result.
func (b *Box) Seal(plaintext, associated []byte) ([]byte, error) {
	nonce := make([]byte, b.aead.NonceSize(), b.aead.NonceSize()+len(plaintext)+b.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("secretbox: nonce: %w", err)
	}
	return b.aead.Seal(nonce, nonce, plaintext, associated), nil
}

// ErrOpen means a sealed value did not open: wrong key, wrong context or
// changed bytes.
var ErrOpen = errors.New("secretbox: cannot open: wrong key, context or changed data")

// Open decrypts what Seal made with the same associated data.
func (b *Box) Open(sealed, associated []byte) ([]byte, error) {
	n := b.aead.NonceSize()
	if len(sealed) < n+b.aead.Overhead() {
		return nil, ErrOpen
	}
	out, err := b.aead.Open(nil, sealed[:n], sealed[n:], associated)
	if err != nil {
		return nil, ErrOpen
	}
	return out, nil
}
