package backup

import (
	"crypto/ed25519"
	"fmt"
	"io"
	"os"
	"strings"

	"filippo.io/age"

	"github.com/steward-dev/steward/internal/receipt"
)

// SigningKeyFile is the name of the backup signing key in the data directory.
const SigningKeyFile = "backup-signing-key.pem"

// LoadOrCreateSigningKey reads the backup signing key (PEM PKCS#8 Ed25519)
// from dir, making one with mode 0600 when there is none. Its public half is
// what verifiers trust; the server publishes it with its other keys.
func LoadOrCreateSigningKey(dir string) (ed25519.PrivateKey, error) {
	key, err := receipt.LoadOrCreateKeyFile(dir, SigningKeyFile)
	if err != nil {
		return nil, fmt.Errorf("backup signing key: %w", err)
	}
	return key, nil
}

// KeyID names a signing key in manifests: the same short base64url SHA-256
// of the public key that receipts use.
func KeyID(pub ed25519.PublicKey) string { return receipt.KeyID(pub) }

// GenerateIdentity writes a new age X25519 identity to w, in the file format
// of age-keygen (comment lines, then the secret key), and returns its
// recipient, the public half given to `backup create --recipient`. The
// identity belongs offline, never on the server.
func GenerateIdentity(w io.Writer) (recipient string, err error) {
	identity, err := age.GenerateX25519Identity()
	if err != nil {
		return "", fmt.Errorf("generate identity: %w", err)
	}
	recipient = identity.Recipient().String()
	_, err = fmt.Fprintf(w, "# Steward backup identity: it decrypts every backup made to the recipient below.\n"+
		"# Keep it offline, never on the server.\n"+
		"# public key: %s\n%s\n", recipient, identity.String())
	if err != nil {
		return "", fmt.Errorf("write identity: %w", err)
	}
	return recipient, nil
}

// ParseRecipients parses age recipients (age1... X25519 or age1pq... hybrid
// post-quantum), one per string; the error names the one at fault.
func ParseRecipients(recipients []string) ([]age.Recipient, error) {
	if len(recipients) == 0 {
		return nil, fmt.Errorf("recipients: at least one age recipient is needed")
	}
	out := make([]age.Recipient, 0, len(recipients))
	for i, s := range recipients {
		s = strings.TrimSpace(s)
		if s == "" || strings.ContainsAny(s, "\n#") {
			return nil, fmt.Errorf("recipient %d: not an age recipient (want age1...)", i+1)
		}
		parsed, err := age.ParseRecipients(strings.NewReader(s))
		if err != nil || len(parsed) != 1 {
			if strings.HasPrefix(s, "age1") { // public: safe to repeat
				return nil, fmt.Errorf("recipient %d %q: not an age recipient (want age1...)", i+1, s)
			}
			return nil, fmt.Errorf("recipient %d: not an age recipient (want age1...)", i+1)
		}
		out = append(out, parsed[0])
	}
	return out, nil
}

// ParseIdentityFile reads the age identities in the file at path (as
// GenerateIdentity or age-keygen writes them).
func ParseIdentityFile(path string) ([]age.Identity, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("identity file: %w", err)
	}
	defer f.Close()
	ids, err := age.ParseIdentities(f)
	if err != nil {
		// age's message may quote the line: it could be a secret key.
		return nil, fmt.Errorf("identity file %s: not an age identity file", path)
	}
	return ids, nil
}

// recipientString returns the text form of r, which the manifest lists.
func recipientString(r age.Recipient) (string, error) {
	s, ok := r.(fmt.Stringer)
	if !ok {
		return "", fmt.Errorf("recipient of type %T has no text form to list in the manifest", r)
	}
	return s.String(), nil
}
