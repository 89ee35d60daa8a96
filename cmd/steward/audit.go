package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/steward-dev/steward/internal/app"
	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/config"
)

const (
	auditVerifySynopsis = "audit verify [--checkpoint FILE] [--strict] [--vkey KEY] [flags] | audit verify --bundle FILE [--key FILE]"
	auditExportSynopsis = "audit export --from TIME --to TIME --out FILE [flags]"
)

// runAudit verifies the audit log (`steward audit verify`), exports an
// evidence bundle of it (`steward audit export`) or verifies one offline
// (`steward audit verify --bundle`).
func runAudit(ctx context.Context, env *environment, args []string) error {
	if len(args) > 0 && args[0] == "export" {
		return runAuditExport(ctx, env, args[1:])
	}
	if len(args) == 0 || args[0] != "verify" {
		fmt.Fprintln(env.stderr, "Usage: steward "+auditVerifySynopsis)
		fmt.Fprintln(env.stderr, "       steward "+auditExportSynopsis)
		return errUsage
	}
	fs := newFlags(env, "audit verify", auditVerifySynopsis)
	loader := config.RegisterOnly(fs, config.StoreSettings("audit-checkpoint-file")...)
	checkpoint := fs.String("checkpoint", "", "checkpoint file to check against (default: --audit-checkpoint-file, or audit-checkpoints.txt in the data directory, when present)")
	strict := fs.Bool("strict", false, "fail when entries that no signed checkpoint covers are older than --grace (by default they are only reported)")
	grace := fs.Duration("grace", audit.DefaultGrace, "with --strict, how old uncovered entries may be")
	vkey := fs.String("vkey", "", "verifier key (name+hex+base64) that checkpoints must be signed with; without it the keys recorded in the database are trusted")
	bundle := fs.String("bundle", "", "verify this evidence bundle (made by audit export) offline, instead of the database")
	keyFile := fs.String("key", "", "with --bundle: a file of the verifier keys the company publishes (one name+hex+base64 per line); without it, the keys carried in the bundle are used")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if *bundle != "" {
		return verifyBundleFile(env, *bundle, *keyFile, *vkey)
	}
	if *keyFile != "" {
		return errors.New("--key goes with --bundle; to pin the key of the live log, use --vkey")
	}
	store, cfg, err := openStore(ctx, env, loader)
	if err != nil {
		return err
	}
	defer store.Close()
	// A configured file must be there (a missing witness is a finding);
	// the data directory's is checked when present.
	file := *checkpoint
	if file == "" && cfg.AuditCheckpointFile != "" {
		file = cfg.AuditCheckpointFile
	} else if file == "" {
		if _, err := os.Stat(app.CheckpointFile(cfg)); err == nil {
			file = app.CheckpointFile(cfg)
		}
	}
	opts := audit.VerifyOptions{CheckpointFile: file, Strict: *strict, Grace: *grace}
	if *vkey != "" {
		opts.VerifierKeys = append(opts.VerifierKeys, *vkey)
	}
	return audit.VerifyCommand(ctx, store, opts, env.stdout)
}

// errBundleFailed is returned when a bundle does not verify; the report,
// on stdout, names the fault.
var errBundleFailed = errors.New("the audit bundle does not verify")

// verifyBundleFile runs `steward audit verify --bundle FILE`: no store, no
// configuration, only the file and the keys given.
func verifyBundleFile(env *environment, path, keyFile, vkey string) error {
	var trusted []*audit.Verifier
	if keyFile != "" {
		keys, err := readVerifierKeys(keyFile)
		if err != nil {
			return err
		}
		trusted = append(trusted, keys...)
	}
	if vkey != "" {
		v, err := audit.NewVerifier(vkey)
		if err != nil {
			return fmt.Errorf("--vkey: %w", err)
		}
		trusted = append(trusted, v)
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("--bundle: %w", err)
	}
	defer f.Close()
	r, err := audit.VerifyBundle(bufio.NewReaderSize(f, 1<<16), trusted...)
	if err != nil {
		return fmt.Errorf("--bundle %s: %w", path, err)
	}
	fmt.Fprintln(env.stdout, r.Message())
	switch {
	case !r.OK():
		return fmt.Errorf("%w: %s", errBundleFailed, r.Problems[0])
	case !r.Proven():
		return fmt.Errorf("%w: %d entries of its range are not covered by a signed checkpoint", errBundleFailed, r.Uncovered)
	}
	return nil
}

// readVerifierKeys reads a file of verifier keys, one a line; blank lines
// and lines starting with # are skipped.
func readVerifierKeys(path string) ([]*audit.Verifier, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--key: %w", err)
	}
	var keys []*audit.Verifier
	for n, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		v, err := audit.NewVerifier(line)
		if err != nil {
			return nil, fmt.Errorf("--key %s, line %d: %w", path, n+1, err)
		}
		keys = append(keys, v)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("--key %s holds no verifier key (name+hex+base64, as `steward serve` logs it)", path)
	}
	return keys, nil
}

// runAuditExport writes the evidence bundle of a time range to a new file:
// `steward audit export --from T1 --to T2 --out FILE`.
func runAuditExport(ctx context.Context, env *environment, args []string) error {
	fs := newFlags(env, "audit export", auditExportSynopsis)
	loader := config.RegisterOnly(fs, config.StoreSettings()...)
	fromText := fs.String("from", "", "first time of the range, RFC 3339 (2026-11-28T00:00:00Z)")
	toText := fs.String("to", "", "last time of the range, RFC 3339; entries written at it are included")
	out := fs.String("out", "", "the bundle file to write; it must not exist")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("audit export takes no arguments, got %q", fs.Arg(0))
	}
	from, err := parseFlagTime("--from", *fromText)
	if err != nil {
		return err
	}
	to, err := parseFlagTime("--to", *toText)
	if err != nil {
		return err
	}
	switch {
	case to.Before(from):
		return fmt.Errorf("--to %s is before --from %s", *toText, *fromText)
	case to.Equal(from):
		return fmt.Errorf("--from and --to are both %s: the range is empty", *fromText)
	case *out == "":
		return errors.New("--out: name the bundle file to write")
	}
	if _, err := os.Lstat(*out); err == nil {
		return fmt.Errorf("--out %s exists: a bundle is never written over a file", *out)
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("--out: %w", err)
	}
	store, _, err := openStore(ctx, env, loader)
	if err != nil {
		return err
	}
	defer store.Close()
	log, err := audit.New(audit.Config{DB: store})
	if err != nil {
		return err
	}
	// The bundle names subjects: readable by its owner only, and made
	// exclusively, so that an existing file is never replaced.
	f, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	sum, err := log.ExportBundle(ctx, from, to, f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(*out)
		return err
	}
	fmt.Fprintf(env.stdout, "wrote %s: %d entries (%d to %d) written from %s to %s", *out, sum.Last-sum.First+1, sum.First, sum.Last,
		from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339))
	if sum.Through > sum.Last {
		fmt.Fprintf(env.stdout, ", and %d more up to checkpoint %d", sum.Through-sum.Last, sum.Through)
	}
	fmt.Fprintf(env.stdout, "; %d signed checkpoints, keys %s\n", sum.Checkpoints, strings.Join(sum.KeyIDs, ", "))
	if sum.Uncovered > 0 {
		fmt.Fprintf(env.stderr, "warning: the last %d entries of the range are not covered by a signed checkpoint yet; "+
			"a running server signs one within a second: export again to have them proven\n", sum.Uncovered)
	}
	return nil
}

func parseFlagTime(flagName, text string) (time.Time, error) {
	if text == "" {
		return time.Time{}, fmt.Errorf("%s: give a time in RFC 3339, such as 2026-11-28T00:00:00Z", flagName)
	}
	t, err := time.Parse(time.RFC3339Nano, text)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s %q is not an RFC 3339 time, such as 2026-11-28T00:00:00Z", flagName, text)
	}
	return t, nil
}
