package receipt_test

import (
	"crypto/ed25519"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/steward-dev/steward/internal/receipt"
)

func sample() *receipt.Receipt {
	return &receipt.Receipt{
		Version: receipt.Version, Jurisdiction: "DE", ConsentTimestamp: 1764000000,
		CollectionMethod: "banner", ConsentReceiptID: "0f8e7c1a-0000-4000-8000-000000000001",
		PIIPrincipalID: "device:dev-1", PIIControllers: []receipt.Controller{{PIIController: "Example Shop"}},
		PolicyURL: "https://shop.example/privacy", SPICat: []string{},
		Services: []receipt.Service{{Service: "shop", Purposes: []receipt.Purpose{{Purpose: "Analytics", ConsentType: "EXPLICIT"}}}},
		Steward:  receipt.Ledger{EventID: "e-1", Property: "shop", Purpose: "analytics", Action: "grant", Source: "banner", NoticeVersion: "v1"},
	}
}

func newSigner(t *testing.T) *receipt.Signer {
	t.Helper()
	key, err := receipt.LoadOrCreateKey(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s, err := receipt.NewSigner(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSignVerifyRoundTripAndDeterminism(t *testing.T) {
	s := newSigner(t)
	a, err := s.Sign(sample())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := s.Sign(sample())
	if a != b {
		t.Fatal("signing the same receipt twice gave different bytes")
	}
	got, err := receipt.Verify(a, s.JWKS())
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if got.Steward.EventID != "e-1" || got.Jurisdiction != "DE" || got.PIIPrincipalID != "device:dev-1" {
		t.Fatalf("verified content = %+v", got)
	}
}

func TestVerifyRejectsEveryChangedByte(t *testing.T) {
	s := newSigner(t)
	jws, _ := s.Sign(sample())
	for i := 0; i < len(jws); i++ {
		if jws[i] == '.' {
			continue
		}
		b := []byte(jws)
		// Swap for another base64url character whose 6 bits differ in the high
		// bits, so that trailing padding bits cannot hide the change.
		if b[i] == 'A' {
			b[i] = 'g'
		} else {
			b[i] = 'A'
		}
		if _, err := receipt.Verify(string(b), s.JWKS()); err == nil {
			t.Fatalf("changing byte %d of %d still verifies", i, len(jws))
		} else if !errors.Is(err, receipt.ErrInvalid) {
			t.Fatalf("byte %d: error %v does not wrap ErrInvalid", i, err)
		}
	}
}

func TestVerifyRejectsOtherKey(t *testing.T) {
	s1, s2 := newSigner(t), newSigner(t)
	jws, _ := s1.Sign(sample())
	_, err := receipt.Verify(jws, s2.JWKS())
	if err == nil || !strings.Contains(err.Error(), "does not hold") {
		t.Fatalf("Verify with another key set: %v", err)
	}
}

func TestLoadOrCreateKeyPersists(t *testing.T) {
	dir := t.TempDir()
	k1, err := receipt.LoadOrCreateKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := receipt.LoadOrCreateKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !k1.Equal(k2) {
		t.Fatal("second load returned a different key")
	}
	info, err := os.Stat(filepath.Join(dir, receipt.KeyFile))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode = %v, %v; want 0600", info.Mode().Perm(), err)
	}
	if _, ok := any(k1).(ed25519.PrivateKey); !ok {
		t.Fatal("not an ed25519 key")
	}
}
