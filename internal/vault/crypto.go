package vault

import (
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
)

// Stored formats. Both blobs are
//
//	format (1 byte, 0x01) || nonce (12 bytes) || AES-256-GCM ciphertext || tag (16 bytes)
//
// so a value of n bytes takes n+29 bytes and a wrapped data key 61 bytes.
const (
	formatV1     byte = 0x01
	nonceSize         = 12
	tagSize           = 16
	blobOverhead      = 1 + nonceSize + tagSize
	wrappedSize       = blobOverhead + KeySize
)

// Associated-data labels: a value can never be opened as a wrapped key or
// the other way round, whatever the other inputs.
const (
	valueLabel = "steward/vault/v1/value"
	dekLabel   = "steward/vault/v1/dek"
)

// errOpen is the one error for every ciphertext that does not open: wrong
// key, moved between subjects or fields, or tampered. It says nothing about
// the contents.
var errOpen = errors.New("message authentication failed")

// valueAAD binds a field's ciphertext to its subject, its name and the
// version of the data key:
//
//	"steward/vault/v1/value" || format
//	|| u16 len(subject) || subject || u16 len(name) || name || u32 dek version
//
// Lengths are big-endian; the length prefixes keep ("ab","c") and ("a","bc")
// apart. The KEK version is not part of it: rotating the KEK rewraps data
// keys and leaves every value as it is.
func valueAAD(dst []byte, subject, name string, dekVersion int) []byte {
	dst = append(dst, valueLabel...)
	dst = append(dst, formatV1)
	dst = appendString(dst, subject)
	dst = appendString(dst, name)
	return binary.BigEndian.AppendUint32(dst, uint32(dekVersion))
}

// dekAAD binds a wrapped data key to its subject, the KEK version that
// wraps it and its own version:
//
//	"steward/vault/v1/dek" || format
//	|| u16 len(subject) || subject || u32 kek version || u32 dek version
func dekAAD(dst []byte, subject string, kekVersion, dekVersion int) []byte {
	dst = append(dst, dekLabel...)
	dst = append(dst, formatV1)
	dst = appendString(dst, subject)
	dst = binary.BigEndian.AppendUint32(dst, uint32(kekVersion))
	return binary.BigEndian.AppendUint32(dst, uint32(dekVersion))
}

func appendString(dst []byte, s string) []byte {
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(s)))
	return append(dst, s...)
}

// seal encrypts plaintext under aead (random nonce) into a blob.
func seal(aead cipher.AEAD, plaintext, aad []byte) []byte {
	out := make([]byte, 1, blobOverhead+len(plaintext))
	out[0] = formatV1
	return aead.Seal(out, nil, plaintext, aad)
}

// open decrypts a blob made by seal. The returned slice is fresh memory
// owned by the caller.
func open(aead cipher.AEAD, blob, aad []byte) ([]byte, error) {
	if len(blob) < blobOverhead || blob[0] != formatV1 {
		return nil, errOpen
	}
	plaintext, err := aead.Open(nil, nil, blob[1:], aad)
	if err != nil {
		return nil, errOpen
	}
	return plaintext, nil
}

// sealValue encrypts a field value under the subject's data key.
func sealValue(dek cipher.AEAD, subject, name string, dekVersion int, value []byte) []byte {
	var buf [256]byte
	return seal(dek, value, valueAAD(buf[:0], subject, name, dekVersion))
}

// openValue decrypts a field value.
func openValue(dek cipher.AEAD, subject, name string, dekVersion int, blob []byte) ([]byte, error) {
	var buf [256]byte
	return open(dek, blob, valueAAD(buf[:0], subject, name, dekVersion))
}

// newDEK returns a fresh random data key. The caller clears it after use.
func newDEK() []byte {
	dek := make([]byte, KeySize)
	rand.Read(dek) // never fails (crypto/rand panics on an unusable source)
	return dek
}

// wrap encrypts a data key under k.
func (k *kek) wrap(subject string, dekVersion int, dek []byte) []byte {
	var buf [192]byte
	return seal(k.aead, dek, dekAAD(buf[:0], subject, k.version, dekVersion))
}

// unwrap decrypts a wrapped data key into a fresh buffer, which the caller
// clears after use.
func (k *kek) unwrap(subject string, dekVersion int, wrapped []byte) ([]byte, error) {
	if len(wrapped) != wrappedSize {
		return nil, errOpen
	}
	var buf [192]byte
	dek, err := open(k.aead, wrapped, dekAAD(buf[:0], subject, k.version, dekVersion))
	if err != nil {
		return nil, err
	}
	return dek, nil
}

// dekCipher turns a data key into its AEAD and clears the key bytes.
func dekCipher(dek []byte) (cipher.AEAD, error) {
	defer clear(dek)
	aead, err := newAEAD(dek)
	if err != nil {
		return nil, fmt.Errorf("data key: %w", err)
	}
	return aead, nil
}
