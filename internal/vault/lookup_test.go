package vault_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/errs"
)

func TestFind(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		keys := keyText(1)
		v := MustOpen(t, store, MustKeyring(t, keys))
		MustPut(t, v, "subj-1", "email", "contact", "Ada@Example.org")
		MustPut(t, v, "subj-2", "email", "contact", "grace@example.org")
		MustPut(t, v, "subj-3", "email", "contact", "ada@example.org ")
		MustPut(t, v, "subj-4", "iban", "financial", "ada@example.org")

		cases := []struct {
			name, value string
			want        []string
		}{
			{"exact, case and space insensitive", " ADA@example.ORG", []string{"subj-1", "subj-3"}},
			{"another", "grace@example.org", []string{"subj-2"}},
			{"no match", "nobody@example.org", nil},
			{"prefix is no match", "ada@example", nil},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				got, err := v.Find(ctx, "email", c.value)
				if err != nil || !slices.Equal(got, c.want) {
					t.Fatalf("Find(%q) = %v, %v; want %v", c.value, got, err, c.want)
				}
			})
		}
		if _, err := v.Find(ctx, "iban", "ada@example.org"); errs.CodeOf(err) != errs.CodeInvalid {
			t.Fatalf("Find on a field without index: %v, want invalid", err)
		}
		if strings.Contains(strings.ToLower(dump(t, store)), "ada@example.org") {
			t.Fatal("an email address is stored in clear")
		}

		t.Run("a changed value moves the index", func(t *testing.T) {
			MustPut(t, v, "subj-2", "email", "contact", "grace.h@example.org")
			if got, _ := v.Find(ctx, "email", "grace@example.org"); len(got) != 0 {
				t.Fatalf("old value still finds %v", got)
			}
			if got, _ := v.Find(ctx, "email", "grace.h@example.org"); !slices.Equal(got, []string{"subj-2"}) {
				t.Fatalf("new value finds %v", got)
			}
		})
		t.Run("deletion and erasure drop the index", func(t *testing.T) {
			if err := v.Delete(ctx, "subj-1", "email"); err != nil {
				t.Fatal(err)
			}
			if _, err := v.EraseSubject(ctx, "subj-3"); err != nil {
				t.Fatal(err)
			}
			if got, _ := v.Find(ctx, "email", "ada@example.org"); len(got) != 0 {
				t.Fatalf("deleted and erased subjects still found: %v", got)
			}
		})
		t.Run("a fresh process with the same key finds the same", func(t *testing.T) {
			again := MustOpen(t, store, MustKeyring(t, keys))
			if got, err := again.Find(ctx, "email", "grace.h@example.org"); err != nil || !slices.Equal(got, []string{"subj-2"}) {
				t.Fatalf("Find after reopen = %v, %v", got, err)
			}
		})
		t.Run("sealed", func(t *testing.T) {
			sealed := MustOpen(t, store, nil)
			if _, err := sealed.Find(ctx, "email", "grace.h@example.org"); errs.CodeOf(err) != errs.CodeUnavailable {
				t.Fatalf("Find while sealed: %v", err)
			}
		})
	})
}

func TestSecretBox(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		keys := keyText(1, 2)
		v1, v2, _ := strings.Cut(keys, ",")
		v := MustOpen(t, store, MustKeyring(t, v1))
		box, err := v.SecretBox("staff-totp")
		if err != nil {
			t.Fatal(err)
		}
		sealed, err := box.Seal(ctx, []byte("JBSWY3DPEHPK3PXP"), []byte("totp:stf_1"))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(dump(t, store), "JBSWY3DPEHPK3PXP") || strings.Contains(string(sealed), "JBSWY3DPEHPK3PXP") {
			t.Fatal("the secret is in clear")
		}
		if got, err := box.Open(ctx, sealed, []byte("totp:stf_1")); err != nil || string(got) != "JBSWY3DPEHPK3PXP" {
			t.Fatalf("Open = %q, %v", got, err)
		}
		if _, err := box.Open(ctx, sealed, []byte("totp:stf_2")); err == nil {
			t.Fatal("a secret opened in another context")
		}
		other, _ := v.SecretBox("webhooks")
		if _, err := other.Open(ctx, sealed, []byte("totp:stf_1")); err == nil {
			t.Fatal("a secret opened in another box")
		}
		// The system holder is no subject: the API cannot touch it.
		if _, err := v.EraseSubject(ctx, "~system.staff-totp"); err == nil {
			t.Fatal("the system key holder was erasable as a subject")
		}
		// Rotation rewraps the holder's key; the secret still opens with the
		// new version alone.
		rotating := MustOpen(t, store, MustKeyring(t, keys))
		if _, err := rotating.RotateKEK(ctx, 2, nil); err != nil {
			t.Fatal(err)
		}
		if err := rotating.Retire(ctx, 1); err != nil {
			t.Fatal(err)
		}
		after := MustOpen(t, store, MustKeyring(t, v2))
		afterBox, _ := after.SecretBox("staff-totp")
		if got, err := afterBox.Open(ctx, sealed, []byte("totp:stf_1")); err != nil || string(got) != "JBSWY3DPEHPK3PXP" {
			t.Fatalf("Open after rotation = %q, %v", got, err)
		}
		sealedVault := MustOpen(t, store, nil)
		sealedBox, _ := sealedVault.SecretBox("staff-totp")
		if _, err := sealedBox.Open(ctx, sealed, []byte("totp:stf_1")); errs.CodeOf(err) != errs.CodeUnavailable {
			t.Fatalf("Open while sealed: %v", err)
		}
	})
}
