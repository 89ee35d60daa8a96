package consent_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/ethics/ethicstest"
	"github.com/steward-dev/steward/internal/receipt"
)

// openWithSnapshot opens a service on store that starts from and writes
// the snapshot at path; seeded tells whether the store holds the catalog.
func openWithSnapshot(tb testing.TB, store *db.DB, signer *receipt.Signer, path string, seeded bool) *consent.Service {
	tb.Helper()
	svc, err := consent.Open(context.Background(), consent.Config{
		DB: store, Signer: signer, Now: func() time.Time { return now }, FollowInterval: -1, SnapshotPath: path,
		Controller: receipt.Controller{PIIController: "Example Shop"},
	})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { svc.Close() })
	ethicstest.OpenPurposes(tb, svc)
	if seeded {
		assess(tb, svc, "metrics-co", "ads-co")
	}
	return svc
}

// snapshotQuestions asks about every identity and purpose the snapshot
// tests record, with and without a vendor.
func snapshotQuestions() []consent.Question {
	var qs []consent.Question
	for _, p := range []string{"analytics", "marketing", "sale"} {
		for _, v := range []string{"", "ads-co", "metrics-co"} {
			for i := range 12 {
				qs = append(qs, consent.Question{Device: fmt.Sprintf("dev-%d", i), Purpose: p, Vendor: v})
			}
			for _, subject := range []string{"cust-1", "cust-2", "cust-gone"} {
				qs = append(qs, consent.Question{Subject: subject, Purpose: p, Vendor: v})
			}
		}
	}
	return qs
}

func answers(tb testing.TB, svc *consent.Service) []string {
	tb.Helper()
	var out []string
	for _, q := range snapshotQuestions() {
		a := decide(tb, svc, q)
		out = append(out, fmt.Sprintf("%+v: %v %s", q, a.Allowed, a.Reason))
	}
	return out
}

// recordSome appends choices of devices, subjects and vendors, links
// devices and erases a subject; round makes each call's ids its own.
func recordSome(tb testing.TB, svc *consent.Service, round int) {
	tb.Helper()
	actions := []consent.Action{consent.ActionGrant, consent.ActionDeny, consent.ActionWithdraw}
	for i := range 12 {
		e := event(fmt.Sprintf("r%d-%d", round, i), fmt.Sprintf("dev-%d", i), []string{"analytics", "marketing", "sale"}[(i+round)%3], actions[(i+round)%3])
		if i%4 == 0 {
			e.Vendor = "ads-co"
			e.Purpose = "marketing"
		}
		appendOK(tb, svc, e)
	}
	for _, subject := range []string{"cust-1", "cust-2", "cust-gone"} {
		appendOK(tb, svc, consent.Event{ID: fmt.Sprintf("r%d-%s", round, subject), Property: "shop", Subject: subject, Purpose: "analytics",
			Action: actions[round%3], Source: consent.SourceAPI, NoticeVersion: "v1", At: now.Add(-time.Second)})
	}
	if _, err := svc.LinkDevice(context.Background(), "cust-1", fmt.Sprintf("dev-%d", round)); err != nil {
		tb.Fatal(err)
	}
	if _, err := svc.LinkDevice(context.Background(), "cust-gone", fmt.Sprintf("dev-%d", 6+round)); err != nil {
		tb.Fatal(err)
	}
}

func TestIndexSnapshot(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		signer := newSigner(t)
		dir := t.TempDir()
		path := filepath.Join(dir, "index.snapshot")
		first := openWithSnapshot(t, store, signer, path, false)
		seed(t, first)
		recordSome(t, first, 0)
		recordSome(t, first, 1)
		info, err := first.WriteSnapshot(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		if info.Seq == 0 || info.States == 0 {
			t.Fatalf("snapshot %+v: covers nothing", info)
		}
		// The tail: more choices, a relink, and an erasure after the
		// snapshot, which the tail's replay must apply to it.
		recordSome(t, first, 2)
		if _, err := first.Pseudonymise(context.Background(), "cust-gone"); err != nil {
			t.Fatal(err)
		}
		saved, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		want := answers(t, first)
		first.Close() // writes the snapshot anew; the test goes on from the saved one

		cases := []struct {
			name     string
			file     func() []byte
			snapshot bool
		}{
			{"sound", func() []byte { return saved }, true},
			{"a flipped byte", func() []byte {
				b := append([]byte(nil), saved...)
				b[len(b)/2] ^= 0x40
				return b
			}, false},
			{"truncated", func() []byte { return saved[:len(saved)-9] }, false},
			{"a corrupt table", func() []byte {
				b := append([]byte(nil), saved...)
				copy(b[len(b)-40:], []byte{0xff, 0xff, 0xff, 0x7f})
				return b
			}, false},
			{"not a snapshot", func() []byte { return []byte("hello") }, false},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				p := filepath.Join(t.TempDir(), "index.snapshot")
				if err := os.WriteFile(p, c.file(), 0o600); err != nil {
					t.Fatal(err)
				}
				svc := openWithSnapshot(t, store, signer, p, true)
				from, ok := svc.StartedFrom()
				if ok != c.snapshot {
					t.Fatalf("started from the snapshot: %v, want %v", ok, c.snapshot)
				}
				if ok && from.Seq != info.Seq {
					t.Errorf("started from seq %d, want %d", from.Seq, info.Seq)
				}
				got := answers(t, svc)
				for i := range want {
					if got[i] != want[i] {
						t.Errorf("after a start from %s:\n got %s\nwant %s", c.name, got[i], want[i])
					}
				}
			})
		}
		// The erased subject is gone from the snapshot Close wrote.
		svc := openWithSnapshot(t, store, signer, path, true)
		if _, ok := svc.StartedFrom(); !ok {
			t.Fatal("did not start from the snapshot Close wrote")
		}
		if a := decide(t, svc, consent.Question{Subject: "cust-gone", Purpose: "analytics"}); a.Allowed {
			t.Errorf("the erased subject is allowed after a start from the snapshot: %+v", a)
		}
	})
}

func TestIndexSnapshotOfAnotherLedger(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		signer := newSigner(t)
		path := filepath.Join(t.TempDir(), "index.snapshot")
		other := openWithSnapshot(t, dbtest.Open(t, store.Dialect), signer, path, false)
		seed(t, other)
		recordSome(t, other, 0)
		other.Close() // writes a snapshot of the other store's ledger
		svc := openWithSnapshot(t, store, signer, path, false)
		if _, ok := svc.StartedFrom(); ok {
			t.Fatal("started from the snapshot of another ledger")
		}
		seed(t, svc)
		if a := decide(t, svc, consent.Question{Device: "dev-0", Purpose: "analytics"}); a.Allowed {
			t.Errorf("a choice of the other ledger is in the index: %+v", a)
		}
	})
}
