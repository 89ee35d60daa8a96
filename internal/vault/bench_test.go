package vault_test

import (
	"context"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/vault"
)

var dialects = []db.Dialect{db.SQLite, db.Postgres}

// BenchmarkGet is a full read of a 64-byte field through the store: one
// query, a cached data key, one AES-GCM open.
func BenchmarkGet(b *testing.B) {
	for _, dialect := range dialects {
		b.Run(string(dialect), func(b *testing.B) {
			ctx := context.Background()
			v := MustOpen(b, dbtest.Open(b, dialect), MustKeyring(b, keyText(1)))
			const n = 1000
			value := func(int) []byte { return make([]byte, 64) }
			if err := vault.SeedForTest(ctx, v, "s", n, value); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := v.Get(ctx, vault.SeedSubject("s", i%n), "email"); err != nil {
					b.Fatal(err)
				}
				i++
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
		})
	}
}

// BenchmarkPut is a full write of a 64-byte field: one transaction that
// reads the key row, seals and upserts. On SQLite each commit is a
// synchronous (FULL) write to disk.
func BenchmarkPut(b *testing.B) {
	for _, dialect := range dialects {
		b.Run(string(dialect), func(b *testing.B) {
			ctx := context.Background()
			v := MustOpen(b, dbtest.Open(b, dialect), MustKeyring(b, keyText(1)))
			const n = 1000
			if err := vault.SeedForTest(ctx, v, "s", n, func(int) []byte { return make([]byte, 64) }); err != nil {
				b.Fatal(err)
			}
			f := vault.Field{Name: "email", Category: "contact", Value: make([]byte, 64)}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := v.Put(ctx, vault.SeedSubject("s", i%n), f); err != nil {
					b.Fatal(err)
				}
				i++
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
		})
	}
}

// BenchmarkRotateKEK100k rewraps 100,000 subjects' data keys while four
// goroutines keep reading; every read must succeed. Goal: at most 60 s.
//
//	go test -run '^$' -bench RotateKEK100k -benchtime 1x ./internal/vault/
func BenchmarkRotateKEK100k(b *testing.B) {
	const subjects = 100_000
	for _, dialect := range dialects {
		b.Run(string(dialect), func(b *testing.B) {
			ctx := context.Background()
			ring := MustKeyring(b, keyText(1))
			v := MustOpen(b, dbtest.Open(b, dialect), ring)
			seedStart := time.Now()
			if err := vault.SeedForTest(ctx, v, "s", subjects, seedValue); err != nil {
				b.Fatal(err)
			}
			b.Logf("seeded %d subjects in %s", subjects, time.Since(seedStart).Round(time.Millisecond))
			for version := 2; version <= b.N+1; version++ {
				if err := ring.Add(version, mustDecode(b, vault.GenerateKey())); err != nil {
					b.Fatal(err)
				}
			}
			r := startReaders(v, 4, subjects, "s", "")
			var total time.Duration
			b.ResetTimer()
			for i := range b.N {
				p, err := v.RotateKEK(ctx, i+2, nil)
				if err != nil {
					b.Fatal(err)
				}
				if p.Rewrapped != subjects {
					b.Fatalf("rewrapped %d, want %d", p.Rewrapped, subjects)
				}
				total += p.Elapsed
			}
			b.StopTimer()
			r.halt()
			if f := r.failures.Load(); f != 0 {
				b.Fatalf("%d of %d concurrent reads failed; first: %v", f, r.reads.Load(), r.firstErr.Load())
			}
			perRotation := total / time.Duration(b.N)
			b.ReportMetric(perRotation.Seconds(), "s/rotation")
			b.ReportMetric(float64(subjects)/perRotation.Seconds(), "keys/s")
			b.ReportMetric(float64(r.reads.Load())/total.Seconds(), "reads/s")
			b.Logf("%s: %d data keys rewrapped in %s per rotation, %d concurrent reads, 0 failed",
				dialect, subjects, perRotation.Round(time.Millisecond), r.reads.Load())
			if perRotation > 60*time.Second {
				b.Errorf("rotation took %s, goal 60s", perRotation)
			}
		})
	}
}
