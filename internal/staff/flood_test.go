package staff_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/staff"
	"github.com/steward-dev/steward/internal/vault/vaulttest"
)

// TestSignInFloodMemory measures the peak resident memory of 120
// concurrent failed sign-ins at the production password cost (64 MiB per
// hash) with the default hash gate, then signs the owner in. It takes a
// few seconds of CPU, so it runs only when asked:
//
//	STEWARD_MEASURE=1 go test ./internal/staff/ -run TestSignInFloodMemory -v
func TestSignInFloodMemory(t *testing.T) {
	if os.Getenv("STEWARD_MEASURE") == "" {
		t.Skip("set STEWARD_MEASURE=1 to measure")
	}
	ctx := context.Background()
	store := dbtest.Open(t, db.SQLite)
	v := vaulttest.Open(t, store)
	box, _ := v.SecretBox("staff-totp")
	log, err := audit.New(audit.Config{DB: store})
	if err != nil {
		t.Fatal(err)
	}
	s, err := staff.NewService(staff.Config{DB: store, Secrets: box, Audit: log}) // DefaultArgon2, DefaultHashGate
	if err != nil {
		t.Fatal(err)
	}
	owner, err := s.Create(ctx, audit.System(), staff.NewAccount{Email: "ona@shop.example", Name: "Ona", Role: staff.RoleAdmin, Password: password})
	if err != nil {
		t.Fatal(err)
	}
	before := status(t, "VmHWM")
	const attempts = 120
	var wg sync.WaitGroup
	var mu sync.Mutex
	outcomes := map[string]int{}
	start := time.Now()
	for i := range attempts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.SignIn(ctx, staff.Credentials{Email: "ona@shop.example", Password: "a wrong guess!", IP: fmt.Sprintf("10.9.%d.%d", i/250, i%250)})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == staff.ErrBusy:
				outcomes["503 busy"]++
			case errs.Is(err, errs.CodeUnauthorized):
				outcomes["401 checked"]++
			default:
				outcomes[fmt.Sprint(err)]++
			}
		}()
	}
	wg.Wait()
	flood := time.Since(start)
	code, _ := staff.TOTPCode(owner.TOTPSecret, time.Now())
	ownerStart := time.Now()
	if _, err := s.SignIn(ctx, staff.Credentials{Email: "ona@shop.example", Password: password, Code: code, IP: "192.0.2.10"}); err != nil {
		t.Fatalf("the owner after the flood: %v", err)
	}
	t.Logf("GOMAXPROCS %d, gate %+v, outcomes %v, flood %v, owner's sign-in %v", runtime.GOMAXPROCS(0), s.HashStats(), outcomes,
		flood.Round(time.Millisecond), time.Since(ownerStart).Round(time.Millisecond))
	t.Logf("peak RSS (VmHWM) before the flood %s, after %s", before, status(t, "VmHWM"))
}

// status returns a field of /proc/self/status.
func status(t *testing.T, field string) string {
	t.Helper()
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status")
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && k == field {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}
