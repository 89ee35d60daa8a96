package outbox_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"hash/fnv"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/outbox"
	"github.com/steward-dev/steward/internal/testenv"
)

// flakyMessages is how many messages TestFlakyReceivers writes on an
// engine. The full size is 10,000 (STEWARD_TEST_SOAK=1), which takes
// minutes per engine on two cores; by default 2,000, which still takes
// every path: the flaky receiver gets about 1,000 messages, of which about
// ten are doomed (none at all has odds of 1 in 20,000), the leaving
// receiver goes after a twelfth of them with messages still coming, and
// hangs, retries after 429 and duplicates come by the dozen. 500 on SQLite
// under the race detector, which instruments SQLite itself (modernc.org/
// sqlite is Go) and makes deliveries there some twenty times slower (about
// 25 a second on two cores), while PostgreSQL does its work in a process
// of its own. STEWARD_TEST_OUTBOX_MESSAGES sets both.
func flakyMessages(dialect db.Dialect) int {
	if v, err := strconv.Atoi(os.Getenv("STEWARD_TEST_OUTBOX_MESSAGES")); err == nil && v > 0 {
		return v
	}
	switch {
	case testing.Short():
		return 600
	case dialect == db.SQLite && raceEnabled:
		return 500
	case testenv.Soak():
		return 10000
	}
	return 2000
}

// doomed reports whether the flaky receiver refuses a message forever
// (about 1 in 100): those must end as dead letters of the horizon.
func doomed(id string) bool {
	h := fnv.New32a()
	h.Write([]byte(id))
	return h.Sum32()%100 == 0
}

// TestFlakyReceivers sends events to three receivers while they misbehave,
// with the three days of retries compressed into seconds:
//
//   - flaky answers 500 at random, hangs past the timeout now and then,
//     asks to come back later (429 with Retry-After), takes a message and
//     drops the connection without answering (so that the message comes
//     again: a duplicate) and refuses about one message in a hundred
//     forever;
//   - shaky answers 502 more often and hangs too;
//   - leaving answers 200 for a while, then 410 Gone.
//
// Events are emitted while deliveries run, held back when too many
// messages wait (as a steady stream of changes would be), until flakyMessages
// are written; events of leaving's types emitted after it is gone
// write none. Then every message must be delivered or dead, every request
// must verify, every request about one event must carry the same
// webhook-id, and the receivers must have accepted exactly the delivered
// messages (plus any whose 2xx the sender never saw, having timed out).
func TestFlakyReceivers(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		want := flakyMessages(store.Dialect)
		svc := newService(t, store, func(c *outbox.Config) {
			c.RequestTimeout = 500 * time.Millisecond
			c.Backoff = outbox.Backoff{Base: 10 * time.Millisecond, Max: 250 * time.Millisecond, Horizon: 5 * time.Second,
				MaxRetryAfter: 300 * time.Millisecond}
		})
		flaky := newReceiver(t, func(r received, _ int) answer {
			switch p := rand.Float64(); {
			case doomed(r.ID):
				return answer{status: http.StatusInternalServerError}
			case p < 0.15:
				return answer{status: http.StatusInternalServerError}
			case p < 0.17:
				return answer{status: http.StatusOK, hang: 5 * time.Second}
			case p < 0.19:
				return answer{status: http.StatusTooManyRequests, header: map[string]string{"Retry-After": "0"}}
			case p < 0.20:
				return answer{status: http.StatusOK, drop: true}
			}
			return answer{status: http.StatusOK}
		})
		shaky := newReceiver(t, func(received, int) answer {
			switch p := rand.Float64(); {
			case p < 0.3:
				return answer{status: http.StatusBadGateway}
			case p < 0.32:
				return answer{status: http.StatusOK, hang: 5 * time.Second}
			}
			return answer{status: http.StatusNoContent}
		})
		var leavingRequests atomic.Int64
		goneAfter := int64(want / 12)
		leaving := newReceiver(t, func(received, int) answer {
			if leavingRequests.Add(1) > goneAfter {
				return answer{status: http.StatusGone}
			}
			return answer{status: http.StatusOK}
		})
		flakyEP := createEndpoint(t, svc, flaky, outbox.ConsentChanged)
		createEndpoint(t, svc, shaky, outbox.RequestCreated, outbox.RequestCompleted)
		leavingEP := createEndpoint(t, svc, leaving, outbox.DisclosureRequested, outbox.DisclosureDecided)
		types := []string{outbox.ConsentChanged, outbox.RequestCreated, outbox.ConsentChanged,
			outbox.RequestCompleted, outbox.ConsentChanged, outbox.DisclosureDecided}

		startRunner(t, store, svc, 32)
		start := time.Now()
		var (
			bySeq     []string // event number → message id ("" when none was written)
			written   int
			noMessage int
		)
		// A short queue, so that retries are not held up behind new
		// messages for long (a queue of seconds would eat up the
		// compressed horizon; the real one is days).
		const batch, maxPending = 20, 150
		for written < want {
			waitFor(t, time.Minute, "the backlog to shrink", func() (bool, error) {
				var pending int
				err := store.QueryRowContext(ctx, `SELECT count(*) FROM outbox_messages WHERE state = 'pending'`).Scan(&pending)
				return pending < maxPending, err
			})
			err := store.Tx(ctx, func(tx *sql.Tx) error {
				for range batch {
					if written == want {
						break
					}
					seq := len(bySeq)
					out, err := svc.EmitTx(ctx, tx, outbox.Event{Type: types[seq%len(types)], SubjectID: "sub_" + strconv.Itoa(seq%97),
						Data: map[string]any{"seq": strconv.Itoa(seq)}})
					if err != nil {
						return err
					}
					switch len(out.MessageIDs) {
					case 0:
						noMessage++
						bySeq = append(bySeq, "")
					case 1:
						written++
						bySeq = append(bySeq, out.MessageIDs[0])
					default:
						t.Fatalf("event %d: %d messages, want one", seq, len(out.MessageIDs))
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		waitFor(t, 2*time.Minute, "every message settled", func() (bool, error) {
			var pending int
			err := store.QueryRowContext(ctx, `SELECT count(*) FROM outbox_messages WHERE state = 'pending'`).Scan(&pending)
			return pending == 0, err
		})
		elapsed := time.Since(start)

		states := countStates(t, store)
		if got := states[outbox.Delivered] + states[outbox.Dead]; got != want {
			t.Errorf("delivered %d + dead %d = %d, want the %d messages", states[outbox.Delivered], states[outbox.Dead], got, want)
		}
		seqOf := map[string]string{} // message id → event number
		for seq, id := range bySeq {
			if id != "" {
				seqOf[id] = strconv.Itoa(seq)
			}
		}
		type row struct {
			endpoint, state, reason string
			created                 int64
		}
		messages := map[string]row{}
		reasons := map[string]int{}
		rows, err := store.QueryContext(ctx, `SELECT id, endpoint_id, state, dead_reason, created_at FROM outbox_messages`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id string
			var r row
			if err := rows.Scan(&id, &r.endpoint, &r.state, &r.reason, &r.created); err != nil {
				t.Fatal(err)
			}
			messages[id] = r
			reasons[r.reason]++
		}
		rows.Close()

		requests, unverified, duplicates := 0, 0, 0
		accepted := map[string]int{}
		for _, rc := range []*receiver{flaky, shaky, leaving} {
			for _, r := range rc.received() {
				requests++
				if !r.Verified {
					unverified++
				}
				var body struct {
					Data struct {
						Seq string `json:"seq"`
					} `json:"data"`
				}
				if err := json.Unmarshal(r.Body, &body); err != nil {
					t.Fatalf("body %s: %v", r.Body, err)
				}
				// Every request about an event carries its message's id:
				// duplicates share a webhook-id.
				if seq, ok := seqOf[r.ID]; !ok || seq != body.Data.Seq {
					t.Errorf("a request for event %s carries webhook-id %s (of event %q)", body.Data.Seq, r.ID, seq)
				}
				if r.Status >= 200 && r.Status <= 299 {
					if accepted[r.ID]++; accepted[r.ID] == 2 {
						duplicates++
					}
				}
			}
		}
		if unverified > 0 {
			t.Errorf("%d of %d requests do not verify", unverified, requests)
		}
		unseen := 0
		for id, m := range messages {
			switch {
			case m.state == string(outbox.Delivered) && accepted[id] == 0:
				t.Errorf("message %s is delivered, but no receiver accepted it", id)
			case m.state != string(outbox.Delivered) && accepted[id] > 0:
				// The receiver answered 2xx after the sender had given up
				// waiting: the sender must have recorded no answer.
				if !hasUnansweredAttempt(t, svc, id) {
					t.Errorf("message %s is %s, but a receiver accepted it", id, m.state)
				}
				unseen++
			}
			if doomed(id) && m.endpoint == flakyEP.ID && (m.state != string(outbox.Dead) || m.reason != outbox.DeadExpired) {
				t.Errorf("doomed message %s is %s (%s), want expired", id, m.state, m.reason)
			}
		}
		gone, err := svc.Endpoint(ctx, leavingEP.ID)
		if err != nil || gone.Enabled || gone.DisabledReason != outbox.DisabledGone {
			t.Fatalf("leaving endpoint %+v, %v; want disabled as gone", gone, err)
		}
		// An event emitted while the 410 was being recorded may still have
		// found the endpoint enabled: its message must be dead-lettered
		// unsent.
		for id, m := range messages {
			if m.endpoint == leavingEP.ID && m.created > gone.DisabledAt.UnixMicro() {
				if _, attempts, _ := svc.Message(ctx, id); m.reason != outbox.DeadEndpointDisabled || len(attempts) != 0 {
					t.Errorf("message %s, written as the leaving endpoint went, is %s (%s) after %d attempts; want dead unsent",
						id, m.state, m.reason, len(attempts))
				}
			}
		}
		if reasons[outbox.DeadExpired] == 0 || reasons[outbox.DeadGone] == 0 {
			t.Errorf("dead reasons %v; want expired (the doomed) and gone", reasons)
		}
		if duplicates == 0 && want >= 5000 {
			t.Error("no message was delivered twice: the dropped connections did not make duplicates")
		}
		var attempts int
		if err := store.QueryRowContext(ctx, `SELECT count(*) FROM outbox_attempts`).Scan(&attempts); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %d events, %d messages (%d events found no endpoint) settled in %v (%.0f messages/s): %d delivered, %d dead %v; "+
			"%d requests, %d attempts recorded; %d delivered more than once, %d accepted unseen",
			store.Dialect, len(bySeq), want, noMessage, elapsed.Round(time.Millisecond), float64(want)/elapsed.Seconds(),
			states[outbox.Delivered], states[outbox.Dead], reasons, requests, attempts, duplicates, unseen)
	})
}

// hasUnansweredAttempt reports whether an attempt of message id got no
// HTTP answer (a timeout, a broken connection).
func hasUnansweredAttempt(t *testing.T, svc *outbox.Service, id string) bool {
	t.Helper()
	_, attempts, err := svc.Message(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range attempts {
		if a.Status == 0 {
			return true
		}
	}
	return false
}
