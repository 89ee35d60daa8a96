package vault_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/vault"
)

// tamperFixture is a vault with two subjects of two fields each.
type tamperFixture struct {
	store  *db.DB
	v      *vault.Vault
	values map[string]string // subject/field → plaintext
}

func newTamperFixture(t *testing.T, store *db.DB) *tamperFixture {
	t.Helper()
	f := &tamperFixture{store: store, v: MustOpen(t, store, MustKeyring(t, keyText(1, 2))), values: map[string]string{
		"alice/iban":  "DE89370400440532013000",
		"alice/email": "alice@example.org",
		"bob/iban":    "GB29NWBK60161331926819",
		"bob/email":   "bob@example.org",
	}}
	for key, value := range f.values {
		subject, field, _ := strings.Cut(key, "/")
		MustPut(t, f.v, subject, field, map[string]string{"iban": "financial", "email": "contact"}[field], value)
	}
	return f
}

// mustNotOpen reads subject/field and fails t unless the read errs with
// ErrCorrupt and returns no plaintext, neither in the record nor in the
// error. It returns the number of leaks (0 or 1).
func (f *tamperFixture) mustNotOpen(t *testing.T, what, subject, field string) int {
	t.Helper()
	rec, err := f.v.Get(context.Background(), subject, field)
	leaks := 0
	if err == nil || rec.Value != nil {
		leaks = 1
		t.Errorf("%s: Get(%s, %s) opened (%d bytes), err %v", what, subject, field, len(rec.Value), err)
	} else if !errors.Is(err, vault.ErrCorrupt) {
		t.Errorf("%s: Get(%s, %s) err = %v, want ErrCorrupt", what, subject, field, err)
	}
	if err != nil {
		for _, plain := range f.values {
			if strings.Contains(err.Error(), plain) {
				leaks++
				t.Errorf("%s: error holds plaintext: %v", what, err)
			}
		}
	}
	return leaks
}

func (f *tamperFixture) mustOpen(t *testing.T, subject, field string) {
	t.Helper()
	rec, err := f.v.Get(context.Background(), subject, field)
	if err != nil || string(rec.Value) != f.values[subject+"/"+field] {
		t.Fatalf("Get(%s, %s) after restoring = %v", subject, field, err)
	}
}

// TestTamperSweep flips every byte of stored ciphertexts (format byte,
// nonce, ciphertext, tag) and of wrapped data keys, one at a time, with the
// data-key cache warm, and checks that nothing opens.
func TestTamperSweep(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		f := newTamperFixture(t, store)
		leaks, tries := 0, 0
		sweep := func(what, selectQ, updateQ, subject, field string, args ...any) {
			original := rawBytes(t, store, selectQ, args...)
			for i := range original {
				for _, mask := range []byte{0xFF, 0x01} {
					tampered := bytes.Clone(original)
					tampered[i] ^= mask
					mustExec(t, store, updateQ, append([]any{tampered}, args...)...)
					leaks += f.mustNotOpen(t, fmt.Sprintf("%s byte %d ^%#x", what, i, mask), subject, field)
					tries++
				}
			}
			for _, tampered := range [][]byte{original[:len(original)-1], append(bytes.Clone(original), 0), original[:1], {}} {
				mustExec(t, store, updateQ, append([]any{tampered}, args...)...)
				leaks += f.mustNotOpen(t, fmt.Sprintf("%s resized to %d", what, len(tampered)), subject, field)
				tries++
			}
			mustExec(t, store, updateQ, append([]any{original}, args...)...)
			f.mustOpen(t, subject, field)
		}
		for _, key := range []string{"alice/iban", "alice/email", "bob/iban"} {
			subject, field, _ := strings.Cut(key, "/")
			f.mustOpen(t, subject, field) // warms the cache
			sweep("ciphertext of "+key,
				`SELECT ciphertext FROM vault_fields WHERE subject_id = $1 AND name = $2`,
				`UPDATE vault_fields SET ciphertext = $1 WHERE subject_id = $2 AND name = $3`, subject, field, subject, field)
		}
		for _, subject := range []string{"alice", "bob"} {
			sweep("wrapped key of "+subject,
				`SELECT wrapped FROM vault_keys WHERE subject_id = $1`,
				`UPDATE vault_keys SET wrapped = $1 WHERE subject_id = $2`, subject, "iban", subject)
		}
		t.Logf("%d tampered reads, %d plaintext leaks", tries, leaks)
		if leaks != 0 {
			t.Fatalf("%d plaintext leaks", leaks)
		}
	})
}

// TestMovedCiphertexts swaps stored values and keys between subjects,
// between fields and between versions.
func TestMovedCiphertexts(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		f := newTamperFixture(t, store)
		cipher := func(subject, field string) []byte {
			return rawBytes(t, store, `SELECT ciphertext FROM vault_fields WHERE subject_id = $1 AND name = $2`, subject, field)
		}
		wrapped := func(subject string) []byte {
			return rawBytes(t, store, `SELECT wrapped FROM vault_keys WHERE subject_id = $1`, subject)
		}
		setCipher := func(subject, field string, b []byte) {
			mustExec(t, store, `UPDATE vault_fields SET ciphertext = $1 WHERE subject_id = $2 AND name = $3`, b, subject, field)
		}
		setWrapped := func(subject string, b []byte) {
			mustExec(t, store, `UPDATE vault_keys SET wrapped = $1 WHERE subject_id = $2`, b, subject)
		}
		aliceIBAN, aliceEmail, bobIBAN := cipher("alice", "iban"), cipher("alice", "email"), cipher("bob", "iban")
		aliceKey, bobKey := wrapped("alice"), wrapped("bob")
		tests := []struct {
			name    string
			tamper  func()
			restore func()
			reads   [][2]string
		}{
			{
				name:    "value moved to another subject, same field",
				tamper:  func() { setCipher("bob", "iban", aliceIBAN) },
				restore: func() { setCipher("bob", "iban", bobIBAN) },
				reads:   [][2]string{{"bob", "iban"}},
			},
			{
				name:    "values swapped between fields of one subject",
				tamper:  func() { setCipher("alice", "iban", aliceEmail); setCipher("alice", "email", aliceIBAN) },
				restore: func() { setCipher("alice", "iban", aliceIBAN); setCipher("alice", "email", aliceEmail) },
				reads:   [][2]string{{"alice", "iban"}, {"alice", "email"}},
			},
			{
				name:    "wrapped keys swapped between subjects",
				tamper:  func() { setWrapped("alice", bobKey); setWrapped("bob", aliceKey) },
				restore: func() { setWrapped("alice", aliceKey); setWrapped("bob", bobKey) },
				reads:   [][2]string{{"alice", "iban"}, {"bob", "iban"}},
			},
			{
				name: "key and value both moved to another subject",
				tamper: func() {
					setWrapped("bob", aliceKey)
					setCipher("bob", "iban", aliceIBAN)
				},
				restore: func() { setWrapped("bob", bobKey); setCipher("bob", "iban", bobIBAN) },
				reads:   [][2]string{{"bob", "iban"}},
			},
			{
				name:    "key relabelled with another KEK version",
				tamper:  func() { mustExec(t, store, `UPDATE vault_keys SET kek_version = 1 WHERE subject_id = 'alice'`) },
				restore: func() { mustExec(t, store, `UPDATE vault_keys SET kek_version = 2 WHERE subject_id = 'alice'`) },
				reads:   [][2]string{{"alice", "iban"}},
			},
			{
				name: "data key version changed on key and value",
				tamper: func() {
					mustExec(t, store, `UPDATE vault_keys SET dek_version = 2 WHERE subject_id = 'alice'`)
					mustExec(t, store, `UPDATE vault_fields SET dek_version = 2 WHERE subject_id = 'alice'`)
				},
				restore: func() {
					mustExec(t, store, `UPDATE vault_keys SET dek_version = 1 WHERE subject_id = 'alice'`)
					mustExec(t, store, `UPDATE vault_fields SET dek_version = 1 WHERE subject_id = 'alice'`)
				},
				reads: [][2]string{{"alice", "iban"}, {"alice", "email"}},
			},
			{
				name: "value's data key version changed",
				tamper: func() {
					mustExec(t, store, `UPDATE vault_fields SET dek_version = 2 WHERE subject_id = 'alice' AND name = 'iban'`)
				},
				restore: func() {
					mustExec(t, store, `UPDATE vault_fields SET dek_version = 1 WHERE subject_id = 'alice' AND name = 'iban'`)
				},
				reads: [][2]string{{"alice", "iban"}},
			},
		}
		leaks := 0
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				for _, r := range [][2]string{{"alice", "iban"}, {"bob", "iban"}} {
					f.mustOpen(t, r[0], r[1]) // warm cache
				}
				tt.tamper()
				for _, r := range tt.reads {
					leaks += f.mustNotOpen(t, tt.name, r[0], r[1])
				}
				tt.restore()
				for _, r := range [][2]string{{"alice", "iban"}, {"alice", "email"}, {"bob", "iban"}} {
					f.mustOpen(t, r[0], r[1])
				}
			})
		}
		if leaks != 0 {
			t.Fatalf("%d plaintext leaks", leaks)
		}
	})
}
