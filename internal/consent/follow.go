// Following the ledger: how a replica learns of entries that other
// processes sharing its PostgreSQL database appended.
//
// Every write the follower reads (an event, a device link, a restriction,
// an erasure, a catalog change) sends a notification on notifyChannel in
// its own transaction; PostgreSQL delivers it at commit. Each replica's
// Listener (db.Listen) turns a notification into Wake, and the follower
// makes a pass at once. Polling every Config.FollowInterval stays on as the
// fallback: a notification sent while the listener was reconnecting is lost
// (the listener wakes the follower again once it is back, to catch up).
//
// A pass applies what it read to the index, which wakes the waiters of
// Changed (stream.go): a replica's ledger stream is woken by the same
// notification as its index, through that one in-process hook.

package consent

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/steward-dev/steward/internal/db"
)

// notifyChannel is the PostgreSQL channel of the ledger's notifications.
// The payload is "KIND:INSTANCE": what was written (kindNames), so that the
// pass it wakes reads that alone (another payload makes it read
// everything), and the writing Service's random instance id, so that it
// skips its own: it applied those to its index when it wrote them.
const notifyChannel = "steward_ledger"

// entryKinds is a set of what a follower's pass reads.
type entryKinds uint32

const (
	readEvents entryKinds = 1 << iota
	readLinks
	readRestrictions
	readErasures
	readCatalogHead
	readAll = readEvents | readLinks | readRestrictions | readErasures | readCatalogHead
)

// kindNames are the notification payloads.
var kindNames = map[entryKinds]string{readEvents: "events", readLinks: "links", readRestrictions: "restrictions",
	readErasures: "erasures", readCatalogHead: "catalog"}

// notifyPayload is the payload of this Service's notifications of kind.
func (s *Service) notifyPayload(kind entryKinds) string { return kindNames[kind] + ":" + s.instance }

// notified handles a notification's payload.
func (s *Service) notified(payload string) {
	name, instance, _ := strings.Cut(payload, ":")
	if instance == s.instance {
		return
	}
	for k, n := range kindNames {
		if n == name {
			s.wakeFor(k)
			return
		}
	}
	s.wakeFor(readAll)
}

// notifyFollowers sends the notification of a write of kind that other
// replicas must follow, in tx: PostgreSQL delivers it when tx commits.
// Nothing on SQLite, which has no replicas.
func (s *Service) notifyFollowers(ctx context.Context, tx *sql.Tx, kind entryKinds) error {
	if s.db.Dialect != db.Postgres {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `SELECT pg_notify('`+notifyChannel+`', $1)`, s.notifyPayload(kind)); err != nil {
		return fmt.Errorf("notify replicas: %w", err)
	}
	return nil
}

// FollowReport describes one pass of the follower.
type FollowReport struct {
	// Trigger is "notify" when a notification (or the listener's
	// reconnection) woke the follower, "poll" when the interval did.
	Trigger string
	// Entries counts the ledger entries (events, links, restrictions,
	// erasures) the pass read; the process's own are read again too.
	Entries int
	// Lag is how long after the ledger recorded it the newest event read
	// was applied; 0 when the pass read no event. It compares this
	// process's clock with the recording replica's.
	Lag time.Duration
	// Took is how long the pass took; Err is what made it fail.
	Took time.Duration
	Err  error
}

// followed is what one pass of follow read.
type followed struct {
	entries int
	newest  int64 // recorded_at of the newest event read, Unix microseconds; 0 if none
}

// Wake asks the follower for a pass over everything now. It never blocks:
// wake-ups that arrive during a pass make one more pass.
func (s *Service) Wake() { s.wakeFor(readAll) }

// wakeFor asks the follower for a pass that reads at least kinds.
func (s *Service) wakeFor(kinds entryKinds) {
	s.pending.Or(uint32(kinds))
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Listening reports whether the ledger listener holds its connection now
// (false on SQLite or without Config.Listen), and the connection's backend
// process id.
func (s *Service) Listening() (bool, uint32) {
	if s.listener == nil {
		return false, 0
	}
	pid := s.listener.PID()
	return pid != 0, pid
}

// followLoop makes a pass whenever woken and every interval (when
// positive).
func (s *Service) followLoop(interval time.Duration) {
	defer s.wg.Done()
	var tick <-chan time.Time
	if interval > 0 {
		t := time.NewTicker(interval)
		defer t.Stop()
		tick = t.C
	}
	for {
		trigger, kinds := "poll", readAll
		select {
		case <-s.stop:
			return
		case <-tick:
		case <-s.wake:
			trigger, kinds = "notify", entryKinds(s.pending.Swap(0))
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		started := time.Now()
		got, err := s.follow(ctx, kinds)
		cancel()
		if err != nil {
			s.log.Warn("follow ledger", "err", err)
		}
		if s.onFollow != nil {
			r := FollowReport{Trigger: trigger, Entries: got.entries, Took: time.Since(started), Err: err}
			if got.newest > 0 {
				r.Lag = max(0, time.Since(fromMicros(got.newest)))
			}
			s.onFollow(r)
		}
	}
}
