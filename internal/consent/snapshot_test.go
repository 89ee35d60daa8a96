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
		SnapshotAfterErasure: 10 * time.Millisecond, Controller: receipt.Controller{PIIController: "Example Shop"},
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
// devices, restricts a subject and records an objection; round makes
// each call's ids its own.
func recordSome(tb testing.TB, svc *consent.Service, round int) {
	tb.Helper()
	ctx := context.Background()
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
	if _, err := svc.LinkDevice(ctx, "cust-1", fmt.Sprintf("dev-%d", round)); err != nil {
		tb.Fatal(err)
	}
	if _, err := svc.LinkDevice(ctx, "cust-gone", fmt.Sprintf("dev-%d", 6+round)); err != nil {
		tb.Fatal(err)
	}
	switch round {
	case 0:
		if _, err := svc.Restrict(ctx, "cust-2", "marketing", ""); err != nil {
			tb.Fatal(err)
		}
		if err := svc.ObjectFor(ctx, "cust-1", fmt.Sprintf("req-%d", round), []string{"sale"}); err != nil {
			tb.Fatal(err)
		}
	case 2:
		if err := svc.Lift(ctx, "cust-2", "marketing"); err != nil {
			tb.Fatal(err)
		}
	}
}

func TestIndexSnapshot(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		signer := newSigner(t)
		path := filepath.Join(t.TempDir(), "index.snapshot")
		first := openWithSnapshot(t, store, signer, path, false)
		if _, ok := first.StartedFrom(); ok {
			t.Fatal("started from a snapshot that does not exist")
		}
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
		saved, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		// The tail: more choices, a relink, a lifting, and an erasure
		// after the snapshot, which the tail's replay must apply to it.
		recordSome(t, first, 2)
		if _, err := first.Pseudonymise(context.Background(), "cust-gone"); err != nil {
			t.Fatal(err)
		}
		want := answers(t, first)
		first.Close() // writes the snapshot anew; the cases go on from the saved one

		oldFormat := append([]byte(nil), saved...)
		copy(oldFormat, "STEWARD-INDEX-1\n")
		cases := []struct {
			name     string
			file     []byte
			snapshot bool
		}{
			{"sound", saved, true},
			{"a flipped byte", flip(saved, len(saved)/2), false},
			{"a flipped checksum", flip(saved, len(saved)-1), false},
			{"truncated", saved[:len(saved)-9], false},
			{"the old format", oldFormat, false},
			{"not a snapshot", []byte("hello"), false},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				p := filepath.Join(t.TempDir(), "index.snapshot")
				if err := os.WriteFile(p, c.file, 0o600); err != nil {
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
		if held := consent.SnapshotHoldsSubject(t, path, "cust-gone"); held {
			t.Error("the snapshot Close wrote holds the erased subject")
		}
	})
}

func flip(b []byte, i int) []byte {
	b = append([]byte(nil), b...)
	b[i] ^= 0x40
	return b
}

// TestIndexSnapshotErasure: an erasure has the snapshot on disk written
// anew without the subject, and a start from a snapshot written before
// the erasure (a crash in between) does not bring the subject's states
// back, on this replica and on one that followed the erasure.
func TestIndexSnapshotErasure(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		signer := newSigner(t)
		path := filepath.Join(t.TempDir(), "index.snapshot")
		svc := openWithSnapshot(t, store, signer, path, false)
		seed(t, svc)
		recordSome(t, svc, 0)
		if _, err := svc.WriteSnapshot(context.Background(), path); err != nil {
			t.Fatal(err)
		}
		before, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !consent.SnapshotHoldsSubject(t, path, "cust-gone") {
			t.Fatal("the snapshot before the erasure does not hold the subject: the test proves nothing")
		}
		q := consent.Question{Subject: "cust-gone", Purpose: "analytics"}
		if a := decide(t, svc, q); !a.Allowed {
			t.Fatalf("before the erasure: %+v", a)
		}
		// Another replica, started from the same snapshot, follows the erasure.
		replicaPath := filepath.Join(t.TempDir(), "index.snapshot")
		if err := os.WriteFile(replicaPath, before, 0o600); err != nil {
			t.Fatal(err)
		}
		replica := openWithSnapshot(t, store, signer, replicaPath, true)
		if _, ok := replica.StartedFrom(); !ok {
			t.Fatal("the replica did not start from the snapshot")
		}
		if _, err := svc.Pseudonymise(context.Background(), "cust-gone"); err != nil {
			t.Fatal(err)
		}
		if err := consent.FollowForTest(replica); err != nil {
			t.Fatal(err)
		}
		for name, p := range map[string]string{"this replica": path, "the follower": replicaPath} {
			deadline := time.Now().Add(10 * time.Second)
			for consent.SnapshotHoldsSubject(t, p, "cust-gone") {
				if time.Now().After(deadline) {
					t.Fatalf("%s: the snapshot still holds the erased subject 10 s after the erasure", name)
				}
				time.Sleep(10 * time.Millisecond)
			}
		}
		// A crash between the erasure and the rewrite: the next start finds
		// the snapshot from before it, and the tail's erasure applies.
		if err := os.WriteFile(path, before, 0o600); err != nil {
			t.Fatal(err)
		}
		again := openWithSnapshot(t, store, signer, path, true)
		if _, ok := again.StartedFrom(); !ok {
			t.Fatal("did not start from the snapshot of before the erasure")
		}
		if a := decide(t, again, q); a.Allowed {
			t.Errorf("the erased subject is allowed after a start from a snapshot of before the erasure: %+v", a)
		}
		full := openService(t, store, signer)
		assess(t, full, "metrics-co", "ads-co")
		if got, want := answers(t, again), answers(t, full); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("a start from the snapshot answers otherwise than a full rebuild:\n%v\n%v", got, want)
		}
	})
}

// TestIndexSnapshotOfAnotherLedger: a snapshot whose positions the store
// reaches but whose chain entry differs (another ledger, or one restored
// and written to since) is not used.
func TestIndexSnapshotOfAnotherLedger(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		signer := newSigner(t)
		path := filepath.Join(t.TempDir(), "index.snapshot")
		other := openWithSnapshot(t, dbtest.Open(t, store.Dialect), signer, path, false)
		seed(t, other)
		recordSome(t, other, 0)
		other.Close() // writes a snapshot of the other store's ledger
		// As many entries in this store: the positions match, the
		// chain hashes do not.
		svc := openService(t, store, signer)
		seed(t, svc)
		recordSome(t, svc, 0)
		want := answers(t, svc)
		from := openWithSnapshot(t, store, signer, path, true)
		if _, ok := from.StartedFrom(); ok {
			t.Fatal("started from the snapshot of another ledger")
		}
		if got := answers(t, from); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("after the rebuild:\n%v\nwant\n%v", got, want)
		}
	})
}
