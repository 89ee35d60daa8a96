package backup

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/steward-dev/steward/internal/backup/target"
)

// keys are one test's backup keys: a signing key and an age identity.
type keys struct {
	signer    ed25519.PrivateKey
	public    ed25519.PublicKey
	identity  *age.X25519Identity
	recipient age.Recipient
}

func mustKeys(tb testing.TB) keys {
	tb.Helper()
	public, signer, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	identity, err := age.GenerateX25519Identity()
	if err != nil {
		tb.Fatal(err)
	}
	return keys{signer: signer, public: public, identity: identity, recipient: identity.Recipient()}
}

func (k keys) options(chunkSize int, now time.Time) CreateOptions {
	return CreateOptions{
		Recipients: []age.Recipient{k.recipient}, Signer: k.signer, ChunkSize: chunkSize,
		Now: func() time.Time { return now },
	}
}

func mustDir(tb testing.TB) (*target.Dir, string) {
	tb.Helper()
	root := tb.TempDir()
	d, err := target.OpenDir(root)
	if err != nil {
		tb.Fatal(err)
	}
	return d, root
}

// syntheticLines is n JSON lines like a snapshot's rows, of synthetic people.
func syntheticLines(n int) []byte {
	var b bytes.Buffer
	for i := range n {
		fmt.Fprintf(&b, `{"table":"consent_events","row":{"seq":%d,"subject":"subj-%08d","purpose":"analytics","action":"grant","email":"person%d@example.test","at":"2026-12-01T10:%02d:00Z"}}`+"\n", i, i*7919, i, i%60)
	}
	return b.Bytes()
}

type summary struct {
	Rows int `json:"rows"`
}

// dumpOf returns a dump that writes data in pieces of the given size.
func dumpOf(data []byte, piece int) func(context.Context, io.Writer) (any, error) {
	return func(ctx context.Context, w io.Writer) (any, error) {
		for rest := data; len(rest) > 0; {
			n := min(piece, len(rest))
			if _, err := w.Write(rest[:n]); err != nil {
				return nil, err
			}
			rest = rest[n:]
		}
		return summary{Rows: bytes.Count(data, []byte("\n"))}, nil
	}
}

func mustCreate(tb testing.TB, t target.Target, k keys, data []byte, chunkSize int, now time.Time) Manifest {
	tb.Helper()
	m, err := Create(context.Background(), t, k.options(chunkSize, now), dumpOf(data, 1000))
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

var testNow = time.Date(2026, 12, 7, 5, 43, 22, 0, time.UTC)
