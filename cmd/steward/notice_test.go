package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/steward-dev/steward/internal/receipt"
)

// TestReceiptVerifyNotice: `steward receipt verify` checks a saved breach
// notice with the data directory's key or a JWKS file, and refuses it with
// one changed byte.
func TestReceiptVerifyNotice(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	key, err := receipt.LoadOrCreateKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := receipt.NewSigner(key)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := signer.SignNotice(&receipt.Notice{Version: receipt.NoticeVersion, IncidentID: "inc_1", SubjectID: "cust-1", Language: "fr",
		IssuedAt: 1764000000, Controller: "Boutique", Title: "Avis important",
		Sections: []receipt.NoticeSection{{Key: "happened", Heading: "Ce qui s'est passé", Text: "Un ordinateur a été volé."}}})
	if err != nil {
		t.Fatal(err)
	}
	file, jwksFile := filepath.Join(dir, "breach-notice-inc_1.jws"), filepath.Join(dir, "jwks.json")
	if err := os.WriteFile(file, []byte(jws+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(jwksFile, signer.JWKS(), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"--data-dir", dir, file}, {"--jwks", jwksFile, file}} {
		stdout, stderr, err := runCLI(t, "", append([]string{"receipt", "verify"}, args...)...)
		if err != nil || !strings.Contains(stdout, `"subjectId": "cust-1"`) || !strings.Contains(stdout, "Un ordinateur a été volé.") ||
			!strings.Contains(stderr, "notice verifies") {
			t.Fatalf("verify %v: %v\n%s\n%s", args, err, stdout, stderr)
		}
	}
	for i := range jws {
		if jws[i] == '.' {
			continue
		}
		b := []byte(jws)
		b[i] ^= 0x01
		if _, _, err := runCLI(t, string(b), "receipt", "verify", "--jwks", jwksFile, "-"); err == nil || !strings.Contains(err.Error(), "does not verify") {
			t.Fatalf("byte %d changed: %v", i, err)
		}
	}
}
