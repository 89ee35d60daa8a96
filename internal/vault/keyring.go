package vault

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"
)

// KeySize is the size of a key-encryption key and of a data key: 256 bits.
const KeySize = 32

// MaxKeyVersion bounds KEK versions; they are stored as 32-bit integers.
const MaxKeyVersion = 1<<31 - 1

// HKDF labels. The raw KEK is never used as a cipher key itself: one
// derivation wraps data keys, another yields the check value recorded in the
// store, so that the check value says nothing about the wrapping key.
const (
	wrapKeyInfo    = "steward vault: wrap data keys v1"
	checkValueInfo = "steward vault: key check value v1"
)

// A Keyring holds the versions of the key-encryption key (KEK) that this
// process knows. The vault wraps new data keys under the store's active
// version and unwraps each data key under the version recorded with it, so
// during a rotation the keyring holds both the old and the new version.
//
// A Keyring keeps no raw key: Add derives the wrapping cipher and the check
// value and zeroes its copies of the key material (see the package comment
// for what Go cannot zero). It is safe for concurrent use.
type Keyring struct {
	mu   sync.RWMutex
	keks map[int]*kek
}

type kek struct {
	version    int
	aead       cipher.AEAD // AES-256-GCM under HKDF(KEK, wrapKeyInfo), random nonces
	checkValue string      // hex HKDF(KEK, checkValueInfo), 16 bytes
}

// NewKeyring returns an empty keyring.
func NewKeyring() *Keyring { return &Keyring{keks: map[int]*kek{}} }

// Add adds key as KEK version. The key must be KeySize bytes; Add keeps no
// reference to it, and the caller should clear it after the call.
func (k *Keyring) Add(version int, key []byte) error {
	if version < 1 || version > MaxKeyVersion {
		return fmt.Errorf("vault keyring: version %d out of range 1..%d", version, MaxKeyVersion)
	}
	if len(key) != KeySize {
		return fmt.Errorf("vault keyring: version %d: key is %d bytes, want %d", version, len(key), KeySize)
	}
	wrapKey, err := hkdf.Key(sha256.New, key, nil, wrapKeyInfo, KeySize)
	if err != nil {
		return fmt.Errorf("vault keyring: derive wrapping key: %w", err)
	}
	defer clear(wrapKey)
	check, err := hkdf.Key(sha256.New, key, nil, checkValueInfo, 16)
	if err != nil {
		return fmt.Errorf("vault keyring: derive check value: %w", err)
	}
	aead, err := newAEAD(wrapKey)
	if err != nil {
		return fmt.Errorf("vault keyring: %w", err)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.keks == nil {
		k.keks = map[int]*kek{}
	}
	if _, dup := k.keks[version]; dup {
		return fmt.Errorf("vault keyring: version %d given twice", version)
	}
	k.keks[version] = &kek{version: version, aead: aead, checkValue: hex.EncodeToString(check)}
	return nil
}

// Remove drops a version from the keyring, after Retire has confirmed that
// no data key uses it any more.
func (k *Keyring) Remove(version int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.keks, version)
}

// Versions returns the versions held, in ascending order.
func (k *Keyring) Versions() []int {
	if k == nil {
		return nil
	}
	k.mu.RLock()
	defer k.mu.RUnlock()
	out := make([]int, 0, len(k.keks))
	for v := range k.keks {
		out = append(out, v)
	}
	slices.Sort(out)
	return out
}

// Latest returns the highest version held, 0 for an empty keyring.
func (k *Keyring) Latest() int {
	vs := k.Versions()
	if len(vs) == 0 {
		return 0
	}
	return vs[len(vs)-1]
}

// Len returns how many versions the keyring holds.
func (k *Keyring) Len() int {
	if k == nil {
		return 0
	}
	k.mu.RLock()
	defer k.mu.RUnlock()
	return len(k.keks)
}

// CheckValue returns the check value of version (a one-way derivation of
// the key, safe to show to operators to compare replicas' configuration),
// and whether the version is held.
func (k *Keyring) CheckValue(version int) (string, bool) {
	kk := k.get(version)
	if kk == nil {
		return "", false
	}
	return kk.checkValue, true
}

func (k *Keyring) get(version int) *kek {
	if k == nil {
		return nil
	}
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.keks[version]
}

// ParseKeyring reads KEK versions from text, as given in STEWARD_MASTER_KEY
// or a key file:
//
//	BASE64                      one key, version 1
//	1:BASE64,2:BASE64           versions, separated by commas or newlines
//
// Each key is 32 bytes in standard or URL-safe base64, padded or not. Blank
// lines and lines starting with # are ignored. Errors never quote key text.
func ParseKeyring(text string) (*Keyring, error) {
	data := []byte(text)
	defer clear(data)
	return parseKeyring(data)
}

// LoadKeyringFile reads a keyring from a file in the ParseKeyring format
// and clears its copy of the file's contents.
func LoadKeyringFile(path string) (*Keyring, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read master key file: %w", err)
	}
	defer clear(data)
	ring, err := parseKeyring(data)
	if err != nil {
		return nil, fmt.Errorf("master key file %s: %w", path, err)
	}
	return ring, nil
}

// parseKeyring works on bytes, not strings, so that the caller can clear
// the key text afterwards.
func parseKeyring(data []byte) (*Keyring, error) {
	ring := NewKeyring()
	entries := bytes.FieldsFunc(data, func(r rune) bool { return r == ',' || r == '\n' || r == '\r' })
	n := 0
	for i, entry := range entries {
		entry = bytes.TrimSpace(entry)
		if len(entry) == 0 || entry[0] == '#' {
			continue
		}
		n++
		version := 1
		encoded := entry
		if before, after, ok := bytes.Cut(entry, []byte(":")); ok {
			v, err := strconv.Atoi(string(bytes.TrimSpace(before)))
			if err != nil {
				return nil, fmt.Errorf("vault keyring: entry %d: version is not a number (want VERSION:BASE64)", i+1)
			}
			version, encoded = v, bytes.TrimSpace(after)
		} else if len(entries) > 1 {
			return nil, fmt.Errorf("vault keyring: entry %d: give VERSION:BASE64 when there are several keys", i+1)
		}
		key, err := decodeKey(encoded)
		if err != nil {
			return nil, fmt.Errorf("vault keyring: entry %d: %w", i+1, err)
		}
		err = ring.Add(version, key)
		clear(key)
		if err != nil {
			return nil, err
		}
	}
	if n == 0 {
		return nil, errors.New("vault keyring: no key given")
	}
	return ring, nil
}

// GenerateKey returns a new random KEK in the base64 form that ParseKeyring
// reads, for `steward keys generate` and for tests.
func GenerateKey() string {
	key := make([]byte, KeySize)
	rand.Read(key) // never fails (crypto/rand panics on an unusable source)
	defer clear(key)
	return base64.StdEncoding.EncodeToString(key)
}

func decodeKey(encoded []byte) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		key := make([]byte, enc.DecodedLen(len(encoded)))
		n, err := enc.Decode(key, encoded)
		if err != nil {
			clear(key)
			continue
		}
		if n != KeySize {
			clear(key)
			return nil, fmt.Errorf("key decodes to %d bytes, want %d", n, KeySize)
		}
		return key[:n], nil
	}
	return nil, errors.New("key is not base64")
}

// newAEAD returns AES-256-GCM with random 96-bit nonces prepended to the
// ciphertext. Go keeps the expanded key schedule inside the returned value,
// out of reach of clear.
func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("aes: %w", err)
	}
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		return nil, fmt.Errorf("gcm: %w", err)
	}
	return aead, nil
}
