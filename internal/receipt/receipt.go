// Package receipt signs and verifies consent receipts: JSON documents shaped
// after the Kantara Initiative Consent Receipt v1.1, carried as compact JWS
// (EdDSA over Ed25519) so that anyone holding the public key can check them
// offline.
//
//	key, err := receipt.LoadOrCreateKey(dataDir)
//	signer := receipt.NewSigner(key)
//	jws, err := signer.Sign(r)
//	got, err := receipt.Verify(jws, signer.JWKS())
package receipt

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	jose "github.com/go-jose/go-jose/v4"
)

// Version is the Kantara consent receipt specification version of receipts.
const Version = "KI-CR-v1.1.0"

// Receipt is a consent receipt. Field names follow Kantara CR v1.1; Steward
// adds its ledger facts under "steward".
type Receipt struct {
	Version          string       `json:"version"`
	Jurisdiction     string       `json:"jurisdiction"`
	ConsentTimestamp int64        `json:"consentTimestamp"`
	CollectionMethod string       `json:"collectionMethod"`
	ConsentReceiptID string       `json:"consentReceiptID"`
	Language         string       `json:"language,omitempty"`
	PIIPrincipalID   string       `json:"piiPrincipalId"`
	PIIControllers   []Controller `json:"piiControllers"`
	PolicyURL        string       `json:"policyUrl"`
	Services         []Service    `json:"services"`
	Sensitive        bool         `json:"sensitive"`
	SPICat           []string     `json:"spiCat"`
	Steward          Ledger       `json:"steward"`
}

// Controller is the organisation responsible for the processing.
type Controller struct {
	PIIController    string `json:"piiController"`
	OnBehalf         bool   `json:"onBehalf"`
	Contact          string `json:"contact"`
	Address          string `json:"address"`
	Email            string `json:"email"`
	Phone            string `json:"phone"`
	PIIControllerURL string `json:"piiControllerUrl,omitempty"`
}

// Service is a service (for Steward: a property) and the purposes consented.
type Service struct {
	Service  string    `json:"service"`
	Purposes []Purpose `json:"purposes"`
}

// Purpose is one purpose of a service as Kantara describes it.
type Purpose struct {
	Purpose              string   `json:"purpose"`
	PurposeCategory      []string `json:"purposeCategory"`
	ConsentType          string   `json:"consentType"`
	PIICategory          []string `json:"piiCategory"`
	PrimaryPurpose       bool     `json:"primaryPurpose"`
	Termination          string   `json:"termination"`
	ThirdPartyDisclosure bool     `json:"thirdPartyDisclosure"`
	ThirdPartyName       string   `json:"thirdPartyName,omitempty"`
}

// Ledger holds the facts of the ledger entry the receipt proves. It names
// the event by property and the client's event id (unique together), not
// by sequence number, so that a receipt can be signed while the event is
// being committed.
type Ledger struct {
	EventID       string `json:"eventId"`
	Property      string `json:"property"`
	Purpose       string `json:"purpose"`
	Vendor        string `json:"vendor,omitempty"`
	Action        string `json:"action"`
	Source        string `json:"source"`
	NoticeVersion string `json:"noticeVersion"`
	GPC           bool   `json:"gpc"`
	// GPPString is the IAB Global Privacy Platform string recorded with
	// the choice, when the banner sent one.
	GPPString string `json:"gppString,omitempty"`
	// Channel is the one channel a choice about a communication topic
	// names ("email", "sms", "post"); absent, the choice is of the topic
	// by every channel.
	Channel string `json:"channel,omitempty"`
}

// Signer signs receipts with one Ed25519 key. Ed25519 signatures are
// deterministic, so signing the same receipt twice gives the same bytes: a
// retried request gets back exactly the receipt it got the first time.
//
// Sign writes the compact serialisation (RFC 7515 section 7.1) itself, over
// a protected header encoded once: a receipt is signed for every consent
// event, and go-jose's general path (re-encoding the header, building a
// JSON Web Signature object) cost a quarter of the signing time. Verify
// uses go-jose, and the tests check that it accepts what Sign writes.
type Signer struct {
	key    ed25519.PrivateKey
	keyID  string
	header string // base64url of the protected header, with the trailing "."
	jwks   []byte
}

// NewSigner returns a Signer for key.
func NewSigner(key ed25519.PrivateKey) (*Signer, error) {
	kid := KeyID(key.Public().(ed25519.PublicKey))
	header, err := json.Marshal(struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
		Typ string `json:"typ"`
	}{string(jose.EdDSA), kid, "JWT"})
	if err != nil {
		return nil, fmt.Errorf("receipt signer: %w", err)
	}
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{
		Key: key.Public(), KeyID: kid, Algorithm: string(jose.EdDSA), Use: "sig",
	}}}
	jwks, err := json.Marshal(set)
	if err != nil {
		return nil, fmt.Errorf("receipt jwks: %w", err)
	}
	return &Signer{key: key, keyID: kid, header: base64.RawURLEncoding.EncodeToString(header) + ".", jwks: jwks}, nil
}

// KeyID returns the key id of a public key: the base64url SHA-256 of the key,
// shortened, so that it is stable and needs no storage.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return base64.RawURLEncoding.EncodeToString(sum[:12])
}

// Sign returns r as a compact JWS. Its payload is r as json.Marshal
// encodes it, written by AppendJSON into a pooled buffer.
func (s *Signer) Sign(r *Receipt) (string, error) {
	jws, _ := s.sign(r, false)
	return jws, nil
}

// SignSum returns r as a compact JWS, as Sign does, and the SHA-256 of
// that text, which the consent ledger chains: hashed here from the bytes
// it was built in, rather than from a copy of the string.
func (s *Signer) SignSum(r *Receipt) (jws string, sum [sha256.Size]byte) {
	return s.sign(r, true)
}

func (s *Signer) sign(r *Receipt, withSum bool) (string, [sha256.Size]byte) {
	buf := scratch.Get().(*[]byte)
	payload := r.AppendJSON((*buf)[:0])
	jws, sum := s.signPayload(payload, withSum)
	keep(buf, payload)
	return jws, sum
}

// SignPayload returns payload signed as a compact JWS under the receipt key,
// for another signed document the server publishes (the transparency
// page); VerifyPayload checks it.
func (s *Signer) SignPayload(payload []byte) string {
	jws, _ := s.signPayload(payload, false)
	return jws
}

func (s *Signer) signPayload(payload []byte, withSum bool) (jws string, sum [sha256.Size]byte) {
	enc := base64.RawURLEncoding
	buf := scratch.Get().(*[]byte)
	out := slices.Grow((*buf)[:0], len(s.header)+enc.EncodedLen(len(payload))+1+enc.EncodedLen(ed25519.SignatureSize))
	out = append(out, s.header...)
	out = enc.AppendEncode(out, payload)
	signature := ed25519.Sign(s.key, out) // the signing input is header.payload
	out = append(out, '.')
	out = enc.AppendEncode(out, signature)
	if withSum {
		sum = sha256.Sum256(out)
	}
	jws = string(out)
	keep(buf, out)
	return jws, sum
}

// scratch holds the buffers Sign encodes into: a receipt's payload and its
// compact form are a kilobyte or two each, made for every consent event.
var scratch = sync.Pool{New: func() any { return new([]byte) }}

// keep returns b to the pool as buf, unless it grew past what a receipt
// needs (a large signed document is not kept for the next receipt).
func keep(buf *[]byte, b []byte) {
	if cap(b) <= 16<<10 {
		*buf = b
		scratch.Put(buf)
	}
}

// JWKS returns the JSON Web Key Set with the public key, as served at
// /.well-known/jwks.json.
func (s *Signer) JWKS() []byte { return s.jwks }

// KeyID returns the id of the signing key.
func (s *Signer) KeyID() string { return s.keyID }

// ErrInvalid is returned (wrapped) by Verify for any receipt that does not verify.
var ErrInvalid = errors.New("receipt does not verify")

// Verify checks a compact JWS receipt against the keys of a JWKS document
// and returns its content. A changed byte anywhere fails.
func Verify(compact string, jwks []byte) (*Receipt, error) {
	payload, err := VerifyPayload(compact, jwks)
	if err != nil {
		return nil, err
	}
	var r Receipt
	if err := json.Unmarshal(payload, &r); err != nil {
		return nil, fmt.Errorf("%w: payload is not a receipt: %v", ErrInvalid, err)
	}
	if r.Version != Version {
		return nil, fmt.Errorf("%w: version %q, want %q", ErrInvalid, r.Version, Version)
	}
	return &r, nil
}

// VerifyPayload checks a compact JWS against the keys of a JWKS document and
// returns its payload, whatever it holds.
func VerifyPayload(compact string, jwks []byte) ([]byte, error) {
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(jwks, &set); err != nil {
		return nil, fmt.Errorf("read JWKS: %w", err)
	}
	// Each part must be canonical base64url: otherwise a changed last
	// character whose low bits are padding would decode to the same bytes,
	// and two different files would verify as one.
	for _, part := range strings.Split(compact, ".") {
		if _, err := base64.RawURLEncoding.Strict().DecodeString(part); err != nil {
			return nil, fmt.Errorf("%w: not canonical base64url: %v", ErrInvalid, err)
		}
	}
	obj, err := jose.ParseSignedCompact(compact, []jose.SignatureAlgorithm{jose.EdDSA})
	if err != nil {
		return nil, fmt.Errorf("%w: not a compact JWS: %v", ErrInvalid, err)
	}
	if len(obj.Signatures) != 1 {
		return nil, fmt.Errorf("%w: want one signature, got %d", ErrInvalid, len(obj.Signatures))
	}
	kid := obj.Signatures[0].Header.KeyID
	keys := set.Keys
	if kid != "" {
		keys = set.Key(kid)
		if len(keys) == 0 {
			return nil, fmt.Errorf("%w: signed by key %q, which the JWKS does not hold", ErrInvalid, kid)
		}
	}
	var lastErr error
	for _, k := range keys {
		payload, err := obj.Verify(k.Key)
		if err != nil {
			lastErr = err
			continue
		}
		return payload, nil
	}
	if lastErr == nil {
		lastErr = errors.New("the JWKS holds no keys")
	}
	return nil, fmt.Errorf("%w: signature check failed: %v", ErrInvalid, lastErr)
}

// KeyFile is the name of the signing key in the data directory.
const KeyFile = "receipt-signing-key.pem"

// LoadOrCreateKey reads the Ed25519 signing key from dir, making one (mode
// 0600) at first start.
func LoadOrCreateKey(dir string) (ed25519.PrivateKey, error) {
	return LoadOrCreateKeyFile(dir, KeyFile)
}

// LoadOrCreateKeyFile reads an Ed25519 key (PEM PKCS#8) from dir/name,
// making one with mode 0600 when there is none; when several processes
// start at once, the first to create the file wins and the others read it.
// The audit log's checkpoint key uses it too.
func LoadOrCreateKeyFile(dir, name string) (ed25519.PrivateKey, error) {
	path := filepath.Join(dir, name)
	key, err := LoadKey(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return key, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	_, key, err = ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate key %s: %w", name, err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encode key %s: %w", name, err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) { // another process made it first
		return LoadKey(path)
	}
	if err != nil {
		return nil, fmt.Errorf("create key %s: %w", name, err)
	}
	if err := pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
		f.Close()
		return nil, fmt.Errorf("write key %s: %w", name, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, fmt.Errorf("write key %s: %w", name, err)
	}
	return key, f.Close()
}

// LoadKey reads a PEM PKCS#8 Ed25519 private key.
func LoadKey(path string) (ed25519.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read signing key: %w", err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("signing key %s: no PEM block", path)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", path, err)
	}
	key, ok := parsed.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("signing key %s: not an Ed25519 key", path)
	}
	return key, nil
}
