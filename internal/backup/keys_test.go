package backup

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSigningKeyIsMadeOnceWithMode0600(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	first, err := LoadOrCreateSigningKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(filepath.Join(dir, SigningKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v", info.Mode().Perm())
	}
	again, err := LoadOrCreateSigningKey(dir)
	if err != nil || !first.Equal(again) {
		t.Fatalf("second load gave another key (%v)", err)
	}
	broken := t.TempDir()
	os.WriteFile(filepath.Join(broken, SigningKeyFile), []byte("not a key"), 0o600)
	if _, err := LoadOrCreateSigningKey(broken); err == nil {
		t.Fatal("a broken key file was accepted (or replaced)")
	}
}

func TestGeneratedIdentityDecryptsItsRecipientsBackups(t *testing.T) {
	ctx := context.Background()
	var file bytes.Buffer
	recipient, err := GenerateIdentity(&file)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(recipient, "age1") || !strings.Contains(file.String(), "# public key: "+recipient) ||
		!strings.Contains(file.String(), "AGE-SECRET-KEY-1") {
		t.Fatalf("identity file:\n%s", file.String())
	}
	path := filepath.Join(t.TempDir(), "offline.key")
	if err := os.WriteFile(path, file.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	identities, err := ParseIdentityFile(path)
	if err != nil {
		t.Fatal(err)
	}
	recipients, err := ParseRecipients([]string{" " + recipient + "\n"})
	if err != nil {
		t.Fatal(err)
	}
	_, signer, _ := ed25519.GenerateKey(nil)
	d, _ := mustDir(t)
	data := syntheticLines(100)
	m, err := Create(ctx, d, CreateOptions{Recipients: recipients, Signer: signer}, dumpOf(data, 100))
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Recipients) != 1 || m.Recipients[0] != recipient {
		t.Fatalf("manifest recipients %v", m.Recipients)
	}
	_, r, err := Open(ctx, d, m.ID, []ed25519.PublicKey{signer.Public().(ed25519.PublicKey)}, identities)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read %d bytes, %v", len(got), err)
	}
}

func TestParseRecipientsNamesTheBadOne(t *testing.T) {
	var sink bytes.Buffer
	good, _ := GenerateIdentity(&sink)
	tests := []struct {
		name string
		in   []string
		want string // in the error; "" for none
	}{
		{"one good", []string{good}, ""},
		{"none", nil, "at least one"},
		{"second bad", []string{good, "age1nope"}, "recipient 2"},
		{"a secret key instead", []string{strings.TrimSpace(sink.String()[strings.Index(sink.String(), "AGE-SECRET"):])}, "recipient 1"},
		{"two in one", []string{good + "\n" + good}, "recipient 1"},
		{"empty", []string{" "}, "recipient 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseRecipients(tt.in)
			if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Fatalf("err %v, want %q", err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), "AGE-SECRET-KEY") {
				t.Fatalf("the error repeats a secret key: %v", err)
			}
		})
	}
}

func TestParseIdentityFileDoesNotRepeatTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.key")
	os.WriteFile(path, []byte("AGE-SECRET-KEY-1NOTREALLYAKEYBUTSECRETLOOKING\n"), 0o600)
	_, err := ParseIdentityFile(path)
	if err == nil || strings.Contains(err.Error(), "NOTREALLY") {
		t.Fatalf("err %v", err)
	}
	if _, err := ParseIdentityFile(filepath.Join(t.TempDir(), "none")); err == nil {
		t.Fatal("a missing file was accepted")
	}
}
