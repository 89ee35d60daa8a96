package retention_test

import (
	"context"
	"crypto/ed25519"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/backup/target"
	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/erasure"
	"github.com/steward-dev/steward/internal/retention"
	"github.com/steward-dev/steward/internal/retention/period"
)

// fakeRequests retires the requests it is given, as dsr.RetireClosed
// would (its SQL is tested in internal/dsr); it records what it was asked.
type fakeRequests struct {
	closed  []string
	before  time.Time
	held    []string
	retired []string
}

func (f *fakeRequests) RetireClosed(_ context.Context, before time.Time, held []string, dryRun bool) ([]string, error) {
	f.before, f.held = before, held
	out := slices.Clone(f.closed)
	if !dryRun {
		f.retired = append(f.retired, out...)
		f.closed = nil
	}
	return out, nil
}

type fakeArchives struct{ deleted []string }

func (f *fakeArchives) DeleteFor(_ context.Context, _ string, ids []string) (int, error) {
	f.deleted = append(f.deleted, ids...)
	return 2 * len(ids), nil
}
func (f *fakeArchives) CountFor(_ context.Context, ids []string) (int, error) {
	return 2 * len(ids), nil
}

type fakeLedger struct {
	dormant      []string
	pseudonymous []string
}

func (f *fakeLedger) DormantSubjects(_ context.Context, _ time.Time, after string, limit int) ([]string, error) {
	var out []string
	for _, s := range f.dormant {
		if s > after && len(out) < limit && !slices.Contains(f.pseudonymous, s) {
			out = append(out, s)
		}
	}
	return out, nil
}

func (f *fakeLedger) Pseudonymise(_ context.Context, subject string) (consent.Pseudonymised, error) {
	f.pseudonymous = append(f.pseudonymous, subject)
	return consent.Pseudonymised{}, nil
}

// TestRunRequestsAndLedger: closed requests past the requests period are
// retired with their archives, dormant ledger subjects past the proof
// period are pseudonymised, held subjects are passed on or skipped, and a
// dry run counts without changing.
func TestRunRequestsAndLedger(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := audit.WithActor(context.Background(), audit.System())
		log, err := audit.New(audit.Config{DB: store})
		if err != nil {
			t.Fatal(err)
		}
		reqs := &fakeRequests{closed: []string{"req_1", "req_2"}}
		arch := &fakeArchives{}
		ledger := &fakeLedger{dormant: []string{ada, bob, "cust-cy-4713"}}
		twoYears, _ := period.Parse("2y")
		threeYears, _ := period.Parse("3y")
		now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
		svc, err := retention.New(retention.Config{DB: store, Audit: log, Now: func() time.Time { return now },
			Requests: reqs, Archives: arch, RequestsPeriod: twoYears, Ledger: ledger, LedgerProof: threeYears})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.PlaceHold(ctx, ada, "Claim 2029-3"); err != nil {
			t.Fatal(err)
		}
		want := "requests// retire 2, archives// delete 4, ledger// pseudonymise 2"
		dry, err := svc.Run(ctx, true)
		if err != nil || counts(dry) != want {
			t.Fatalf("dry run: %s, %v; want %s", counts(dry), err, want)
		}
		if len(reqs.retired) != 0 || len(arch.deleted) != 0 || len(ledger.pseudonymous) != 0 {
			t.Fatal("the dry run changed something")
		}
		if !slices.Equal(reqs.held, []string{ada}) || !reqs.before.Equal(time.Date(2028, 1, 1, 0, 0, 0, 0, time.UTC)) {
			t.Fatalf("requests asked with held %v before %s", reqs.held, reqs.before)
		}
		real, err := svc.Run(ctx, false)
		if err != nil || counts(real) != want {
			t.Fatalf("run: %s, %v; want %s", counts(real), err, want)
		}
		if !slices.Equal(arch.deleted, []string{"req_1", "req_2"}) || !slices.Equal(ledger.pseudonymous, []string{bob, "cust-cy-4713"}) {
			t.Fatalf("archives deleted %v, subjects pseudonymised %v", arch.deleted, ledger.pseudonymous)
		}
		if again, err := svc.Run(ctx, false); err != nil || counts(again) != "requests// retire 0, archives// delete 0, ledger// pseudonymise 0" {
			t.Fatalf("second run: %s, %v", counts(again), err)
		}
	})
}

// Each subject the ledger pseudonymises is journaled; when the journal
// cannot be written the ledger's part stops and fails after the subject it
// could not record.
func TestRunJournalsPseudonymisedSubjects(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := audit.WithActor(context.Background(), audit.System())
		log, _ := audit.New(audit.Config{DB: store})
		dir := t.TempDir()
		tg, _ := target.OpenDir(dir)
		_, key, _ := ed25519.GenerateKey(nil)
		journal := erasure.Open(tg, key, erasure.Options{})
		threeYears, _ := period.Parse("3y")
		now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
		ledger := &fakeLedger{dormant: []string{ada, bob}}
		svc, err := retention.New(retention.Config{DB: store, Audit: log, Now: func() time.Time { return now },
			Ledger: ledger, LedgerProof: threeYears, Erasures: journal})
		if err != nil {
			t.Fatal(err)
		}
		blocker := filepath.Join(dir, "erasures")
		os.WriteFile(blocker, []byte("not a directory"), 0o600)
		r, err := svc.Run(ctx, false)
		if err == nil || !slices.Equal(r.Failed, []string{retention.SystemLedger}) || len(ledger.pseudonymous) != 1 {
			t.Fatalf("run with the journal down: failed %v, pseudonymised %v, %v", r.Failed, ledger.pseudonymous, err)
		}
		os.Remove(blocker)
		if _, err := svc.Run(ctx, false); err != nil {
			t.Fatal(err)
		}
		entries, err := journal.Since(ctx, time.Time{})
		if err != nil || len(entries) != 1 || entries[0].Subject != bob || entries[0].Source != erasure.SourceRetention || entries[0].Ledger == nil || entries[0].Vault != nil {
			t.Fatalf("journal: %+v, %v", entries, err)
		}
	})
}
