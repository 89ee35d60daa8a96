//go:build linux

package recovery_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/steward-dev/steward/internal/app/apptest"
	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/backup"
	"github.com/steward-dev/steward/internal/backup/snapshot/snaptest"
	"github.com/steward-dev/steward/internal/backup/target"
	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/recovery"
	"github.com/steward-dev/steward/internal/testenv"
)

// BenchmarkBackupRestore measures issue 15's figures on a SQLite server:
// a backup's time and memory, and a restore of it into an empty SQLite
// store and an empty PostgreSQL store. The default size is small, so that
// every path runs in CI; STEWARD_TEST_SOAK=1 runs issue 15's size:
// 1,000,000 consent events, 100,000 vault fields (and their 100,000 audit
// entries) and 100,000 more audit entries.
//
//	STEWARD_TEST_SOAK=1 go test ./internal/recovery -run '^$' -bench BackupRestore -benchtime 1x -timeout 30m
//
// Memory is read from the kernel: the peak resident set of the process
// (VmHWM) during the backup, after /proc/self/clear_refs reset it, so it
// includes the running server (its consent index, SQLite's caches); and
// the growth of that peak over the resident set just before the backup,
// which is what the backup itself adds. The Go heap's peak is sampled too,
// and the process's CPU time during the backup (getrusage), which a
// machine shared with other work does not inflate as it does wall time.
func BenchmarkBackupRestore(b *testing.B) {
	sizes := snaptest.Sizes{Events: 20_000, VaultFields: 2_000, AuditEntries: 2_000}
	if testenv.Soak() {
		sizes = snaptest.Sizes{Events: 1_000_000, VaultFields: 100_000, AuditEntries: 100_000}
	}
	ctx := audit.WithActor(context.Background(), audit.System())
	srv := apptest.Start(b, db.SQLite)
	a := srv.App
	start := time.Now()
	if err := snaptest.BulkFill(ctx, snaptest.Services{Store: a.DB, Ledger: a.Consent, Vault: a.Vault, Audit: a.Audit}, sizes); err != nil {
		b.Fatal(err)
	}
	if _, err := a.Checkpoints.Checkpoint(ctx); err != nil {
		b.Fatal(err)
	}
	b.Logf("filled %+v in %s", sizes, time.Since(start).Round(time.Millisecond))

	to, err := target.OpenDir(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	var identity bytes.Buffer
	recipient, err := backup.GenerateIdentity(&identity)
	if err != nil {
		b.Fatal(err)
	}
	ids, err := age.ParseIdentities(&identity)
	if err != nil {
		b.Fatal(err)
	}
	recipients, err := backup.ParseRecipients([]string{recipient})
	if err != nil {
		b.Fatal(err)
	}

	b.ResetTimer()
	for b.Loop() {
		runtime.GC()
		before := procStatus(b, "VmRSS")
		resetPeakRSS(b)
		heap := testenv.HeapPeak(20 * time.Millisecond)
		cpuBefore := processCPU(b)
		start := time.Now()
		m, err := a.Recovery.Create(ctx, to, recipients)
		elapsed := time.Since(start)
		cpu := processCPU(b) - cpuBefore
		heapPeak := heap()
		if err != nil {
			b.Fatal(err)
		}
		peak := procStatus(b, "VmHWM")
		b.ReportMetric(elapsed.Seconds(), "backup_s")
		b.ReportMetric(cpu.Seconds(), "backup_cpu_s")
		b.ReportMetric(mib(peak), "backup_rss_peak_MiB")
		b.ReportMetric(mib(peak-min(peak, before)), "backup_rss_growth_MiB")
		b.ReportMetric(mib(heapPeak), "backup_heap_peak_MiB")
		b.ReportMetric(mib(uint64(m.StoredSize)), "backup_stored_MiB")

		for _, dialect := range []db.Dialect{db.SQLite, db.Postgres} {
			into := dbtest.Open(b, dialect)
			start := time.Now()
			restored, err := recovery.Restore(ctx, into, recovery.RestoreOptions{From: to, ID: m.ID,
				Trusted: []ed25519.PublicKey{a.Recovery.PublicKey()}, Identities: ids, Journal: a.Journal})
			elapsed := time.Since(start)
			if err != nil {
				b.Fatal(err)
			}
			if got := restored.Loaded.Tables["consent_events"]; got != int64(sizes.Events) {
				b.Fatalf("%s: restored %d consent events, want %d", dialect, got, sizes.Events)
			}
			b.ReportMetric(elapsed.Seconds(), "restore_"+string(dialect)+"_s")
			if !testenv.Soak() {
				// At the small size, prove that the restored copy is
				// whole: both chains verify.
				verifyRestored(b, into)
			}
			into.Close()
		}
	}
}

// verifyRestored checks the restored audit log and consent ledger.
func verifyRestored(b *testing.B, store *db.DB) {
	b.Helper()
	ctx := context.Background()
	ar, err := audit.Verify(ctx, store, audit.VerifyOptions{})
	if err != nil || !ar.OK() {
		b.Fatalf("the restored audit log does not verify: %v %s", err, ar.Message())
	}
	lr, err := consent.Verify(ctx, store, consent.VerifyOptions{})
	if err != nil || !lr.OK() {
		b.Fatalf("the restored consent ledger does not verify: %v %s", err, lr.Message())
	}
}

func mib(bytes uint64) float64 { return float64(bytes) / (1 << 20) }

// procStatus reads a size field of /proc/self/status (VmRSS, VmHWM) in
// bytes; the benchmark skips where there is no such file.
func procStatus(b *testing.B, field string) uint64 {
	b.Helper()
	f, err := os.Open("/proc/self/status")
	if err != nil {
		b.Skipf("no /proc/self/status (%v): resident memory cannot be read here", err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		name, value, ok := strings.Cut(s.Text(), ":")
		if !ok || name != field {
			continue
		}
		kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64)
		if err != nil {
			b.Fatalf("/proc/self/status %s: %v", field, err)
		}
		return kb << 10
	}
	b.Fatalf("/proc/self/status has no %s", field)
	return 0
}

// processCPU returns the CPU time (user and system) the process has used.
func processCPU(b *testing.B) time.Duration {
	b.Helper()
	var u syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &u); err != nil {
		b.Fatalf("getrusage: %v", err)
	}
	return time.Duration(u.Utime.Nano() + u.Stime.Nano())
}

// resetPeakRSS sets VmHWM back to the current resident set (Linux 4.0+:
// writing 5 to clear_refs), so that the next VmHWM is the peak of what
// follows.
func resetPeakRSS(b *testing.B) {
	b.Helper()
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		b.Skipf("cannot reset the peak resident set (%v)", err)
	}
}
