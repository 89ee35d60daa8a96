package consent_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/ethics/ethicstest"
	"github.com/steward-dev/steward/internal/receipt"
)

// replica is one consent service of a set sharing a PostgreSQL database,
// each with its own connection pool and index, as separate processes are.
type replica struct {
	svc   *consent.Service
	store *db.DB
	// passes counts the follower's passes that read entries, by trigger.
	polled, notified atomic.Int64
}

// openReplicas opens n services on one freshly migrated PostgreSQL store,
// the first seeded with the test catalog; cfg adjusts each one's Config.
func openReplicas(t *testing.T, n int, cfg func(i int, c *consent.Config)) []*replica {
	t.Helper()
	url := dbtest.MigratedPostgresURL(t)
	signer := newSigner(t)
	out := make([]*replica, n)
	for i := range out {
		store, err := db.Open(context.Background(), url, "")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { store.Close() })
		r := &replica{store: store}
		c := consent.Config{DB: store, Signer: signer, Now: func() time.Time { return now }, FollowInterval: -1, Listen: true,
			Controller: receipt.Controller{PIIController: "Example Shop"},
			OnFollow: func(f consent.FollowReport) {
				if f.Entries == 0 {
					return
				}
				if f.Trigger == "poll" {
					r.polled.Add(1)
				} else {
					r.notified.Add(1)
				}
			}}
		if cfg != nil {
			cfg(i, &c)
		}
		if r.svc, err = consent.Open(context.Background(), c); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.svc.Close() })
		ethicstest.OpenPurposes(t, r.svc)
		out[i] = r
		// The others open on the seeded catalog, as replicas started
		// after the first do.
		if i == 0 {
			seed(t, r.svc)
		} else {
			assess(t, r.svc, "metrics-co", "ads-co")
		}
	}
	return out
}

// waitListening waits until every replica's listener holds a connection.
func waitListening(t *testing.T, replicas []*replica) {
	t.Helper()
	for i, r := range replicas {
		eventually(t, fmt.Sprintf("replica %d listening", i), func() bool { ok, _ := r.svc.Listening(); return ok })
	}
}

func eventually(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
		if ok() {
			return
		}
	}
	t.Fatalf("%s: not within 10 s", what)
}

func allowedOn(r *replica, device string) func() bool {
	return func() bool {
		q := consent.Question{Device: device, Purpose: "analytics"}
		a, err := r.svc.Decider().Decide(&q, false)
		return err == nil && a.Allowed
	}
}

func TestReplicasFollowByNotification(t *testing.T) {
	// Polling off: only the notifications can tell B and C of A's appends.
	replicas := openReplicas(t, 3, nil)
	waitListening(t, replicas)
	a := replicas[0]
	for round := range 5 {
		device := fmt.Sprintf("dev-notify-%d", round)
		appendOK(t, a.svc, event(device+"-g", device, "analytics", consent.ActionGrant))
		for i, r := range replicas[1:] {
			eventually(t, fmt.Sprintf("grant on replica %d", i+1), allowedOn(r, device))
		}
		appendOK(t, a.svc, event(device+"-w", device, "analytics", consent.ActionWithdraw))
		for i, r := range replicas[1:] {
			eventually(t, fmt.Sprintf("withdrawal on replica %d", i+1), func() bool { return !allowedOn(r, device)() })
		}
	}
	for i, r := range replicas[1:] {
		if r.polled.Load() != 0 || r.notified.Load() == 0 {
			t.Errorf("replica %d: %d passes by poll, %d by notification; want none by poll, some by notification", i+1, r.polled.Load(), r.notified.Load())
		}
	}
	// The other writes a follower reads wake it too: a device link.
	if _, err := a.svc.LinkDevice(context.Background(), "subject-n", "dev-notify-0"); err != nil {
		t.Fatal(err)
	}
	appendOK(t, a.svc, consent.Event{ID: "subj-g", Property: "shop", Subject: "subject-n", Purpose: "analytics",
		Action: consent.ActionGrant, Source: consent.SourceAPI, NoticeVersion: "v1", At: now.Add(-time.Second)})
	for i, r := range replicas[1:] {
		eventually(t, fmt.Sprintf("linked device on replica %d", i+1), allowedOn(r, "dev-notify-0"))
	}
}

func TestReplicasPollWhenListenerIsKilled(t *testing.T) {
	// B polls every 50 ms and, once its listener's connection is killed,
	// waits an hour before reconnecting: whatever reaches it after the
	// kill came by polling.
	replicas := openReplicas(t, 2, func(i int, c *consent.Config) {
		if i == 1 {
			c.FollowInterval, c.ListenMinBackoff, c.ListenMaxBackoff = 50*time.Millisecond, time.Hour, time.Hour
		}
	})
	waitListening(t, replicas)
	a, b := replicas[0], replicas[1]
	_, pid := b.svc.Listening()
	var killed bool
	if err := a.store.QueryRowContext(context.Background(), `SELECT pg_terminate_backend($1)`, int64(pid)).Scan(&killed); err != nil || !killed {
		t.Fatalf("pg_terminate_backend(%d) = %v, %v", pid, killed, err)
	}
	eventually(t, "listener down", func() bool { ok, _ := b.svc.Listening(); return !ok })
	polled := b.polled.Load()
	appendOK(t, a.svc, event("dev-poll-g", "dev-poll", "analytics", consent.ActionGrant))
	eventually(t, "grant on B by polling", allowedOn(b, "dev-poll"))
	appendOK(t, a.svc, event("dev-poll-w", "dev-poll", "analytics", consent.ActionWithdraw))
	eventually(t, "withdrawal on B by polling", func() bool { return !allowedOn(b, "dev-poll")() })
	if ok, _ := b.svc.Listening(); ok {
		t.Fatal("B's listener reconnected within its hour of backoff")
	}
	if b.polled.Load() < polled+1 {
		t.Errorf("B's follower read nothing by polling after the kill")
	}
}

func TestReplicaListenerReconnects(t *testing.T) {
	// Polling off, a short backoff: after the kill, B's listener comes back
	// on a new connection and notifications reach it again.
	replicas := openReplicas(t, 2, func(i int, c *consent.Config) {
		c.ListenMinBackoff, c.ListenMaxBackoff = 10*time.Millisecond, 20*time.Millisecond
	})
	waitListening(t, replicas)
	a, b := replicas[0], replicas[1]
	_, pid := b.svc.Listening()
	if _, err := a.store.ExecContext(context.Background(), `SELECT pg_terminate_backend($1)`, int64(pid)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "listener back on a new connection", func() bool { ok, now := b.svc.Listening(); return ok && now != pid })
	appendOK(t, a.svc, event("dev-back-g", "dev-back", "analytics", consent.ActionGrant))
	eventually(t, "grant on B after reconnection", allowedOn(b, "dev-back"))
}

// TestNotificationWakesChanged: the in-process hook a ledger stream waits
// on (Changed) fires on the replica that appended and, with polling off,
// on the one the notification woke.
func TestNotificationWakesChanged(t *testing.T) {
	replicas := openReplicas(t, 2, nil)
	waitListening(t, replicas)
	a, b := replicas[0], replicas[1]
	changedA, changedB := a.svc.Changed(), b.svc.Changed()
	appendOK(t, a.svc, event("dev-moved-g", "dev-moved", "analytics", consent.ActionGrant))
	for name, ch := range map[string]<-chan struct{}{"own append": changedA, "followed append": changedB} {
		select {
		case <-ch:
		case <-time.After(10 * time.Second):
			t.Errorf("%s: Changed did not fire within 10 s", name)
		}
	}
}
