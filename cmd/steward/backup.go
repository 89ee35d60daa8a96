package main

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"filippo.io/age"
	jose "github.com/go-jose/go-jose/v4"

	"github.com/steward-dev/steward/internal/backup"
	"github.com/steward-dev/steward/internal/backup/target"
	"github.com/steward-dev/steward/internal/config"
)

const backupUsage = "Usage: steward backup keygen --out FILE | list --from TARGET | verify --from TARGET [--id ID] [--identity FILE]"

// runBackup makes, lists, checks and restores backups (docs/operations.md,
// "Backups"; the format is in docs/backup-format.md).
func runBackup(ctx context.Context, env *environment, args []string) error {
	if len(args) > 0 {
		switch args[0] {
		case "keygen":
			return runBackupKeygen(ctx, env, args[1:])
		case "list":
			return runBackupList(ctx, env, args[1:])
		case "verify":
			return runBackupVerify(ctx, env, args[1:])
		}
	}
	fmt.Fprintln(env.stderr, backupUsage)
	return errUsage
}

// runBackupKeygen writes the offline identity that decrypts backups and
// prints its recipient, the public half the server is given.
func runBackupKeygen(ctx context.Context, env *environment, args []string) error {
	fs := newFlags(env, "backup keygen", "backup keygen --out FILE\n\n"+
		"Writes a new age identity to FILE (mode 0600) and prints its recipient (age1...). Give the recipient\n"+
		"to `backup create --recipient` or `serve --backup-recipient`; keep FILE offline, never on the server:\n"+
		"whoever holds it can read every backup made to its recipient.")
	out := fs.String("out", "", "file to write the identity to (it must not exist)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *out == "" {
		return errors.New("--out: give the file to write the identity to")
	}
	f, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	recipient, err := backup.GenerateIdentity(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(*out)
		return err
	}
	fmt.Fprintln(env.stdout, recipient)
	fmt.Fprintf(env.stderr, "identity written to %s: move it offline; the server needs only the recipient above\n", *out)
	return nil
}

// runBackupList lists the backups on a target, complete or not.
func runBackupList(ctx context.Context, env *environment, args []string) error {
	fs := newFlags(env, "backup list", "backup list --from DIR|s3://BUCKET/PREFIX\n\n"+
		"Lists the backups at the target, newest last, with their size and whether each is complete (its\n"+
		"signed manifest and every chunk it lists are there). `backup verify` checks one byte by byte.")
	from := fs.String("from", "", "where the backups are: a directory or s3://BUCKET/PREFIX")
	if err := parse(fs, args); err != nil {
		return err
	}
	t, err := openTarget(ctx, env, "from", *from)
	if err != nil {
		return err
	}
	list, err := backup.List(ctx, t)
	if err != nil {
		return err
	}
	if len(list) == 0 {
		fmt.Fprintf(env.stdout, "no backups at %s\n", t)
		return nil
	}
	w := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tCREATED\tCHUNKS\tSIZE\tSTATE")
	for _, b := range list {
		state := "complete"
		if !b.Complete {
			state = "incomplete: " + b.Problem
		}
		fmt.Fprintf(w, "%s\t%s\t%d\t%s\t%s\n", b.ID, b.Created.Format(time.RFC3339), b.Chunks, byteSize(b.StoredSize), state)
	}
	return w.Flush()
}

// runBackupVerify checks a backup: without an identity its signature and
// every chunk; with one, its contents too.
func runBackupVerify(ctx context.Context, env *environment, args []string) error {
	fs := newFlags(env, "backup verify", "backup verify --from DIR|s3://... [--id ID] [--identity FILE] [--jwks URL|FILE]\n\n"+
		"Checks a backup (the newest complete one unless --id is given): the manifest's signature against the\n"+
		"backup signing key, and every chunk's presence, order, size and hash; it names the first fault. With\n"+
		"--identity it also decrypts every chunk and checks what it holds. The signing key is read from\n"+
		"--jwks (the server's /.well-known/jwks.json, or a saved copy) or else from the data directory.")
	from := fs.String("from", "", "where the backups are: a directory or s3://BUCKET/PREFIX")
	id := fs.String("id", "", "the backup to check (default: the newest complete one)")
	identityFile := fs.String("identity", "", "age identity file (from backup keygen) to decrypt and check the contents")
	jwksFrom := fs.String("jwks", "", "keys to trust: a URL such as https://steward.example/.well-known/jwks.json, or a file")
	loader := config.RegisterOnly(fs, "data-dir")
	if err := parse(fs, args); err != nil {
		return err
	}
	t, err := openTarget(ctx, env, "from", *from)
	if err != nil {
		return err
	}
	trusted, err := trustedBackupKeys(ctx, env, *jwksFrom, loader)
	if err != nil {
		return err
	}
	var identities []age.Identity
	if *identityFile != "" {
		if identities, err = backup.ParseIdentityFile(*identityFile); err != nil {
			return fmt.Errorf("--identity: %w", err)
		}
	}
	if *id == "" {
		if *id, err = newestComplete(ctx, t); err != nil {
			return err
		}
	}
	rep, err := backup.Verify(ctx, t, *id, trusted, identities, nil)
	if err != nil {
		return fmt.Errorf("backup %s does not verify: %w", *id, err)
	}
	what := "signature and every chunk verify; contents not decrypted (give --identity to check them)"
	if rep.Decrypted {
		what = "signature, every chunk and the decrypted contents verify"
	}
	fmt.Fprintf(env.stdout, "backup %s (%s, %d chunks, %s, signed by key %s): %s\n", rep.ID, rep.Created.Format(time.RFC3339),
		rep.Chunks, byteSize(rep.StoredSize), rep.KeyID, what)
	return nil
}

// openTarget opens the target a flag names.
func openTarget(ctx context.Context, env *environment, flagName, spec string) (target.Target, error) {
	if spec == "" {
		return nil, fmt.Errorf("--%s: give a directory or s3://BUCKET/PREFIX", flagName)
	}
	t, err := target.Open(ctx, spec)
	if err != nil {
		return nil, fmt.Errorf("--%s: %w", flagName, err)
	}
	return t, nil
}

// newestComplete returns the id of the newest complete backup at t.
func newestComplete(ctx context.Context, t target.Target) (string, error) {
	list, err := backup.List(ctx, t)
	if err != nil {
		return "", err
	}
	for i := len(list) - 1; i >= 0; i-- {
		if list[i].Complete {
			return list[i].ID, nil
		}
	}
	return "", fmt.Errorf("no complete backup at %s", t)
}

// trustedBackupKeys returns the Ed25519 keys a backup's manifest may be
// signed by: those of a JWKS document (URL or file), or the backup signing
// key in the data directory.
func trustedBackupKeys(ctx context.Context, env *environment, jwksFrom string, loader *config.Loader) ([]ed25519.PublicKey, error) {
	if jwksFrom != "" {
		raw, err := loadJWKS(ctx, env, jwksFrom, loader)
		if err != nil {
			return nil, err
		}
		var set jose.JSONWebKeySet
		if err := json.Unmarshal(raw, &set); err != nil {
			return nil, fmt.Errorf("--jwks: %w", err)
		}
		var keys []ed25519.PublicKey
		for _, k := range set.Keys {
			if pub, ok := k.Key.(ed25519.PublicKey); ok {
				keys = append(keys, pub)
			}
		}
		if len(keys) == 0 {
			return nil, errors.New("--jwks: the document holds no Ed25519 key")
		}
		return keys, nil
	}
	cfg, err := loader.Load(env.getenv)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(cfg.DataDir, backup.SigningKeyFile)); err != nil {
		return nil, fmt.Errorf("no --jwks given and no backup signing key in %s", cfg.DataDir)
	}
	key, err := backup.LoadOrCreateSigningKey(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	return []ed25519.PublicKey{key.Public().(ed25519.PublicKey)}, nil
}

func byteSize(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
