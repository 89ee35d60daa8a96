package vault_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/vault"
)

func seedValue(i int) []byte { return fmt.Appendf(nil, "person-%d@example.org", i) }

// readers reads random seeded subjects (and one token) until stop is
// closed, counting reads and failures.
type readers struct {
	reads, failures atomic.Int64
	firstErr        atomic.Value
	wg              sync.WaitGroup
	stop            chan struct{}
}

func startReaders(v *vault.Vault, n, subjects int, prefix, token string) *readers {
	r := &readers{stop: make(chan struct{})}
	ctx := context.Background()
	for g := range n {
		r.wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 7))
			for {
				select {
				case <-r.stop:
					return
				default:
				}
				i := rng.IntN(subjects)
				var rec vault.Record
				var err error
				if token != "" && g == 0 && i%4 == 0 {
					rec, err = v.Detokenize(ctx, token)
					i = 0
				} else {
					rec, err = v.Get(ctx, vault.SeedSubject(prefix, i), "email")
				}
				r.reads.Add(1)
				if err != nil || string(rec.Value) != string(seedValue(i)) {
					r.failures.Add(1)
					r.firstErr.CompareAndSwap(nil, fmt.Sprintf("read %d: %v", i, err))
				}
			}
		})
	}
	return r
}

func (r *readers) halt() {
	close(r.stop)
	r.wg.Wait()
}

func TestRotateKEKWithConcurrentReaders(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		ring := MustKeyring(t, keyText(1))
		const subjects = 600
		v := MustOpen(t, store, ring, func(c *vault.Config) { c.BatchSize = 25 })
		if err := vault.SeedForTest(ctx, v, "s", subjects, seedValue); err != nil {
			t.Fatal(err)
		}
		token, err := v.Tokenize(ctx, vault.SeedSubject("s", 0), "email")
		if err != nil {
			t.Fatal(err)
		}

		// The operator adds version 2 to every replica's keyring first.
		if _, err := v.RotateKEK(ctx, 2, nil); !errs.Is(err, errs.CodeInvalid) {
			t.Fatalf("RotateKEK to a version not in the keyring: %v", err)
		}
		key2 := vault.GenerateKey()
		ring2 := MustKeyring(t, "2:"+key2)
		check2, _ := ring2.CheckValue(2)
		if err := ring.Add(2, mustDecode(t, key2)); err != nil {
			t.Fatal(err)
		}
		if c, _ := ring.CheckValue(2); c != check2 {
			t.Fatal("Add and ParseKeyring disagree on the check value")
		}
		if err := v.Retire(ctx, 1); !errs.Is(err, errs.CodeConflict) {
			t.Fatalf("Retire(active version) = %v, want conflict", err)
		}
		if err := v.Retire(ctx, 2); !errs.Is(err, errs.CodeNotFound) {
			t.Fatalf("Retire(unused version) = %v, want not found", err)
		}

		// A second replica with the same keyring reads throughout.
		replica := MustOpen(t, store, ring)
		r := startReaders(v, 3, subjects, "s", token)
		r2 := startReaders(replica, 1, subjects, "s", "")
		// A writer adds subjects during the rotation.
		var writes atomic.Int64
		stopWriter := make(chan struct{})
		var writerWG sync.WaitGroup
		writerWG.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stopWriter:
					return
				default:
				}
				if _, err := replica.Put(ctx, fmt.Sprintf("new-%d", i), vault.Field{Name: "email", Category: "contact", Value: []byte("x")}); err != nil {
					t.Errorf("Put during rotation: %v", err)
					return
				}
				writes.Add(1)
			}
		})

		// Interrupt the first attempt after two batches.
		cctx, cancel := context.WithCancel(ctx)
		batches := 0
		_, err = v.RotateKEK(cctx, 2, func(p vault.RotationProgress) {
			if batches++; batches == 2 {
				cancel()
			}
		})
		cancel()
		if err == nil {
			t.Fatal("interrupted rotation reported no error")
		}
		err = v.Retire(ctx, 1)
		if !errs.Is(err, errs.CodeConflict) || !strings.Contains(err.Error(), "still wraps") {
			t.Fatalf("Retire during rotation = %v, want conflict", err)
		}
		st, err := v.KeyStatus(ctx)
		if err != nil || st.Active != 2 || len(st.Versions) != 2 || st.Versions[0].DataKeys == 0 || st.Versions[1].DataKeys == 0 {
			t.Fatalf("KeyStatus mid-rotation = %+v, %v; want keys under both versions", st, err)
		}

		var reports []vault.RotationProgress
		final, err := v.RotateKEK(ctx, 2, func(p vault.RotationProgress) { reports = append(reports, p) })
		if err != nil {
			t.Fatal(err)
		}
		// Reads continue on the new wrapping: wait for a few more of them
		// instead of a fixed time.
		for mark, deadline := r.reads.Load()+r2.reads.Load(), time.Now().Add(10*time.Second); r.reads.Load()+r2.reads.Load() < mark+20; {
			if time.Now().After(deadline) {
				t.Fatal("no reads after the rotation within 10 s")
			}
			time.Sleep(time.Millisecond)
		}
		close(stopWriter)
		writerWG.Wait()
		r.halt()
		r2.halt()

		if n := r.failures.Load() + r2.failures.Load(); n != 0 {
			t.Fatalf("%d of %d reads failed during rotation; first: %v", n, r.reads.Load()+r2.reads.Load(), r.firstErr.Load())
		}
		t.Logf("rotation: %+v; %d reads and %d writes during it, 0 failed", final, r.reads.Load()+r2.reads.Load(), writes.Load())
		if !final.Done || final.Rewrapped < final.Total || len(reports) < 2 || !reports[len(reports)-1].Done {
			t.Fatalf("progress = %+v after %d reports", final, len(reports))
		}

		st, err = v.KeyStatus(ctx)
		if err != nil || st.Versions[0].DataKeys != 0 || st.Versions[1].DataKeys < subjects {
			t.Fatalf("KeyStatus after rotation = %+v, %v", st, err)
		}
		if err := v.Retire(ctx, 2); !errs.Is(err, errs.CodeConflict) {
			t.Fatalf("Retire(new active version) = %v, want conflict", err)
		}
		if err := v.Retire(ctx, 1); err != nil {
			t.Fatalf("Retire(1) after rotation: %v", err)
		}
		if _, err := v.RotateKEK(ctx, 1, nil); err == nil {
			t.Fatal("rotating back to a retired version succeeded")
		}
		st, _ = v.KeyStatus(ctx)
		if st.Versions[0].RetiredAt.IsZero() || st.Versions[0].Loaded {
			t.Fatalf("version 1 after Retire: %+v", st.Versions[0])
		}

		// A replica with only the new key reads everything, the token too.
		only2 := MustOpen(t, store, ring2)
		for i := range subjects {
			rec, err := only2.Get(ctx, vault.SeedSubject("s", i), "email")
			if err != nil || string(rec.Value) != string(seedValue(i)) {
				t.Fatalf("Get with the new key only: %v", err)
			}
		}
		if rec, err := only2.Detokenize(ctx, token); err != nil || string(rec.Value) != string(seedValue(0)) {
			t.Fatalf("token after rotation: %v", err)
		}
		// One with only the old key is refused at start.
		if _, err := vault.Open(ctx, vault.Config{DB: store, Keyring: MustKeyring(t, "1:"+vault.GenerateKey())}); err == nil {
			t.Fatal("Open with only the retired version succeeded")
		}
	})
}

func TestRotateNeedsOldVersion(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		text1, text2 := keyText(1), keyText(2)
		v := MustOpen(t, store, MustKeyring(t, text1))
		MustPut(t, v, "s1", "email", "contact", "a@example.org")
		// A replica that was given version 2 but lost version 1 cannot rewrap.
		replica := MustOpen(t, store, MustKeyring(t, text1+","+text2))
		replica.Seal()
		if err := replica.Unseal(ctx, MustKeyring(t, text2)); err == nil {
			t.Fatal("Unseal without the active version succeeded")
		}
		if err := replica.Unseal(ctx, MustKeyring(t, text1+","+text2)); err != nil {
			t.Fatal(err)
		}
		if _, err := replica.RotateKEK(ctx, 2, nil); err != nil {
			t.Fatal(err)
		}
		// The first vault, still holding version 1 only, reads a key now
		// wrapped under 2: a clear unavailable error, not a wrong answer.
		rec, err := v.Get(ctx, "s1", "email")
		if !errs.Is(err, errs.CodeUnavailable) || !strings.Contains(err.Error(), "KEK version 2") || rec.Value != nil {
			t.Fatalf("Get without the version the key is wrapped under: %v, want unavailable", err)
		}
		if rec, err := replica.Get(ctx, "s1", "email"); err != nil || string(rec.Value) != "a@example.org" {
			t.Fatalf("Get with both versions: %v", err)
		}
		v.Seal()
		if err := v.Unseal(ctx, MustKeyring(t, text1)); err == nil || !strings.Contains(err.Error(), "active KEK version 2") {
			t.Fatalf("Unseal with the old version only: %v", err)
		}
		var sealedErr error = vault.ErrSealed
		if _, err := v.Get(ctx, "s1", "email"); !errors.Is(err, sealedErr) {
			t.Fatalf("Get after a failed Unseal: %v, want sealed", err)
		}
	})
}

func mustDecode(tb testing.TB, b64 string) []byte {
	tb.Helper()
	key, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		tb.Fatal(err)
	}
	return key
}
