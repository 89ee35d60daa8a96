package audit

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

// TestSignedNoteInterop checks the signed-note code against the test vector
// of golang.org/x/mod/sumdb/note (the reference implementation of the
// signed-note format): the same key gives the same verifier key and the same
// signature line.
func TestSignedNoteInterop(t *testing.T) {
	const (
		skey = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
		vkey = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
		text = "If you think cryptography is the answer to your problem,\n" +
			"then you don't know what your problem is.\n"
		signed = text + "\n" +
			"— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
	)
	parts := strings.SplitN(skey, "+", 5)
	seed, err := base64.StdEncoding.DecodeString(parts[4])
	if err != nil || len(seed) != 33 || seed[0] != algEd25519 {
		t.Fatalf("test vector key: %v", err)
	}
	signer, err := NewSigner("PeterNeumann", ed25519.NewKeyFromSeed(seed[1:]))
	if err != nil {
		t.Fatal(err)
	}
	if got := signer.VerifierKey(); got != vkey {
		t.Errorf("VerifierKey = %s, want %s", got, vkey)
	}
	note, err := signer.Sign(text)
	if err != nil {
		t.Fatal(err)
	}
	if string(note) != signed {
		t.Errorf("Sign:\n%s\nwant:\n%s", note, signed)
	}
	v, err := NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	got, by, err := OpenNote([]byte(signed), v)
	if err != nil || got != text || by != v {
		t.Fatalf("OpenNote = %q, %v, %v", got, by, err)
	}
}

func TestCheckpointSignatures(t *testing.T) {
	signer := newSigner(t, "a")
	other := newSigner(t, "b") // same name, another key: a forger's
	root := Hash{1, 2, 3}
	cp, note, err := signer.SignCheckpoint(1000, root)
	if err != nil {
		t.Fatal(err)
	}
	if want := "steward.test/audit\n1000\n" + root.Base64() + "\n\n— steward.test/audit "; !strings.HasPrefix(string(note), want) {
		t.Fatalf("note:\n%s\nwant it to start with:\n%s", note, want)
	}
	got, v, err := OpenCheckpoint(note, signer.Verifier())
	if err != nil || got != cp || v != signer.Verifier() {
		t.Fatalf("OpenCheckpoint = %+v, %v, %v; want %+v", got, v, err, cp)
	}
	vkey, err := NewVerifier(signer.VerifierKey())
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := OpenCheckpoint(note, vkey); err != nil {
		t.Fatalf("OpenCheckpoint with the parsed vkey: %v", err)
	}

	// Any changed byte fails.
	for i := range note {
		changed := []byte(string(note))
		changed[i] ^= 0x01
		if c, _, err := OpenCheckpoint(changed, signer.Verifier()); err == nil {
			t.Fatalf("byte %d changed (%q): still verifies as %+v", i, changed, c)
		}
	}

	// A checkpoint forged with another key fails, even under the same name,
	// as does one that only the forger signed alongside the real signature.
	_, forged, err := other.SignCheckpoint(2000, Hash{9})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := OpenCheckpoint(forged, signer.Verifier()); !errors.Is(err, ErrUnverifiedNote) {
		t.Fatalf("forged checkpoint: %v, want ErrUnverifiedNote", err)
	}
	// A forger who copies the real key ID into the signature line gets an
	// invalid signature, not a pass.
	line := strings.TrimPrefix(strings.TrimSuffix(string(forged[strings.LastIndex(string(forged), "\n\n")+2:]), "\n"), "— steward.test/audit ")
	sig, _ := base64.StdEncoding.DecodeString(line)
	real, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(strings.TrimSuffix(string(note[strings.LastIndex(string(note), "\n\n")+2:]), "\n"), "— steward.test/audit "))
	copy(sig, real[:4])
	spoofed := strings.Replace(string(forged), line, base64.StdEncoding.EncodeToString(sig), 1)
	if _, _, err := OpenCheckpoint([]byte(spoofed), signer.Verifier()); !errors.Is(err, ErrInvalidSignature) {
		t.Fatalf("forged checkpoint with the real key ID: %v, want ErrInvalidSignature", err)
	}
	// An unknown key's extra signature is ignored.
	cosigned := string(note) + strings.TrimPrefix(string(forged[strings.LastIndex(string(forged), "\n\n")+1:]), "\n")
	if _, _, err := OpenCheckpoint([]byte(cosigned), signer.Verifier()); err != nil {
		t.Fatalf("note with an extra unknown signature: %v", err)
	}
}

func TestNewVerifierRefusesManglings(t *testing.T) {
	good := newSigner(t, "a").VerifierKey()
	if _, err := NewVerifier(good); err != nil {
		t.Fatal(err)
	}
	for i := range len(good) {
		b := []byte(good)
		b[i]++
		if _, err := NewVerifier(string(b)); err == nil {
			t.Errorf("NewVerifier accepted %q (byte %d changed)", b, i)
		}
	}
	for _, bad := range []string{"", "name", "name+1234abcd", good[:len(good)-1], "a b" + good[strings.Index(good, "+"):]} {
		if _, err := NewVerifier(bad); err == nil {
			t.Errorf("NewVerifier accepted %q", bad)
		}
	}
	for _, name := range []string{"", "a b", "a+b", "tab\there"} {
		if _, err := NewSigner(name, testKey("a")); err == nil {
			t.Errorf("NewSigner accepted the name %q", name)
		}
	}
}

func TestParseCheckpoint(t *testing.T) {
	root := Hash{7}
	tests := []struct {
		text string
		ok   bool
	}{
		{"o\n5\n" + root.Base64() + "\n", true},
		{"o\n0\n" + GenesisHash.Base64() + "\n", true},
		{"o\n5\n" + root.Base64() + "\nextension\n", true},
		{"o\n05\n" + root.Base64() + "\n", false},
		{"o\n-5\n" + root.Base64() + "\n", false},
		{"o\n5\n" + root.Base64(), false},
		{"o\n5\n" + base64.StdEncoding.EncodeToString(root[:31]) + "\n", false},
		{"\n5\n" + root.Base64() + "\n", false},
		{"o\n5\n", false},
	}
	for _, tt := range tests {
		_, err := ParseCheckpoint(tt.text)
		if (err == nil) != tt.ok {
			t.Errorf("ParseCheckpoint(%q): %v, want ok=%v", tt.text, err, tt.ok)
		}
	}
}
