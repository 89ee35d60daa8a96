package recovery

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"filippo.io/age"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/backup"
	"github.com/steward-dev/steward/internal/backup/snapshot"
	"github.com/steward-dev/steward/internal/backup/target"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/erasure"
	"github.com/steward-dev/steward/internal/errs"
)

// Contents is what a backup's signed manifest says it holds.
type Contents struct {
	Snapshot snapshot.Summary `json:"snapshot"`
	Journal  JournalCopy      `json:"erasure_journal"`
}

// JournalCopy describes the erasure journal a backup carries and the mark
// it left after its snapshot.
type JournalCopy struct {
	// Entries is how many entries (marks included) the backup carries:
	// those written at or before UpTo, which precedes the snapshot.
	Entries int       `json:"entries"`
	UpTo    time.Time `json:"up_to"`
	// MarkedAt is when the mark written after the snapshot was taken: a
	// journal that is current for this backup has its head at or after it.
	MarkedAt time.Time `json:"marked_at"`
}

// Config is what the service needs.
type Config struct {
	DB *db.DB
	// Journal is the erasure journal: every backup carries it and marks it.
	Journal *erasure.Journal
	// Key is the backup signing key (backup.LoadOrCreateSigningKey).
	Key   ed25519.PrivateKey
	Audit audit.Recorder
	Now   func() time.Time
	Log   *slog.Logger
}

// Service takes backups of one store and keeps the record of backups and
// drills.
type Service struct {
	db      *db.DB
	journal *erasure.Journal
	key     ed25519.PrivateKey
	audit   audit.Recorder
	now     func() time.Time
	log     *slog.Logger
}

// New returns the service.
func New(cfg Config) (*Service, error) {
	if cfg.DB == nil || cfg.Journal == nil || len(cfg.Key) != ed25519.PrivateKeySize || cfg.Audit == nil {
		return nil, errors.New("recovery: New needs a DB, an erasure journal, a backup signing key and an audit Recorder")
	}
	s := &Service{db: cfg.DB, journal: cfg.Journal, key: cfg.Key, audit: cfg.Audit, now: cfg.Now, log: cfg.Log}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s, nil
}

// PublicKey is the backup signing key's public half, which verifiers trust.
func (s *Service) PublicKey() ed25519.PublicKey { return s.key.Public().(ed25519.PublicKey) }

// Create takes a backup of the store to t, encrypted to recipients, while
// writers carry on: it marks the journal, carries it, dumps the store in
// one read transaction, and marks the journal again once the snapshot is
// taken. The run is recorded, and audited (backup.create).
func (s *Service) Create(ctx context.Context, t target.Target, recipients []age.Recipient) (backup.Manifest, error) {
	started := s.now()
	m, err := backup.Create(ctx, t, backup.CreateOptions{Recipients: recipients, Signer: s.key, Now: s.now},
		func(ctx context.Context, w io.Writer) (any, error) { return s.writeState(ctx, w) })
	run := Run{Kind: KindBackup, BackupID: m.ID, Target: t.String(), StartedAt: started, FinishedAt: s.now(), OK: err == nil, StoredBytes: m.StoredSize}
	if err != nil {
		run.Message = err.Error()
	}
	if rerr := s.record(ctx, run); rerr != nil {
		err = errors.Join(err, rerr)
	}
	if err != nil {
		return m, fmt.Errorf("backup to %s: %w", t, err)
	}
	if _, err := s.audit.Append(ctx, audit.Entry{Actor: audit.ActorFrom(ctx), Action: "backup.create",
		Details: audit.MustDetails(map[string]any{"backup": m.ID, "target": t.String(), "chunks": len(m.Chunks), "stored_bytes": m.StoredSize})}); err != nil {
		return m, fmt.Errorf("backup %s is taken, but the audit log cannot be written: %w", m.ID, err)
	}
	return m, nil
}

// writeState writes the state stream: the journal up to a mark, then the
// snapshot, then a second mark that a restore's journal must reach.
func (s *Service) writeState(ctx context.Context, w io.Writer) (Contents, error) {
	var c Contents
	upTo, err := s.journal.Mark(ctx, "backup.start")
	if err != nil {
		return c, fmt.Errorf("mark the erasure journal: %w", err)
	}
	var journal bytes.Buffer
	if err := s.journal.Export(ctx, upTo, &journal); err != nil {
		return c, fmt.Errorf("carry the erasure journal: %w", err)
	}
	carried, err := s.journal.ReadExport(bytes.NewReader(journal.Bytes()))
	if err != nil {
		return c, fmt.Errorf("carry the erasure journal: %w", err)
	}
	c.Journal = JournalCopy{Entries: len(carried), UpTo: upTo}
	bw := bufio.NewWriterSize(w, 256<<10)
	if _, err := bw.WriteString(stateMagic); err != nil {
		return c, err
	}
	sec, err := newSection(bw, sectionErasures)
	if err != nil {
		return c, err
	}
	if _, err := sec.Write(journal.Bytes()); err != nil {
		return c, err
	}
	if err := sec.Close(); err != nil {
		return c, err
	}
	if sec, err = newSection(bw, sectionSnapshot); err != nil {
		return c, err
	}
	if c.Snapshot, err = snapshot.Dump(ctx, s.db, sec); err != nil {
		return c, err
	}
	if err := sec.Close(); err != nil {
		return c, err
	}
	if err := bw.Flush(); err != nil {
		return c, err
	}
	if c.Journal.MarkedAt, err = s.journal.Mark(ctx, "backup.taken:"+c.Snapshot.TakenAt.UTC().Format("20060102T150405.000000Z")); err != nil {
		return c, fmt.Errorf("mark the erasure journal: %w", err)
	}
	return c, nil
}

// RestoreOptions say which backup to restore and how.
type RestoreOptions struct {
	From target.Target
	// ID is the backup; empty: the newest complete one.
	ID         string
	Trusted    []ed25519.PublicKey
	Identities []age.Identity
	// Journal is the current erasure journal; nil when none is reachable.
	Journal *erasure.Journal
	// AcceptMissingErasures restores even when the journal is missing,
	// older than the backup or lacks what the backup carried: customers
	// erased after the backup may then come back. The audit log says so.
	AcceptMissingErasures bool
}

// Restored is what Restore brought back, and what Finish must still do.
type Restored struct {
	Manifest backup.Manifest
	Contents Contents
	// Loaded is what the snapshot held, as loaded and counted.
	Loaded snapshot.Summary
	// Pending are the erasures written after the snapshot: Finish replays
	// them over the restored store.
	Pending []erasure.Entry
	// JournalProblem says why the journal check failed, when
	// AcceptMissingErasures waived it.
	JournalProblem string
}

// Restore loads a backup into into, which must be empty (no migration
// applied, or none beyond the backup's schema, and no rows). It checks the
// erasure journal first and refuses, before loading anything, when no
// journal at least as new as the backup is reachable (unless accepted).
// Afterwards the store is migrated to this binary's schema. The caller
// then calls Finish with the restored store's services.
func Restore(ctx context.Context, into *db.DB, opts RestoreOptions) (Restored, error) {
	var res Restored
	id := opts.ID
	if id == "" {
		var err error
		if id, err = NewestComplete(ctx, opts.From); err != nil {
			return res, err
		}
	}
	m, stream, err := backup.Open(ctx, opts.From, id, opts.Trusted, opts.Identities)
	if err != nil {
		return res, fmt.Errorf("open backup %s: %w", id, err)
	}
	defer stream.Close()
	res.Manifest = m
	if err := json.Unmarshal(m.Contents, &res.Contents); err != nil || res.Contents.Snapshot.SchemaVersion == 0 {
		return res, fmt.Errorf("backup %s: its manifest does not describe a Steward snapshot", id)
	}
	if res.JournalProblem = journalProblem(ctx, opts.Journal, res.Contents.Journal); res.JournalProblem != "" && !opts.AcceptMissingErasures {
		return res, errs.New(errs.CodeConflict, "backup %s was not restored: %s. Customers erased after the backup would come back. "+
			"Give the current erasure journal (--erasure-journal), or --accept-missing-erasures to restore anyway (the audit log records it)",
			id, res.JournalProblem)
	}
	state, err := newStateReader(stream)
	if err != nil {
		return res, err
	}
	journalSection, err := state.section(sectionErasures)
	if err != nil {
		return res, err
	}
	if opts.Journal != nil {
		carried, err := opts.Journal.ReadExport(journalSection)
		if err != nil {
			return res, fmt.Errorf("backup %s: the erasure journal it carries: %w", id, err)
		}
		if len(carried) != res.Contents.Journal.Entries {
			return res, fmt.Errorf("backup %s carries %d journal entries, its manifest says %d", id, len(carried), res.Contents.Journal.Entries)
		}
		if err := opts.Journal.Contains(ctx, carried); err != nil {
			if !opts.AcceptMissingErasures {
				return res, errs.New(errs.CodeConflict, "backup %s was not restored: the erasure journal given is not the one this backup carried (%v); "+
					"give the current journal, or --accept-missing-erasures", id, err)
			}
			res.JournalProblem = joinProblem(res.JournalProblem, err.Error())
		}
	}
	if err := drain(journalSection); err != nil {
		return res, err
	}
	version, err := into.SchemaVersion(ctx)
	if err != nil {
		return res, err
	}
	if version < res.Contents.Snapshot.SchemaVersion {
		if err := into.MigrateTo(ctx, res.Contents.Snapshot.SchemaVersion); err != nil {
			return res, fmt.Errorf("prepare the empty store for backup %s: %w", id, err)
		}
	}
	snap, err := state.section(sectionSnapshot)
	if err != nil {
		return res, err
	}
	if res.Loaded, err = snapshot.Load(ctx, into, snap); err != nil {
		return res, fmt.Errorf("load backup %s: %w", id, err)
	}
	if err := drain(snap); err != nil {
		return res, err
	}
	if err := state.end(); err != nil {
		return res, err
	}
	if err := into.Migrate(ctx); err != nil {
		return res, fmt.Errorf("migrate the restored store: %w", err)
	}
	if opts.Journal != nil {
		since, err := opts.Journal.Since(ctx, res.Contents.Snapshot.TakenAt)
		if err != nil && !opts.AcceptMissingErasures {
			return res, fmt.Errorf("read the erasure journal: %w", err)
		}
		for _, e := range since {
			if e.Kind == erasure.KindErasure {
				res.Pending = append(res.Pending, e)
			}
		}
	}
	return res, nil
}

// journalProblem says why journal cannot vouch for a backup, or "".
func journalProblem(ctx context.Context, journal *erasure.Journal, c JournalCopy) string {
	if journal == nil {
		return "no erasure journal is reachable"
	}
	head, err := journal.Head(ctx)
	switch {
	case err != nil:
		return "the erasure journal cannot be read: " + err.Error()
	case head.Before(c.MarkedAt):
		return fmt.Sprintf("the erasure journal given ends at %s, before the backup's mark (%s): it is older than the backup",
			head.UTC().Format(time.RFC3339), c.MarkedAt.UTC().Format(time.RFC3339))
	}
	return ""
}

func joinProblem(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// Finish replays the pending erasures over the restored store and records
// the restore in its audit log (backup.restored), linking the backup's
// last signed checkpoint. A replay that fails for some entries still
// records the restore, then returns the failures.
func Finish(ctx context.Context, r Restored, deps erasure.Deps, log audit.Recorder, accepted bool) (erasure.Result, error) {
	result, replayErr := erasure.Replay(ctx, r.Pending, deps)
	details := map[string]any{"backup": r.Manifest.ID, "taken_at": r.Contents.Snapshot.TakenAt.Format(time.RFC3339Nano),
		"replayed_erasures": len(r.Pending), "accept_missing_erasures": accepted}
	if len(r.Contents.Snapshot.Checkpoint) > 0 {
		var cp snapshot.Checkpoint
		if err := json.Unmarshal(r.Contents.Snapshot.Checkpoint, &cp); err == nil {
			details["checkpoint_size"], details["checkpoint_root"] = cp.Size, cp.Root
		}
	}
	if r.JournalProblem != "" {
		details["journal_problem"] = r.JournalProblem
	}
	if replayErr != nil {
		details["replay_failed"] = true
	}
	if _, err := log.Append(ctx, audit.Entry{Actor: audit.ActorFrom(ctx), Action: "backup.restored", Details: audit.MustDetails(details)}); err != nil {
		return result, errors.Join(replayErr, fmt.Errorf("the audit log cannot record the restore: %w", err))
	}
	return result, replayErr
}

// NewestComplete returns the id of the newest complete backup at t.
func NewestComplete(ctx context.Context, t target.Target) (string, error) {
	list, err := backup.List(ctx, t)
	if err != nil {
		return "", err
	}
	for i := len(list) - 1; i >= 0; i-- {
		if list[i].Complete {
			return list[i].ID, nil
		}
	}
	return "", errs.New(errs.CodeNotFound, "no complete backup at %s", t)
}

func newRunID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "bkr_" + hex.EncodeToString(b[:])
}
