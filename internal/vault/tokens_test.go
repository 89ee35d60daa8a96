package vault_test

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/vault"
)

var tokenPattern = regexp.MustCompile(`^tok_[A-Za-z0-9_-]{32}$`)

func TestTokens(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		clk := newClock()
		v := MustOpen(t, store, MustKeyring(t, keyText(1)), func(c *vault.Config) { c.Now = clk.Now })
		MustPut(t, v, "subj-1", "iban", "financial", "DE89370400440532013000")
		MustPut(t, v, "subj-1", "email", "contact", "ada@example.org")

		token, err := v.Tokenize(ctx, "subj-1", "iban")
		if err != nil {
			t.Fatal(err)
		}
		if !tokenPattern.MatchString(token) {
			t.Fatalf("token %q does not match %s", token, tokenPattern)
		}
		other, err := v.Tokenize(ctx, "subj-1", "iban")
		if err != nil || other == token {
			t.Fatalf("second token %q, %v: want a new one", other, err)
		}
		rec, err := v.Detokenize(ctx, token)
		if err != nil || string(rec.Value) != "DE89370400440532013000" || rec.Subject != "subj-1" || rec.Name != "iban" {
			t.Fatalf("Detokenize = %v %q, %v", rec, rec.Value, err)
		}
		if strings.Contains(dump(t, store), token[len(vault.TokenPrefix):]) {
			t.Fatal("the token is stored in clear")
		}

		t.Run("updated field", func(t *testing.T) {
			MustPut(t, v, "subj-1", "iban", "financial", "GB29NWBK60161331926819")
			rec, err := v.Detokenize(ctx, token)
			if err != nil || string(rec.Value) != "GB29NWBK60161331926819" {
				t.Fatalf("Detokenize after update = %q, %v", rec.Value, err)
			}
		})

		t.Run("unknown and malformed tokens", func(t *testing.T) {
			for _, bad := range []string{
				"", "tok_", "tok_" + strings.Repeat("A", 31), "tok_" + strings.Repeat("A", 32), "TOK_" + token[4:],
				"tok_" + strings.Repeat("!", 32), token + "x", strings.Replace(token, "tok_", "tkn_", 1),
			} {
				_, err := v.Detokenize(ctx, bad)
				if !errors.Is(err, vault.ErrTokenNotFound) || errs.CodeOf(err) != errs.CodeNotFound {
					t.Errorf("Detokenize(%q) = %v, want token not found", bad, err)
				}
				if bad != "" && strings.Contains(err.Error(), bad) {
					t.Errorf("error repeats the token: %v", err)
				}
			}
		})

		t.Run("revoke", func(t *testing.T) {
			if err := v.RevokeToken(ctx, other); err != nil {
				t.Fatal(err)
			}
			if _, err := v.Detokenize(ctx, other); !errors.Is(err, vault.ErrTokenNotFound) {
				t.Fatalf("revoked token: %v", err)
			}
			if err := v.RevokeToken(ctx, other); !errors.Is(err, vault.ErrTokenNotFound) {
				t.Fatalf("second revoke: %v", err)
			}
			if _, err := v.Detokenize(ctx, token); err != nil {
				t.Fatalf("the other token died with the revoked one: %v", err)
			}
		})

		t.Run("deleted field", func(t *testing.T) {
			emailToken, err := v.Tokenize(ctx, "subj-1", "email")
			if err != nil {
				t.Fatal(err)
			}
			if err := v.Delete(ctx, "subj-1", "email"); err != nil {
				t.Fatal(err)
			}
			MustPut(t, v, "subj-1", "email", "contact", "new@example.org") // does not revive the token
			if _, err := v.Detokenize(ctx, emailToken); !errors.Is(err, vault.ErrTokenNotFound) {
				t.Fatalf("token of a deleted field: %v", err)
			}
		})

		t.Run("missing field", func(t *testing.T) {
			if _, err := v.Tokenize(ctx, "subj-1", "passport"); !errs.Is(err, errs.CodeNotFound) {
				t.Fatalf("Tokenize of a missing field: %v", err)
			}
			if _, err := v.Tokenize(ctx, "nobody", "iban"); !errs.Is(err, errs.CodeNotFound) {
				t.Fatalf("Tokenize of a missing subject: %v", err)
			}
		})

		t.Run("expired field", func(t *testing.T) {
			_, err := v.Put(ctx, "subj-2", vault.Field{Name: "location", Category: "location", Value: []byte("52.52,13.40"), ExpiresAt: clk.Now().Add(time.Hour)})
			if err != nil {
				t.Fatal(err)
			}
			tok, err := v.Tokenize(ctx, "subj-2", "location")
			if err != nil {
				t.Fatal(err)
			}
			clk.Advance(2 * time.Hour)
			if _, err := v.Detokenize(ctx, tok); !errs.Is(err, errs.CodeNotFound) {
				t.Fatalf("Detokenize of an expired field: %v", err)
			}
			if _, err := v.Tokenize(ctx, "subj-2", "location"); !errs.Is(err, errs.CodeNotFound) {
				t.Fatalf("Tokenize of an expired field: %v", err)
			}
		})
	})
}
