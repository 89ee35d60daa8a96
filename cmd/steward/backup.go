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

	"github.com/steward-dev/steward/internal/app"
	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/backup"
	"github.com/steward-dev/steward/internal/backup/target"
	"github.com/steward-dev/steward/internal/config"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/erasure"
	"github.com/steward-dev/steward/internal/recovery"
)

const backupUsage = "Usage: steward backup keygen --out FILE | create --to TARGET --recipient age1... | list --from TARGET |\n" +
	"       verify --from TARGET [--id ID] [--identity FILE] | restore --from TARGET [--id ID] --identity FILE | drill --from TARGET --identity FILE"

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
		case "create":
			return runBackupCreate(ctx, env, args[1:])
		case "restore":
			return runBackupRestore(ctx, env, args[1:])
		case "drill":
			return runBackupDrill(ctx, env, args[1:])
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
	rep, err := backup.Verify(ctx, t, *id, trusted, nil, nil)
	if err != nil {
		return fmt.Errorf("backup %s does not verify: %w", *id, err)
	}
	what := "signature and every chunk verify; contents not decrypted (give --identity to check them)"
	if identities != nil {
		m, plaintext, err := backup.Open(ctx, t, *id, trusted, identities)
		if err != nil {
			return fmt.Errorf("backup %s does not verify: %w", *id, err)
		}
		content, err := recovery.CheckContents(ctx, m, plaintext, trusted, "")
		plaintext.Close()
		if err != nil {
			return fmt.Errorf("backup %s does not verify: %w", *id, err)
		}
		what = fmt.Sprintf("signature, every chunk and the decrypted contents verify: %d rows in %d tables, the audit log (%d entries) and the ledger (%d events) verify, %d erasure journal entries carried",
			content.Rows, content.Tables, content.AuditEntries, content.LedgerEvents, content.JournalEntries)
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

// runBackupCreate takes a backup of the store now.
func runBackupCreate(ctx context.Context, env *environment, args []string) error {
	fs := newFlags(env, "backup create", "backup create --to DIR|s3://BUCKET/PREFIX --recipient age1... [--recipient ...] [flags]\n\n"+
		"Takes a consistent snapshot of all of Steward's state while it keeps serving, with the erasure journal,\n"+
		"streamed, compressed and encrypted to the recipients, and signed with the backup signing key (in the\n"+
		"data directory). Prints the backup's id. Only the recipients' identities can read it: not this server.")
	to := fs.String("to", "", "where to write the backup: a directory or s3://BUCKET/PREFIX")
	var recipients []string
	fs.Func("recipient", "an age recipient (age1...) to encrypt to; repeatable", func(v string) error {
		recipients = append(recipients, v)
		return nil
	})
	loader := config.RegisterOnly(fs, config.StoreSettings("erasure-journal")...)
	if err := parse(fs, args); err != nil {
		return err
	}
	t, err := openTarget(ctx, env, "to", *to)
	if err != nil {
		return err
	}
	parsed, err := backup.ParseRecipients(recipients)
	if err != nil {
		return fmt.Errorf("--recipient: %w", err)
	}
	cfg, err := loader.Load(env.getenv)
	if err != nil {
		return err
	}
	svc, store, err := app.OpenRecovery(ctx, cfg, app.NewLogger(cfg, env.stderr))
	if err != nil {
		return err
	}
	defer store.Close()
	m, err := svc.Create(audit.WithActor(ctx, audit.System()), t, parsed)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stderr, "backup %s: %d chunks, %s at %s\n", m.ID, len(m.Chunks), byteSize(m.StoredSize), t)
	fmt.Fprintln(env.stdout, m.ID)
	return nil
}

// runBackupRestore restores a backup into an empty store and replays the
// erasures recorded since.
func runBackupRestore(ctx context.Context, env *environment, args []string) error {
	fs := newFlags(env, "backup restore", "backup restore --from DIR|s3://... [--id ID] --identity FILE [--accept-missing-erasures] [flags]\n\n"+
		"Restores a backup (the newest complete one unless --id is given) into the empty store named by\n"+
		"--data-dir or --database, then erases again everyone the erasure journal (--erasure-journal) records\n"+
		"as erased after the backup: vault, ledger and connected systems. It refuses, before loading anything,\n"+
		"when no journal at least as new as the backup is reachable; --accept-missing-erasures restores anyway,\n"+
		"and the audit log records it. The vault's master key must be the one the backup's data keys were\n"+
		"wrapped under (--master-key-file or STEWARD_MASTER_KEY).")
	from := fs.String("from", "", "where the backups are: a directory or s3://BUCKET/PREFIX")
	id := fs.String("id", "", "the backup to restore (default: the newest complete one)")
	identityFile := fs.String("identity", "", "the age identity file (from backup keygen) that decrypts the backup")
	jwksFrom := fs.String("jwks", "", "keys to trust for the manifest's signature: a URL or a file (default: the backup signing key in the data directory)")
	accept := fs.Bool("accept-missing-erasures", false, "restore even without an erasure journal newer than the backup (customers erased since may come back)")
	loader := config.RegisterOnly(fs, config.VaultSettings("erasure-journal", "signing-key", "connectors")...)
	if err := parse(fs, args); err != nil {
		return err
	}
	t, identities, err := sourceAndIdentity(ctx, env, *from, *identityFile)
	if err != nil {
		return err
	}
	cfg, err := loader.Load(env.getenv)
	if err != nil {
		return err
	}
	var trusted []ed25519.PublicKey
	if *jwksFrom != "" {
		if trusted, err = trustedBackupKeys(ctx, env, *jwksFrom, loader); err != nil {
			return err
		}
	}
	journal, key, err := app.OpenJournal(ctx, cfg, trusted...)
	if err != nil {
		return err
	}
	if *jwksFrom == "" {
		trusted = []ed25519.PublicKey{key.Public().(ed25519.PublicKey)}
	}
	store, err := db.Open(ctx, cfg.Database, cfg.DataDir)
	if err != nil {
		return err
	}
	defer store.Close()
	log := app.NewLogger(cfg, env.stderr)
	restored, err := recovery.Restore(ctx, store, recovery.RestoreOptions{From: t, ID: *id, Trusted: trusted, Identities: identities,
		Journal: journal, AcceptMissingErasures: *accept})
	if err != nil {
		return err
	}
	if restored.JournalProblem != "" {
		fmt.Fprintf(env.stderr, "warning: restored without a current erasure journal (%s): customers erased since the backup may be back\n", restored.JournalProblem)
	}
	deps, auditLog, closeDeps, err := app.ReplayDeps(ctx, cfg, store, log, true)
	if err != nil {
		return fmt.Errorf("backup %s is loaded, but its erasures cannot be replayed yet (%w); run the restore again into an empty store", restored.Manifest.ID, err)
	}
	defer closeDeps()
	result, err := recovery.Finish(audit.WithActor(ctx, audit.System()), restored, deps, auditLog, *accept)
	fmt.Fprintf(env.stdout, "restored backup %s (taken %s): %d rows in %d tables; %d later erasures replayed\n", restored.Manifest.ID,
		restored.Contents.Snapshot.TakenAt.Format(time.RFC3339), sumRows(restored.Loaded.Tables), len(restored.Loaded.Tables), len(result.Entries))
	if err != nil {
		return fmt.Errorf("some erasures could not be replayed: %w", err)
	}
	return nil
}

// runBackupDrill restores the newest backup into a throwaway store, checks
// it, and records the recovery time and the data's age in the live store.
func runBackupDrill(ctx context.Context, env *environment, args []string) error {
	fs := newFlags(env, "backup drill", "backup drill --from DIR|s3://... --identity FILE [--jwks URL|FILE] [--every 168h] [flags]\n\n"+
		"Restores the newest complete backup into a throwaway store, replays the erasures recorded since\n"+
		"(vault and ledger; never the connected systems), verifies the audit log and the ledger, and prints\n"+
		"the recovery time (RTO) and the age of the data (RPO). The result is recorded in the store named by\n"+
		"--data-dir or --database, for the console and /metrics. Run it where the identity is kept, never on\n"+
		"the server: with --every 168h it stays running and drills weekly.")
	from := fs.String("from", "", "where the backups are: a directory or s3://BUCKET/PREFIX")
	identityFile := fs.String("identity", "", "the age identity file (from backup keygen) that decrypts the backups")
	jwksFrom := fs.String("jwks", "", "keys to trust for the manifest's signature: a URL or a file (default: the backup signing key in the data directory)")
	every := fs.Duration("every", 0, "keep running, one drill per interval (168h: weekly); 0 runs one drill and exits")
	loader := config.RegisterOnly(fs, config.VaultSettings("erasure-journal", "signing-key")...)
	if err := parse(fs, args); err != nil {
		return err
	}
	t, identities, err := sourceAndIdentity(ctx, env, *from, *identityFile)
	if err != nil {
		return err
	}
	cfg, err := loader.Load(env.getenv)
	if err != nil {
		return err
	}
	log := app.NewLogger(cfg, env.stderr)
	svc, live, err := app.OpenRecovery(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer live.Close()
	trusted := []ed25519.PublicKey{svc.PublicKey()}
	if *jwksFrom != "" {
		if trusted, err = trustedBackupKeys(ctx, env, *jwksFrom, loader); err != nil {
			return err
		}
	}
	journal, _, err := app.OpenJournal(ctx, cfg, trusted...)
	if err != nil {
		return err
	}
	drill := func() error {
		rep, drillErr := recovery.Drill(ctx, recovery.DrillOptions{From: t, Trusted: trusted, Identities: identities, Journal: journal,
			Replay: func(ctx context.Context, store *db.DB) (erasure.Deps, audit.Recorder, func(), error) {
				deps, auditLog, closeDeps, err := app.ReplayDeps(ctx, cfg, store, log, false)
				return deps, auditLog, closeDeps, err
			}})
		if err := recovery.Record(ctx, live, rep.Run); err != nil {
			drillErr = errors.Join(drillErr, err)
		}
		if drillErr != nil {
			return drillErr
		}
		fmt.Fprintf(env.stdout, "drill of backup %s passed: RTO %s (restore and checks), RPO %s (age of the data); %d audit entries and %d ledger events verify\n",
			rep.BackupID, rep.RTO.Round(time.Millisecond), rep.RPO.Round(time.Second), rep.AuditEntries, rep.LedgerEvents)
		return nil
	}
	if *every <= 0 {
		return drill()
	}
	for {
		if err := drill(); err != nil {
			fmt.Fprintf(env.stderr, "drill failed: %v\n", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(*every):
		}
	}
}

func sumRows(tables map[string]int64) int64 {
	var n int64
	for _, c := range tables {
		n += c
	}
	return n
}

// sourceAndIdentity opens the target backups are read from and the
// offline identity that decrypts them, both required.
func sourceAndIdentity(ctx context.Context, env *environment, from, identityFile string) (target.Target, []age.Identity, error) {
	t, err := openTarget(ctx, env, "from", from)
	if err != nil {
		return nil, nil, err
	}
	if identityFile == "" {
		return nil, nil, errors.New("--identity: give the age identity file (from backup keygen) that decrypts the backups")
	}
	identities, err := backup.ParseIdentityFile(identityFile)
	if err != nil {
		return nil, nil, fmt.Errorf("--identity: %w", err)
	}
	return t, identities, nil
}
