package audit

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Signed notes, as c2sp.org/signed-note specifies them, with Ed25519
// signatures (signature type 0x01), and the checkpoints of
// c2sp.org/tlog-checkpoint they carry.

// algEd25519 is the signed-note signature type of Ed25519.
const algEd25519 = 0x01

// maxNoteSignatures bounds the signature lines OpenNote reads (the spec asks
// for at least 16).
const maxNoteSignatures = 100

// Errors of OpenNote and OpenCheckpoint, wrapped with details.
var (
	ErrMalformedNote    = errors.New("malformed signed note")
	ErrUnverifiedNote   = errors.New("note has no signature from a known key")
	ErrInvalidSignature = errors.New("invalid note signature")
)

// emDash starts every signature line: U+2014 and a space.
const emDash = "\u2014 "

// Signer signs notes with an Ed25519 key under a key name.
type Signer struct {
	name string
	id   uint32
	key  ed25519.PrivateKey
	ver  *Verifier
}

// Verifier checks the signatures of one key.
type Verifier struct {
	name string
	id   uint32
	pub  ed25519.PublicKey
}

// NewSigner returns a Signer for key under name, which is also the origin of
// the checkpoints it signs: a schema-less URL such as
// "shop.example/steward-audit" is best; it must be non-empty, without
// spaces or "+".
func NewSigner(name string, key ed25519.PrivateKey) (*Signer, error) {
	if !validName(name) {
		return nil, fmt.Errorf("audit signer: key name %q must be non-empty UTF-8 without spaces or '+'", name)
	}
	if len(key) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("audit signer: not an Ed25519 private key")
	}
	pub := key.Public().(ed25519.PublicKey)
	id := keyID(name, pub)
	return &Signer{name: name, id: id, key: key, ver: &Verifier{name: name, id: id, pub: pub}}, nil
}

// keyID is the key ID the signed-note spec recommends:
// SHA-256(key name || 0x0A || 0x01 || public key)[:4], big-endian.
func keyID(name string, pub ed25519.PublicKey) uint32 {
	h := sha256.New()
	h.Write([]byte(name))
	h.Write([]byte{'\n', algEd25519})
	h.Write(pub)
	return binary.BigEndian.Uint32(h.Sum(nil))
}

func validName(name string) bool {
	return name != "" && utf8.ValidString(name) && !strings.ContainsFunc(name, func(r rune) bool {
		return r == '+' || unicode.IsSpace(r) || unicode.IsControl(r)
	})
}

// Name returns the key name.
func (s *Signer) Name() string { return s.name }

// KeyID returns the 32-bit key ID.
func (s *Signer) KeyID() uint32 { return s.id }

// Verifier returns the Verifier of the signer's public key.
func (s *Signer) Verifier() *Verifier { return s.ver }

// VerifierKey returns the public key in the signed-note verifier key form
// ("vkey"), name+hex key ID+base64(0x01 || public key), as accepted by
// golang.org/x/mod/sumdb/note and other C2SP tools. Publish it where
// auditors can find it without trusting this server.
func (s *Signer) VerifierKey() string { return s.ver.String() }

// Sign returns text as a signed note: text, which must be non-empty, end in
// a newline and hold no blank line or control character other than newline,
// then a blank line and one signature line.
func (s *Signer) Sign(text string) ([]byte, error) {
	if text == "" || !strings.HasSuffix(text, "\n") || strings.Contains(text, "\n\n") || !noteText(text) {
		return nil, fmt.Errorf("%w: text must be non-empty lines of UTF-8 ending in a newline", ErrMalformedNote)
	}
	sig := make([]byte, 4, 4+ed25519.SignatureSize)
	binary.BigEndian.PutUint32(sig, s.id)
	sig = append(sig, ed25519.Sign(s.key, []byte(text))...)
	var b strings.Builder
	b.WriteString(text)
	b.WriteString("\n" + emDash + s.name + " ")
	b.WriteString(base64.StdEncoding.EncodeToString(sig))
	b.WriteString("\n")
	return []byte(b.String()), nil
}

// noteText reports whether s is valid UTF-8 without control characters
// other than newline, as notes must be.
func noteText(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 && r != '\n' || r == 0x7f })
}

// NewVerifier parses a verifier key ("vkey"): name+hex key ID+base64(0x01 ||
// 32-byte Ed25519 public key). The key ID must match the name and key.
func NewVerifier(vkey string) (*Verifier, error) {
	name, rest, ok1 := strings.Cut(vkey, "+")
	idHex, keyData, ok2 := strings.Cut(rest, "+")
	if !ok1 || !ok2 || !validName(name) || len(idHex) != 8 {
		return nil, fmt.Errorf("verifier key %q: want name+keyid+keydata", vkey)
	}
	idBytes, err := hex.DecodeString(idHex)
	if err != nil {
		return nil, fmt.Errorf("verifier key %q: key ID is not hex", vkey)
	}
	raw, err := base64.StdEncoding.Strict().DecodeString(keyData)
	if err != nil || len(raw) != 1+ed25519.PublicKeySize || raw[0] != algEd25519 {
		return nil, fmt.Errorf("verifier key %q: key data is not base64 of 0x01 and a 32-byte Ed25519 key", vkey)
	}
	pub := ed25519.PublicKey(raw[1:])
	id := binary.BigEndian.Uint32(idBytes)
	if keyID(name, pub) != id {
		return nil, fmt.Errorf("verifier key %q: key ID does not match the name and key", vkey)
	}
	return &Verifier{name: name, id: id, pub: pub}, nil
}

// Name returns the key name.
func (v *Verifier) Name() string { return v.name }

// KeyID returns the 32-bit key ID.
func (v *Verifier) KeyID() uint32 { return v.id }

// String returns the verifier key ("vkey").
func (v *Verifier) String() string {
	return fmt.Sprintf("%s+%08x+%s", v.name, v.id, base64.StdEncoding.EncodeToString(append([]byte{algEd25519}, v.pub...)))
}

// OpenNote checks a signed note and returns its text and the verifier whose
// signature verified. As the spec asks, signatures from unknown keys (by
// name and key ID) are ignored, a failing signature from a known key fails
// the note, and a note without a verified signature fails.
func OpenNote(note []byte, verifiers ...*Verifier) (string, *Verifier, error) {
	if !noteText(string(note)) {
		return "", nil, fmt.Errorf("%w: not UTF-8 text without control characters", ErrMalformedNote)
	}
	split := bytes.LastIndex(note, []byte("\n\n"))
	if split < 0 {
		return "", nil, fmt.Errorf("%w: no blank line before the signatures", ErrMalformedNote)
	}
	text, sigs := string(note[:split+1]), string(note[split+2:])
	if !strings.HasSuffix(sigs, "\n") {
		return "", nil, fmt.Errorf("%w: signatures must end in a newline", ErrMalformedNote)
	}
	lines := strings.Split(strings.TrimSuffix(sigs, "\n"), "\n")
	if len(lines) > maxNoteSignatures {
		return "", nil, fmt.Errorf("%w: more than %d signatures", ErrMalformedNote, maxNoteSignatures)
	}
	var verified *Verifier
	for _, line := range lines {
		rest, ok := strings.CutPrefix(line, emDash)
		name, b64, ok2 := strings.Cut(rest, " ")
		if !ok || !ok2 || !validName(name) {
			return "", nil, fmt.Errorf("%w: bad signature line %q", ErrMalformedNote, line)
		}
		sig, err := base64.StdEncoding.Strict().DecodeString(b64)
		if err != nil || len(sig) < 5 {
			return "", nil, fmt.Errorf("%w: bad signature on line %q", ErrMalformedNote, line)
		}
		id := binary.BigEndian.Uint32(sig)
		for _, v := range verifiers {
			if v == nil || v.name != name || v.id != id {
				continue
			}
			if len(sig) != 4+ed25519.SignatureSize {
				return "", nil, fmt.Errorf("%w: signature for key %s+%08x is %d bytes long", ErrMalformedNote, name, id, len(sig)-4)
			}
			if !ed25519.Verify(v.pub, []byte(text), sig[4:]) {
				return "", nil, fmt.Errorf("%w for key %s+%08x", ErrInvalidSignature, name, id)
			}
			if verified == nil {
				verified = v
			}
		}
	}
	if verified == nil {
		return "", nil, ErrUnverifiedNote
	}
	return text, verified, nil
}

// Checkpoint commits to the log at a size. Root is the hash of entry Size,
// the chain head (GenesisHash for size 0): the log is a hash chain, not a
// Merkle tree, so Root commits to every entry up to Size.
type Checkpoint struct {
	Origin string
	Size   int64
	Root   Hash
}

// Text returns the checkpoint note text: origin, size and base64 root, each
// on a line of its own.
func (c Checkpoint) Text() string {
	return c.Origin + "\n" + strconv.FormatInt(c.Size, 10) + "\n" + c.Root.Base64() + "\n"
}

// ParseCheckpoint reads a checkpoint note text. Extension lines after the
// root are allowed, as the spec allows them, and ignored.
func ParseCheckpoint(text string) (Checkpoint, error) {
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if !strings.HasSuffix(text, "\n") || len(lines) < 3 {
		return Checkpoint{}, fmt.Errorf("%w: a checkpoint has origin, size and root lines", ErrMalformedNote)
	}
	c := Checkpoint{Origin: lines[0]}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || size < 0 || strconv.FormatInt(size, 10) != lines[1] {
		return Checkpoint{}, fmt.Errorf("%w: checkpoint size %q", ErrMalformedNote, lines[1])
	}
	c.Size = size
	root, err := base64.StdEncoding.Strict().DecodeString(lines[2])
	if err != nil || len(root) != len(c.Root) {
		return Checkpoint{}, fmt.Errorf("%w: checkpoint root %q", ErrMalformedNote, lines[2])
	}
	copy(c.Root[:], root)
	if c.Origin == "" {
		return Checkpoint{}, fmt.Errorf("%w: empty checkpoint origin", ErrMalformedNote)
	}
	for _, ext := range lines[3:] {
		if ext == "" {
			return Checkpoint{}, fmt.Errorf("%w: empty extension line", ErrMalformedNote)
		}
	}
	return c, nil
}

// SignCheckpoint returns the signed note of the checkpoint at size with
// root, its origin being the signer's name.
func (s *Signer) SignCheckpoint(size int64, root Hash) (Checkpoint, []byte, error) {
	c := Checkpoint{Origin: s.name, Size: size, Root: root}
	note, err := s.Sign(c.Text())
	return c, note, err
}

// OpenCheckpoint checks a signed checkpoint note against verifiers and
// returns the checkpoint. Its origin must be the name of the key that
// signed it.
func OpenCheckpoint(note []byte, verifiers ...*Verifier) (Checkpoint, *Verifier, error) {
	text, v, err := OpenNote(note, verifiers...)
	if err != nil {
		return Checkpoint{}, nil, err
	}
	c, err := ParseCheckpoint(text)
	if err != nil {
		return Checkpoint{}, nil, err
	}
	if c.Origin != v.name {
		return Checkpoint{}, nil, fmt.Errorf("%w: origin %q is not the signer's name %q", ErrUnverifiedNote, c.Origin, v.name)
	}
	return c, v, nil
}
