package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
)

// TestAuditExportAndVerifyBundle: `audit export` writes the bundle of a
// range from either store and refuses bad ranges and existing files with
// one line; `audit verify --bundle` passes it offline (with the published
// key or the bundle's), names an altered entry, refuses a key that did not
// sign it, and reports entries no checkpoint covers yet.
func TestAuditExportAndVerifyBundle(t *testing.T) {
	t.Parallel()
	for _, dialect := range []db.Dialect{db.SQLite, db.Postgres} {
		t.Run(string(dialect), func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			// A migrated store, as the command's own migration would leave
			// it: what is tested here is the command, not migrating.
			url := "sqlite:" + dir + "/steward.db"
			if dialect == db.Postgres {
				url = dbtest.MigratedPostgresURL(t)
			} else {
				dbtest.CopySQLiteTemplate(t, dir+"/steward.db")
			}
			store, err := db.Open(ctx, url, dir)
			if err != nil {
				t.Fatal(err)
			}
			defer store.Close()
			if err := store.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			// Ten entries, one a second from start; a checkpoint after the
			// eighth, signed with the data directory's key.
			start := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
			n := 0
			log, err := audit.New(audit.Config{DB: store, Now: func() time.Time { n++; return start.Add(time.Duration(n-1) * time.Second) }})
			if err != nil {
				t.Fatal(err)
			}
			key, err := audit.LoadOrCreateKey(dir)
			if err != nil {
				t.Fatal(err)
			}
			signer, err := audit.NewSigner("steward.test/audit", key)
			if err != nil {
				t.Fatal(err)
			}
			cp, err := audit.OpenCheckpointer(ctx, audit.CheckpointerConfig{DB: store, Signer: signer, Poll: -1})
			if err != nil {
				t.Fatal(err)
			}
			for i := range 10 {
				if _, err := log.Append(ctx, audit.Entry{Actor: audit.Staff("7"), Action: "customer.view",
					Target: audit.Subject(fmt.Sprintf("cust-%d", i)), Details: audit.MustDetails(map[string]any{"n": i})}); err != nil {
					t.Fatal(err)
				}
				if i == 7 {
					if _, err := cp.Checkpoint(ctx); err != nil {
						t.Fatal(err)
					}
				}
			}
			keyFile := filepath.Join(dir, "published.vkey")
			otherKeyFile := filepath.Join(dir, "other.vkey")
			_, otherKey, _ := ed25519.GenerateKey(nil)
			other, _ := audit.NewSigner("steward.test/audit", otherKey)
			os.WriteFile(keyFile, []byte("# the key the company publishes\n"+signer.VerifierKey()+"\n"), 0o600)
			os.WriteFile(otherKeyFile, []byte(other.VerifierKey()+"\n"), 0o600)
			keyID := fmt.Sprintf("steward.test/audit+%08x", signer.KeyID())

			cli := func(args ...string) (string, string, error) {
				var out, errOut bytes.Buffer
				if args[1] == "export" {
					args = append(args, "--data-dir", dir, "--database", url)
				}
				err := run(ctx, args, func(string) string { return "" }, strings.NewReader(""), &out, &errOut)
				return out.String(), errOut.String(), err
			}
			at := func(sec int) string { return start.Add(time.Duration(sec) * time.Second).Format(time.RFC3339) }
			bundle := filepath.Join(dir, "evidence.jsonl")

			out, errOut, err := cli("audit", "export", "--from", at(1), "--to", at(4), "--out", bundle)
			if err != nil || !strings.Contains(out, "4 entries (2 to 5)") || !strings.Contains(out, "up to checkpoint 8") || !strings.Contains(out, keyID) || errOut != "" {
				t.Fatalf("export: %v\n%s%s", err, out, errOut)
			}
			if st, err := os.Stat(bundle); err != nil || st.Mode().Perm() != 0o600 {
				t.Fatalf("bundle file: %v %v", st, err)
			}

			refused := []struct {
				name string
				args []string
				want string
			}{
				{"an existing file", []string{"--from", at(1), "--to", at(4), "--out", bundle}, "exists"},
				{"to before from", []string{"--from", at(4), "--to", at(1), "--out", bundle + ".2"}, "before --from"},
				{"an empty range", []string{"--from", at(4), "--to", at(4), "--out", bundle + ".2"}, "the range is empty"},
				{"not RFC 3339", []string{"--from", "yesterday", "--to", at(4), "--out", bundle + ".2"}, `--from "yesterday" is not an RFC 3339 time`},
				{"no --out", []string{"--from", at(1), "--to", at(4)}, "--out"},
				{"no entries", []string{"--from", at(3600), "--to", at(7200), "--out", bundle + ".2"}, "no audit entries were written between"},
			}
			for _, c := range refused {
				out, errOut, err := cli(append([]string{"audit", "export"}, c.args...)...)
				if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") || out != "" || errOut != "" {
					t.Errorf("%s: err %v, stdout %q, stderr %q; want one line saying %q", c.name, err, out, errOut, c.want)
				}
			}
			if _, err := os.Stat(bundle + ".2"); !os.IsNotExist(err) {
				t.Errorf("a refused export left a file: %v", err)
			}

			out, _, err = cli("audit", "verify", "--bundle", bundle, "--key", keyFile)
			if err != nil || !strings.Contains(out, "audit bundle OK: 4 entries (2 to 5)") || !strings.Contains(out, keyID+" (a key you gave)") {
				t.Fatalf("verify with the published key: %v\n%s", err, out)
			}
			out, _, err = cli("audit", "verify", "--bundle", bundle)
			if err != nil || !strings.Contains(out, "keys carried in the bundle") {
				t.Fatalf("verify with the bundle's keys: %v\n%s", err, out)
			}
			_, _, err = cli("audit", "verify", "--bundle", bundle, "--key", otherKeyFile)
			if err == nil || !strings.Contains(err.Error(), "checkpoint 8: signature does not verify") {
				t.Fatalf("verify with a key that did not sign: %v", err)
			}

			// One changed byte in an entry's details.
			data, _ := os.ReadFile(bundle)
			tampered := bytes.Replace(data, []byte(`{\"n\":3}`), []byte(`{\"n\":4}`), 1)
			if bytes.Equal(tampered, data) {
				t.Fatal("entry 4's details not found in the bundle")
			}
			altered := filepath.Join(dir, "altered.jsonl")
			os.WriteFile(altered, tampered, 0o600)
			out, _, err = cli("audit", "verify", "--bundle", altered, "--key", keyFile)
			if err == nil || !strings.Contains(err.Error(), "entry 4: hash does not match its content") || !strings.Contains(out, "FAILED") {
				t.Fatalf("verify an altered bundle: %v\n%s", err, out)
			}

			// Entries after the last checkpoint: exported, reported uncovered.
			recent := filepath.Join(dir, "recent.jsonl")
			out, errOut, err = cli("audit", "export", "--from", at(8), "--to", at(9), "--out", recent)
			if err != nil || !strings.Contains(out, "2 entries (9 to 10)") || !strings.Contains(errOut, "not covered by a signed checkpoint") {
				t.Fatalf("export of uncovered entries: %v\n%s%s", err, out, errOut)
			}
			out, _, err = cli("audit", "verify", "--bundle", recent, "--key", keyFile)
			if err == nil || !strings.Contains(err.Error(), "not covered") || !strings.Contains(out, "entries 9 to 10 are not covered by a signed checkpoint") {
				t.Fatalf("verify of uncovered entries: %v\n%s", err, out)
			}

			_, _, err = cli("audit", "verify", "--bundle", keyFile)
			if err == nil || !strings.Contains(err.Error(), "not the header of a Steward audit bundle") {
				t.Fatalf("verify of a file that is no bundle: %v", err)
			}
		})
	}
}
