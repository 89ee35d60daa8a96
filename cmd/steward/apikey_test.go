package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/vault"
)

// TestAPIKeyCreateRevealNeedsTheMasterKey: the CLI is one of the two ways
// to make a reveal key. Without the master key it refuses; with it the key
// is made and the audit log names the key (never its secret).
func TestAPIKeyCreateRevealNeedsTheMasterKey(t *testing.T) {
	t.Parallel()
	for _, dialect := range []db.Dialect{db.SQLite, db.Postgres} {
		t.Run(string(dialect), func(t *testing.T) {
			dir := t.TempDir()
			// A migrated store, as the command's own migration would leave
			// it: what is tested here is the command, not migrating.
			url := "sqlite:" + dir + "/steward.db"
			if dialect == db.Postgres {
				url = dbtest.MigratedPostgresURL(t)
			} else {
				dbtest.CopySQLiteTemplate(t, dir+"/steward.db")
			}
			cli := func(env map[string]string, args ...string) (string, string, error) {
				var out, errOut bytes.Buffer
				args = append(args, "--data-dir", dir, "--database", url)
				err := run(context.Background(), args, func(k string) string { return env[k] }, strings.NewReader(""), &out, &errOut)
				return out.String(), errOut.String(), err
			}
			if out, _, err := cli(nil, "apikey", "create", "--scope", "reveal", "--label", "support tool"); err == nil || !strings.Contains(err.Error(), "master key") || out != "" {
				t.Fatalf("reveal key without the master key: %q %v", out, err)
			}
			env := map[string]string{"STEWARD_MASTER_KEY": "1:" + vault.GenerateKey()}
			out, _, err := cli(env, "apikey", "create", "--scope", "reveal", "--label", "support tool")
			if err != nil || !strings.HasPrefix(out, "stw_reveal_") {
				t.Fatalf("reveal key with the master key: %q %v", out, err)
			}
			secret := strings.TrimSpace(out)
			store, err := db.Open(context.Background(), url, "")
			if err != nil {
				t.Fatal(err)
			}
			defer store.Close()
			var actor, target, details string
			if err := store.QueryRow(`SELECT actor_kind, target_id, details FROM audit_entries WHERE action = 'api_key.create'`).Scan(&actor, &target, &details); err != nil {
				t.Fatalf("no audit entry for the new key: %v", err)
			}
			if actor != "system" || !strings.HasPrefix(target, "key_") || !strings.Contains(details, `"scope":"reveal"`) ||
				!strings.Contains(details, `"via":"cli"`) || !strings.Contains(details, "support tool") || strings.Contains(details, secret) {
				t.Fatalf("audit entry: %s %s %s", actor, target, details)
			}
		})
	}
}
