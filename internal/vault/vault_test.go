package vault_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/vault"
)

func TestParseKeyring(t *testing.T) {
	k1, k2 := vault.GenerateKey(), vault.GenerateKey()
	short := "c2hvcnQ=" // "short"
	tests := []struct {
		name     string
		text     string
		versions []int
		wantErr  string
	}{
		{name: "bare key is version 1", text: k1, versions: []int{1}},
		{name: "bare key with newline", text: k1 + "\n", versions: []int{1}},
		{name: "versions with commas", text: "1:" + k1 + ",2:" + k2, versions: []int{1, 2}},
		{name: "key file with comments", text: "# steward master keys\n\n2:" + k2 + "\n1:" + k1 + "\n", versions: []int{1, 2}},
		{name: "url-safe unpadded", text: "3:" + strings.TrimRight(strings.NewReplacer("+", "-", "/", "_").Replace(k1), "="), versions: []int{3}},
		{name: "empty", text: "  \n# nothing\n", wantErr: "no key given"},
		{name: "not base64", text: "1:***", wantErr: "not base64"},
		{name: "wrong length", text: "1:" + short, wantErr: "5 bytes, want 32"},
		{name: "duplicate version", text: "1:" + k1 + ",1:" + k2, wantErr: "given twice"},
		{name: "version zero", text: "0:" + k1, wantErr: "out of range"},
		{name: "bad version", text: "x:" + k1, wantErr: "not a number"},
		{name: "several without versions", text: k1 + "," + k2, wantErr: "VERSION:BASE64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ring, err := vault.ParseKeyring(tt.text)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				for _, secret := range []string{k1, k2, short} {
					if strings.Contains(err.Error(), secret) {
						t.Fatalf("error quotes key material: %v", err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := ring.Versions(); fmt.Sprint(got) != fmt.Sprint(tt.versions) {
				t.Fatalf("versions = %v, want %v", got, tt.versions)
			}
		})
	}

	t.Run("check values", func(t *testing.T) {
		a, b := MustKeyring(t, "1:"+k1+",2:"+k2), MustKeyring(t, "1:"+k1)
		ca1, _ := a.CheckValue(1)
		ca2, _ := a.CheckValue(2)
		cb1, _ := b.CheckValue(1)
		if ca1 != cb1 || ca1 == ca2 || len(ca1) != 32 {
			t.Fatalf("check values: same key %s/%s, other key %s", ca1, cb1, ca2)
		}
		if _, ok := b.CheckValue(2); ok {
			t.Fatal("CheckValue of a missing version reports ok")
		}
	})

	t.Run("file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "master.key")
		if err := os.WriteFile(path, []byte("1:"+k1+"\n2:"+k2+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		ring, err := vault.LoadKeyringFile(path)
		if err != nil || ring.Latest() != 2 {
			t.Fatalf("LoadKeyringFile = %v, %v", ring.Versions(), err)
		}
		if _, err := vault.LoadKeyringFile(path + ".missing"); err == nil {
			t.Fatal("missing file: no error")
		}
	})
}

func TestRoundTrip(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		clk := newClock()
		v := MustOpen(t, store, MustKeyring(t, keyText(1)), func(c *vault.Config) { c.Now = clk.Now })
		binary := make([]byte, 256)
		for i := range binary {
			binary[i] = byte(i)
		}
		tests := []struct {
			name     string
			subject  string
			field    string
			category string
			value    []byte
		}{
			{"text", "subj-1", "email", "contact", []byte("ada@example.org")},
			{"binary with NULs", "subj-1", "photo.hash", "biometric", binary},
			{"unicode", "subj-1", "address", "location", []byte("Straße 1, 10115 Berlin — ☂")},
			{"empty value", "subj-1", "middle_name", "contact", []byte{}},
			{"largest value", "subj-2", "scan", "government_id", bytes.Repeat([]byte{0xA5}, vault.DefaultMaxValueSize)},
			{"subject with punctuation", "ext:crm@acme+1=x.y-z", "iban", "financial", []byte("DE89370400440532013000")},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				info, err := v.Put(ctx, tt.subject, vault.Field{Name: tt.field, Category: tt.category, Value: tt.value})
				if err != nil {
					t.Fatal(err)
				}
				if info.Size != len(tt.value) || info.Category != tt.category || !info.CreatedAt.Equal(clk.Now()) {
					t.Fatalf("Put info = %+v", info)
				}
				rec, err := v.Get(ctx, tt.subject, tt.field)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(rec.Value, tt.value) || rec.Subject != tt.subject || rec.Name != tt.field || rec.Category != tt.category {
					t.Fatalf("Get = %v (value %d bytes), want %d bytes", rec, len(rec.Value), len(tt.value))
				}
				stored := rawBytes(t, store, `SELECT ciphertext FROM vault_fields WHERE subject_id = $1 AND name = $2`, tt.subject, tt.field)
				if len(stored) != len(tt.value)+29 || (len(tt.value) >= 8 && bytes.Contains(stored, tt.value[:8])) {
					t.Fatalf("stored ciphertext: %d bytes for %d, or holds plaintext", len(stored), len(tt.value))
				}
			})
		}

		t.Run("replace keeps created_at", func(t *testing.T) {
			first := MustPut(t, v, "subj-3", "phone", "contact", "+49 30 1234")
			clk.Advance(time.Minute)
			second := MustPut(t, v, "subj-3", "phone", "contact", "+49 30 5678")
			if !second.CreatedAt.Equal(first.CreatedAt) || !second.UpdatedAt.Equal(clk.Now()) {
				t.Fatalf("replace: created %v → %v, updated %v", first.CreatedAt, second.CreatedAt, second.UpdatedAt)
			}
			rec, err := v.Get(ctx, "subj-3", "phone")
			if err != nil || string(rec.Value) != "+49 30 5678" {
				t.Fatalf("Get after replace = %q, %v", rec.Value, err)
			}
		})

		t.Run("list is metadata only", func(t *testing.T) {
			list, err := v.List(ctx, "subj-1")
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, f := range list {
				names = append(names, f.Name)
			}
			if got := strings.Join(names, ","); got != "address,email,middle_name,photo.hash" {
				t.Fatalf("List names = %s", got)
			}
			if list, err := v.List(ctx, "nobody"); err != nil || len(list) != 0 {
				t.Fatalf("List(nobody) = %v, %v; want empty", list, err)
			}
		})

		t.Run("delete", func(t *testing.T) {
			if err := v.Delete(ctx, "subj-1", "email"); err != nil {
				t.Fatal(err)
			}
			if _, err := v.Get(ctx, "subj-1", "email"); !errs.Is(err, errs.CodeNotFound) {
				t.Fatalf("Get after Delete: %v, want not_found", err)
			}
			if err := v.Delete(ctx, "subj-1", "email"); !errs.Is(err, errs.CodeNotFound) {
				t.Fatalf("second Delete: %v, want not_found", err)
			}
			if _, err := v.Get(ctx, "subj-1", "address"); err != nil {
				t.Fatalf("other field after Delete: %v", err)
			}
		})
	})
}

func TestPutValidation(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		clk := newClock()
		v := MustOpen(t, store, MustKeyring(t, keyText(1)), func(c *vault.Config) {
			c.Now = clk.Now
			c.Categories = []string{"contact", "financial"}
		})
		tests := []struct {
			name    string
			subject string
			field   vault.Field
			bad     []string
		}{
			{"empty subject", "", vault.Field{Name: "email", Category: "contact"}, []string{"subject"}},
			{"subject with space", "a b", vault.Field{Name: "email", Category: "contact"}, []string{"subject"}},
			{"long subject", strings.Repeat("s", 129), vault.Field{Name: "email", Category: "contact"}, []string{"subject"}},
			{"upper-case name", "s", vault.Field{Name: "Email", Category: "contact"}, []string{"name"}},
			{"name with slash", "s", vault.Field{Name: "a/b", Category: "contact"}, []string{"name"}},
			{"long name", "s", vault.Field{Name: "a" + strings.Repeat("b", 64), Category: "contact"}, []string{"name"}},
			{"unknown category", "s", vault.Field{Name: "email", Category: "health"}, []string{"category"}},
			{"value too large", "s", vault.Field{Name: "email", Category: "contact", Value: make([]byte, vault.DefaultMaxValueSize+1)}, []string{"value"}},
			{"expiry in the past", "s", vault.Field{Name: "email", Category: "contact", ExpiresAt: clk.Now().Add(-time.Second)}, []string{"expires_at"}},
			{"everything wrong", "", vault.Field{Name: "", Category: ""}, []string{"subject", "name", "category"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := v.Put(ctx, tt.subject, tt.field)
				e, ok := errs.As(err)
				if !ok || e.Code != errs.CodeInvalid {
					t.Fatalf("err = %v, want invalid", err)
				}
				for _, f := range tt.bad {
					if _, ok := e.Fields[f]; !ok {
						t.Errorf("fields %v do not name %q", e.Fields, f)
					}
				}
				if len(e.Fields) != len(tt.bad) {
					t.Errorf("fields %v, want exactly %v", e.Fields, tt.bad)
				}
			})
		}
		if got := v.Categories(); fmt.Sprint(got) != "[contact financial]" {
			t.Fatalf("Categories = %v", got)
		}
	})
}

func TestSealed(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		ring := MustKeyring(t, keyText(1, 2))
		// Set the store up with a key first, then open it sealed.
		setup := MustOpen(t, store, ring)
		MustPut(t, setup, "subj-1", "email", "contact", "ada@example.org")
		token, err := setup.Tokenize(ctx, "subj-1", "email")
		if err != nil {
			t.Fatal(err)
		}

		v := MustOpen(t, store, nil)
		if !v.Sealed() {
			t.Fatal("vault without keyring is not sealed")
		}
		sealedOps := map[string]func() error{
			"Put": func() error {
				_, err := v.Put(ctx, "subj-1", vault.Field{Name: "email", Category: "contact", Value: []byte("x")})
				return err
			},
			"Get":         func() error { _, err := v.Get(ctx, "subj-1", "email"); return err },
			"Delete":      func() error { return v.Delete(ctx, "subj-1", "email") },
			"List":        func() error { _, err := v.List(ctx, "subj-1"); return err },
			"Tokenize":    func() error { _, err := v.Tokenize(ctx, "subj-1", "email"); return err },
			"Detokenize":  func() error { _, err := v.Detokenize(ctx, token); return err },
			"RevokeToken": func() error { return v.RevokeToken(ctx, token) },
			"RotateKEK":   func() error { _, err := v.RotateKEK(ctx, 2, nil); return err },
		}
		for name, op := range sealedOps {
			t.Run(name, func(t *testing.T) {
				err := op()
				if !errors.Is(err, vault.ErrSealed) || errs.CodeOf(err) != errs.CodeUnavailable || err.Error() != "sealed" {
					t.Fatalf("err = %v (code %s), want unavailable \"sealed\"", err, errs.CodeOf(err))
				}
			})
		}
		// Nothing needs a key to destroy data or read key status.
		if _, err := v.KeyStatus(ctx); err != nil {
			t.Errorf("KeyStatus while sealed: %v", err)
		}
		if _, err := v.PurgeExpired(ctx); err != nil {
			t.Errorf("PurgeExpired while sealed: %v", err)
		}
		if _, err := v.Erasures(ctx, time.Time{}); err != nil {
			t.Errorf("Erasures while sealed: %v", err)
		}

		if err := v.Unseal(ctx, ring); err != nil {
			t.Fatal(err)
		}
		if rec, err := v.Get(ctx, "subj-1", "email"); err != nil || string(rec.Value) != "ada@example.org" {
			t.Fatalf("Get after Unseal = %q, %v", rec.Value, err)
		}
		v.Seal()
		if _, err := v.Get(ctx, "subj-1", "email"); !errors.Is(err, vault.ErrSealed) {
			t.Fatalf("Get after Seal: %v", err)
		}
		if _, err := v.EraseSubject(ctx, "subj-1"); err != nil {
			t.Fatalf("EraseSubject while sealed: %v", err)
		}
		if err := v.Unseal(ctx, ring); err != nil {
			t.Fatal(err)
		}
		if _, err := v.Get(ctx, "subj-1", "email"); !errors.Is(err, vault.ErrErased) {
			t.Fatalf("Get after sealed erasure: %v, want erased", err)
		}
	})
}

func TestOpenRefusesMisconfiguredKeyring(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		MustOpen(t, store, MustKeyring(t, keyText(1))) // registers version 1
		tests := []struct {
			name    string
			ring    string
			wantErr string
		}{
			{"other key as version 1", keyText(1), "not the key this store recorded"},
			{"active version missing", keyText(2), "active KEK version 1 is not in the keyring"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := vault.Open(ctx, vault.Config{DB: store, Keyring: MustKeyring(t, tt.ring)})
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Open err = %v, want %q", err, tt.wantErr)
				}
			})
		}
	})
}

func TestConcurrentFirstPut(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		v := MustOpen(t, store, MustKeyring(t, keyText(1)), func(c *vault.Config) { c.CacheSize = -1 })
		var wg sync.WaitGroup
		errCh := make(chan error, 8)
		for i := range 8 {
			wg.Go(func() {
				_, err := v.Put(ctx, "subj-new", vault.Field{Name: fmt.Sprintf("f%d", i), Category: "contact", Value: []byte(fmt.Sprint(i))})
				errCh <- err
			})
		}
		wg.Wait()
		close(errCh)
		for err := range errCh {
			if err != nil {
				t.Fatalf("concurrent Put: %v", err)
			}
		}
		for i := range 8 {
			rec, err := v.Get(ctx, "subj-new", fmt.Sprintf("f%d", i))
			if err != nil || string(rec.Value) != fmt.Sprint(i) {
				t.Fatalf("Get f%d = %q, %v", i, rec.Value, err)
			}
		}
	})
}

func TestValuesAreRedacted(t *testing.T) {
	secret := "DE89370400440532013000"
	rec := vault.Record{FieldInfo: vault.FieldInfo{Subject: "s", Name: "iban", Category: "financial", Size: len(secret)}, Value: []byte(secret)}
	field := vault.Field{Name: "iban", Category: "financial", Value: []byte(secret)}
	var logged bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logged, nil))
	logger.Info("x", "record", rec, "field", field)
	for _, out := range []string{
		fmt.Sprintf("%v %+v %#v %s", rec, rec, rec, rec),
		fmt.Sprintf("%v %+v %#v %s", field, field, field, field),
		fmt.Sprintf("%v", []vault.Record{rec}),
		logged.String(),
	} {
		if strings.Contains(out, secret) || strings.Contains(out, fmt.Sprint([]byte(secret))) {
			t.Fatalf("value printed: %s", out)
		}
		if !strings.Contains(out, "redacted") {
			t.Fatalf("no redaction marker: %s", out)
		}
	}
}
