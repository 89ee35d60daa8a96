package vault_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/vault"
)

func TestEraseSubject(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		clk := newClock()
		ring := MustKeyring(t, keyText(1))
		v := MustOpen(t, store, ring, func(c *vault.Config) { c.Now = clk.Now })
		fields := map[string]string{"iban": "DE89370400440532013000", "email": "erin@example.org", "passport": "C01X00T47"}
		categories := map[string]string{"iban": "financial", "email": "contact", "passport": "government_id"}
		for name, value := range fields {
			MustPut(t, v, "erin", name, categories[name], value)
		}
		MustPut(t, v, "frank", "email", "contact", "frank@example.org")
		var tokens []string
		for _, name := range []string{"iban", "email"} {
			tok, err := v.Tokenize(ctx, "erin", name)
			if err != nil {
				t.Fatal(err)
			}
			tokens = append(tokens, tok)
		}
		copied := rawBytes(t, store, `SELECT ciphertext FROM vault_fields WHERE subject_id = 'erin' AND name = 'iban'`)
		backupAt := clk.Now()
		backup := takeSnapshot(t, store) // a backup made before the erasure

		clk.Advance(time.Hour)
		res, err := v.EraseSubject(ctx, "erin")
		if err != nil {
			t.Fatal(err)
		}
		if res.Subject != "erin" || !res.At.Equal(clk.Now()) || res.Fields != 3 || res.Tokens != 2 || res.AlreadyErased {
			t.Fatalf("EraseSubject = %+v", res)
		}
		if v.CachedKeys() != 2 { // frank's, and the lookup index key's (erin had an email field)
			t.Fatalf("%d cached keys after erasure, want 2", v.CachedKeys())
		}

		t.Run("fields unreadable", func(t *testing.T) {
			for name := range fields {
				rec, err := v.Get(ctx, "erin", name)
				if !errors.Is(err, vault.ErrErased) || rec.Value != nil {
					t.Errorf("Get(erin, %s) = %d bytes, %v; want ErrErased", name, len(rec.Value), err)
				}
			}
			if _, err := v.List(ctx, "erin"); !errors.Is(err, vault.ErrErased) {
				t.Errorf("List(erin): %v", err)
			}
			if err := v.Delete(ctx, "erin", "iban"); !errors.Is(err, vault.ErrErased) {
				t.Errorf("Delete(erin): %v", err)
			}
			if _, err := v.Tokenize(ctx, "erin", "iban"); !errors.Is(err, vault.ErrErased) {
				t.Errorf("Tokenize(erin): %v", err)
			}
			_, err := v.Put(ctx, "erin", vault.Field{Name: "email", Category: "contact", Value: []byte("again@example.org")})
			if !errors.Is(err, vault.ErrErased) || errs.CodeOf(err) != errs.CodeNotFound {
				t.Errorf("Put to an erased subject: %v, want ErrErased", err)
			}
			if rec, err := v.Get(ctx, "frank", "email"); err != nil || string(rec.Value) != "frank@example.org" {
				t.Errorf("another subject after the erasure: %q, %v", rec.Value, err)
			}
		})

		t.Run("tokens fail", func(t *testing.T) {
			for _, tok := range tokens {
				if _, err := v.Detokenize(ctx, tok); !errs.Is(err, errs.CodeNotFound) {
					t.Errorf("Detokenize after erasure: %v, want not found", err)
				}
			}
		})

		t.Run("nothing personal is left", func(t *testing.T) {
			all := dump(t, store)
			for name, value := range fields {
				if strings.Contains(all, value) {
					t.Errorf("the store still holds the value of %s", name)
				}
			}
			for _, table := range []string{"vault_keys", "vault_fields", "vault_tokens"} {
				var n int
				if err := store.QueryRowContext(ctx, `SELECT count(*) FROM `+table+` WHERE subject_id = 'erin'`).Scan(&n); err != nil || n != 0 {
					t.Errorf("%s: %d rows of erin, %v", table, n, err)
				}
			}
			erasures := takeSnapshot(t, store)["vault_erasures"]
			if got := strings.Join(erasures.columns, ","); got != "subject_id,erased_at" {
				t.Errorf("erasure record columns = %s, want subject id and time only", got)
			}
			if len(erasures.rows) != 1 || fmt.Sprint(erasures.rows[0][0]) != "erin" {
				t.Errorf("erasure records = %v", erasures.rows)
			}
		})

		t.Run("a copied ciphertext cannot be opened", func(t *testing.T) {
			// The only key that opened it is gone: put the copy back under
			// the subject (no key row, so no read) and under another subject.
			mustExec(t, store, `UPDATE vault_fields SET ciphertext = $1 WHERE subject_id = 'frank' AND name = 'email'`, copied)
			if rec, err := v.Get(ctx, "frank", "email"); !errors.Is(err, vault.ErrCorrupt) || rec.Value != nil {
				t.Errorf("copied ciphertext under another subject: %v", err)
			}
			if _, err := store.ExecContext(ctx, `INSERT INTO vault_fields (subject_id, name, category, dek_version, ciphertext, size, created_at, updated_at)
				VALUES ('erin', 'iban', 'financial', 1, $1, 22, 0, 0)`, copied); err == nil {
				t.Errorf("a ciphertext went back under the erased subject without a data key")
			}
			MustPut(t, v, "frank", "email", "contact", "frank@example.org")
		})

		t.Run("erasing twice", func(t *testing.T) {
			clk.Advance(time.Minute)
			again, err := v.EraseSubject(ctx, "erin")
			if err != nil || !again.AlreadyErased || !again.At.Equal(res.At) || again.Fields != 0 {
				t.Fatalf("second EraseSubject = %+v, %v", again, err)
			}
			if _, err := v.EraseSubject(ctx, "never-seen"); err != nil {
				t.Fatalf("erasing a subject without vault data: %v", err)
			}
		})

		t.Run("restore from an older backup", func(t *testing.T) {
			restored := dbtest.Open(t, store.Dialect)
			backup.restore(t, restored)
			rv := MustOpen(t, restored, ring, func(c *vault.Config) { c.Now = clk.Now })
			// The backup predates the erasure, so it can still read erin…
			if rec, err := rv.Get(ctx, "erin", "iban"); err != nil || string(rec.Value) != fields["iban"] {
				t.Fatalf("restored store before re-applying: %v", err)
			}
			records, err := v.Erasures(ctx, backupAt)
			if err != nil {
				t.Fatal(err)
			}
			subjects := make([]string, len(records))
			for i, r := range records {
				subjects[i] = r.Subject
			}
			slices.Sort(subjects)
			if fmt.Sprint(subjects) != "[erin never-seen]" {
				t.Fatalf("Erasures since the backup = %v", records)
			}
			if later, _ := v.Erasures(ctx, clk.Now().Add(time.Second)); len(later) != 0 {
				t.Fatalf("Erasures after the last one = %v", later)
			}
			// …until the erasures made since are applied again.
			n, err := rv.ReapplyErasures(ctx, records)
			if err != nil || n != 1 {
				t.Fatalf("ReapplyErasures = %d, %v; want 1 data key destroyed", n, err)
			}
			for name := range fields {
				if rec, err := rv.Get(ctx, "erin", name); !errors.Is(err, vault.ErrErased) || rec.Value != nil {
					t.Errorf("restored Get(erin, %s) after re-applying: %v", name, err)
				}
			}
			for _, tok := range tokens {
				if _, err := rv.Detokenize(ctx, tok); !errs.Is(err, errs.CodeNotFound) {
					t.Errorf("restored Detokenize after re-applying: %v", err)
				}
			}
			if rec, err := rv.Get(ctx, "frank", "email"); err != nil || string(rec.Value) != "frank@example.org" {
				t.Errorf("restored frank: %q, %v", rec.Value, err)
			}
			got, err := rv.Erasures(ctx, time.Time{})
			if err != nil || len(got) != 2 || !got[0].At.Equal(res.At) {
				t.Fatalf("restored erasure records = %v, %v; want the original times", got, err)
			}
			if strings.Contains(dump(t, restored), fields["iban"]) {
				t.Fatal("restored store still holds a value in clear")
			}
			if n, err := rv.ReapplyErasures(ctx, records); err != nil || n != 0 {
				t.Fatalf("second ReapplyErasures = %d, %v; want 0", n, err)
			}
			if _, err := rv.ReapplyErasures(ctx, []vault.Erasure{{Subject: "bad id", At: clk.Now()}}); !errs.Is(err, errs.CodeInvalid) {
				t.Fatalf("ReapplyErasures with a bad record: %v", err)
			}
		})
	})
}

func TestRetention(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		clk := newClock()
		v := MustOpen(t, store, MustKeyring(t, keyText(1)), func(c *vault.Config) { c.Now = clk.Now; c.BatchSize = 2 })
		put := func(subject, name string, ttl time.Duration) {
			t.Helper()
			f := vault.Field{Name: name, Category: "location", Value: []byte("52.52,13.40")}
			if ttl > 0 {
				f.ExpiresAt = clk.Now().Add(ttl)
			}
			if _, err := v.Put(ctx, subject, f); err != nil {
				t.Fatal(err)
			}
		}
		put("s1", "last_seen", time.Hour)
		put("s1", "home", 0)
		put("s2", "last_seen", 2*time.Hour)
		put("s3", "last_seen", 30*time.Minute)
		put("s4", "last_seen", 3*time.Hour)
		tok, err := v.Tokenize(ctx, "s1", "last_seen")
		if err != nil {
			t.Fatal(err)
		}
		if exp, err := v.ListExpired(ctx, 0); err != nil || len(exp) != 0 {
			t.Fatalf("ListExpired before = %v, %v", exp, err)
		}

		clk.Advance(150 * time.Minute)
		put("s2", "last_seen", time.Hour) // renewed before the purge: kept

		if _, err := v.Get(ctx, "s1", "last_seen"); !errs.Is(err, errs.CodeNotFound) {
			t.Fatalf("Get of an expired field: %v", err)
		}
		list, err := v.List(ctx, "s1")
		if err != nil || len(list) != 1 || list[0].Name != "home" {
			t.Fatalf("List hides expired fields: %v, %v", list, err)
		}
		exp, err := v.ListExpired(ctx, 10)
		if err != nil || len(exp) != 2 || exp[0].Subject != "s3" || exp[1].Subject != "s1" {
			t.Fatalf("ListExpired = %v, %v; want s3 then s1", exp, err)
		}

		purged, err := v.PurgeExpired(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(purged) != 2 || purged[0].Subject != "s3" || purged[1].Subject != "s1" || purged[1].Category != "location" {
			t.Fatalf("PurgeExpired = %v", purged)
		}
		var n int
		if err := store.QueryRowContext(ctx, `SELECT count(*) FROM vault_fields WHERE name = 'last_seen'`).Scan(&n); err != nil || n != 2 {
			t.Fatalf("%d last_seen rows after purge (%v), want 2 (s2 renewed, s4)", n, err)
		}
		if _, err := v.Detokenize(ctx, tok); !errors.Is(err, vault.ErrTokenNotFound) {
			t.Fatalf("token of a purged field: %v", err)
		}
		for _, keep := range [][2]string{{"s1", "home"}, {"s2", "last_seen"}, {"s4", "last_seen"}} {
			if _, err := v.Get(ctx, keep[0], keep[1]); err != nil {
				t.Fatalf("Get(%s, %s) after purge: %v", keep[0], keep[1], err)
			}
		}
		if again, err := v.PurgeExpired(ctx); err != nil || len(again) != 0 {
			t.Fatalf("second PurgeExpired = %v, %v", again, err)
		}
	})
}

func TestKeyCache(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		clk := newClock()
		v := MustOpen(t, store, MustKeyring(t, keyText(1)), func(c *vault.Config) {
			c.Now = clk.Now
			c.CacheSize = 2
			c.CacheTTL = time.Minute
		})
		for _, s := range []string{"a", "b", "c"} {
			MustPut(t, v, s, "email", "contact", s+"@example.org")
		}
		if got := v.CachedKeys(); got != 2 {
			t.Fatalf("%d cached keys, want the bound 2", got)
		}
		for _, s := range []string{"a", "b", "c"} {
			if rec, err := v.Get(ctx, s, "email"); err != nil || string(rec.Value) != s+"@example.org" {
				t.Fatalf("Get(%s) = %q, %v", s, rec.Value, err)
			}
		}
		clk.Advance(2 * time.Minute) // entries expire; reads unwrap again
		if rec, err := v.Get(ctx, "a", "email"); err != nil || string(rec.Value) != "a@example.org" {
			t.Fatalf("Get after TTL = %q, %v", rec.Value, err)
		}
		if _, err := v.EraseSubject(ctx, "a"); err != nil {
			t.Fatal(err)
		}
		if got := v.CachedKeys(); got != 1 {
			t.Fatalf("%d cached keys after erasing a, want 1", got)
		}
	})
}
