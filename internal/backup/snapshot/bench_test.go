package snapshot_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/backup/snapshot"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/testenv"
)

// bulkFill inserts events consent events, fields vault fields (five per
// subject, each subject with a wrapped data key) and entries audit entries
// straight in SQL, with values of realistic sizes (32-byte hashes, a
// receipt of ~300 characters, ciphertexts of ~80 bytes).
func bulkFill(tb testing.TB, store *db.DB, events, fields, entries int) {
	tb.Helper()
	ctx := context.Background()
	series := func(n int) string {
		if store.Dialect == db.Postgres {
			return `(SELECT generate_series AS i FROM generate_series(1, ` + strconv.Itoa(n) + `)) n`
		}
		return `(WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < ` + strconv.Itoa(n) + `) SELECT i FROM s) n`
	}
	blob := func(bytes int, salt string) string {
		if store.Dialect == db.Postgres {
			return `substring(decode(md5(i::text || '` + salt + `') || md5(i::text || '` + salt + `x') || md5(i::text || '` + salt + `y') || md5(i::text || '` + salt + `z') || md5(i::text || '` + salt + `w') || md5(i::text || '` + salt + `v'), 'hex') from 1 for ` + strconv.Itoa(bytes) + `)`
		}
		return `randomblob(` + strconv.Itoa(bytes) + `)`
	}
	cat := "||"
	receipt := `'eyJhbGciOiJFZERTQSJ9.' ` + cat + ` repeat('x', 260) ` + cat + ` i`
	if store.Dialect == db.SQLite {
		receipt = `'eyJhbGciOiJFZERTQSJ9.' || printf('%.260c', 'x') || i`
	}
	stmts := []string{
		`INSERT INTO properties (key, name, domains, jurisdiction_rules, default_jurisdiction, policy_url, created_at, updated_at) VALUES ('bench', 'Bench', '[]', '[]', 'EU', 'https://bench.example/privacy', 1, 1)`,
		`INSERT INTO purposes (key, names, descriptions, legal_basis, necessary, sale_or_sharing, created_at, updated_at) VALUES ('analytics', '{}', '{}', 'consent', ` + store.Bool(false) + `, ` + store.Bool(false) + `, 1, 1)`,
		`INSERT INTO consent_events (seq, property, event_id, subject_id, device_id, purpose, vendor, action, source, notice_version, jurisdiction, gpc, dnt, tc_string, at, recorded_at, prev_seq, hash, salt, principal_mac, receipt, receipt_hash)
		SELECT i, 'bench', 'ev-' || i, 'subj-' || (i % 100000), NULL, 'analytics', '', 'grant', 'banner', '2026-01', 'EU', ` + store.Bool(false) + `, ` + store.Bool(false) + `, '', 1767225600000000 + i, 1767225600000000 + i, i - 1, ` +
			blob(32, "h") + `, ` + blob(16, "s") + `, ` + blob(32, "m") + `, ` + receipt + `, ` + blob(32, "r") + ` FROM ` + series(events),
		`UPDATE ledger_head SET seq = ` + strconv.Itoa(events) + `, chain_seq = ` + strconv.Itoa(events),
		`INSERT INTO vault_keys (subject_id, dek_version, kek_version, wrapped, created_at, rewrapped_at) SELECT 'subj-' || i, 1, 1, ` + blob(60, "k") + `, 1, 1 FROM ` + series(fields/5),
		`INSERT INTO vault_fields (subject_id, name, category, dek_version, ciphertext, size, created_at, updated_at, expires_at)
		SELECT 'subj-' || ((i - 1) / 5 + 1), 'field-' || (i % 5), 'contact', 1, ` + blob(80, "c") + `, 40, 1, 1, NULL FROM ` + series(fields),
		`INSERT INTO audit_entries (seq, at, actor_kind, actor_id, action, target_kind, target_id, details, prev_hash, hash)
		SELECT i, 1767225600000000 + i, 'staff', 'stf_bench', 'vault.reveal', 'subject', 'subj-' || (i % 20000), '{"field":"iban","purpose":"refund ticket ' || i || '"}', ` + blob(32, "p") + `, ` + blob(32, "a") + ` FROM ` + series(entries),
	}
	for _, s := range stmts {
		if _, err := store.ExecContext(ctx, s); err != nil {
			tb.Fatalf("bulk fill: %v\n%s", err, s)
		}
	}
}

// BenchmarkDumpLoad measures a dump of each engine (time, peak heap,
// snapshot size) and a load of the SQLite snapshot into each engine. Its
// default size is small; STEWARD_TEST_SOAK=1 runs issue 15's size:
// 1,000,000 consent events, 100,000 vault fields, 100,000 audit entries.
//
//	STEWARD_TEST_SOAK=1 go test ./internal/backup/snapshot -run '^$' -bench DumpLoad -benchtime 1x
func BenchmarkDumpLoad(b *testing.B) {
	events, fields, entries := 20000, 2000, 2000
	if testenv.Soak() {
		events, fields, entries = 1_000_000, 100_000, 100_000
	}
	ctx := context.Background()
	for _, from := range dialects {
		b.Run("from_"+string(from), func(b *testing.B) {
			source := dbtest.Open(b, from)
			bulkFill(b, source, events, fields, entries)
			path := filepath.Join(b.TempDir(), "snapshot")
			b.ResetTimer()
			for range b.N {
				f, err := os.Create(path)
				if err != nil {
					b.Fatal(err)
				}
				stop := testenv.HeapPeak(20 * time.Millisecond)
				start := time.Now()
				sum, err := snapshot.Dump(ctx, source, f)
				dumpTime := time.Since(start)
				peak := stop()
				if err != nil {
					b.Fatal(err)
				}
				if err := f.Close(); err != nil {
					b.Fatal(err)
				}
				if sum.Tables["consent_events"] != int64(events) {
					b.Fatalf("dumped %d events", sum.Tables["consent_events"])
				}
				info, _ := os.Stat(path)
				b.ReportMetric(dumpTime.Seconds(), "dump_s")
				b.ReportMetric(float64(peak)/(1<<20), "dump_peak_heap_MiB")
				b.ReportMetric(float64(info.Size())/(1<<20), "snapshot_MiB")
				for _, to := range dialects {
					target := dbtest.Open(b, to)
					f, err := os.Open(path)
					if err != nil {
						b.Fatal(err)
					}
					start := time.Now()
					_, err = snapshot.Load(ctx, target, f)
					f.Close()
					if err != nil {
						b.Fatal(err)
					}
					b.ReportMetric(time.Since(start).Seconds(), "load_"+string(to)+"_s")
					target.Close()
				}
			}
		})
	}
}
