package audit

import (
	"crypto/ed25519"

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
	return receipt.LoadOrCreateKeyFile(dir, KeyFile)
}
