package outbox_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/outbox"
)

// TestOutcomes runs one message per case against a receiver that answers
// as the case says, and checks what became of it.
func TestOutcomes(t *testing.T) {
	type check func(t *testing.T, m outbox.Message, attempts []outbox.Attempt, got []received)
	cases := []struct {
		name   string
		behave func(r received, n int) answer
		state  outbox.State
		check  check
	}{
		{
			name:   "2xx delivers",
			behave: func(received, int) answer { return answer{status: http.StatusAccepted} },
			state:  outbox.Delivered,
			check: func(t *testing.T, m outbox.Message, attempts []outbox.Attempt, got []received) {
				if m.Attempts != 1 || len(got) != 1 || m.LastStatus != 202 {
					t.Errorf("%d attempts, %d requests, status %d; want one 202", m.Attempts, len(got), m.LastStatus)
				}
			},
		},
		{
			name: "500 is retried with back-off",
			behave: func(_ received, n int) answer {
				if n < 2 {
					return answer{status: http.StatusInternalServerError}
				}
				return answer{status: http.StatusOK}
			},
			state: outbox.Delivered,
			check: func(t *testing.T, m outbox.Message, attempts []outbox.Attempt, got []received) {
				if len(attempts) != 3 || attempts[0].Status != 500 || attempts[0].Outcome != "retry" || attempts[2].Outcome != "delivered" {
					t.Fatalf("attempts %+v; want 500, 500, 200", attempts)
				}
				// Back-off: at least half the nominal wait (Base, then 2·Base).
				for i, nominal := range []time.Duration{fastBackoff.Base, 2 * fastBackoff.Base} {
					if gap := got[i+1].At.Sub(got[i].At); gap < nominal/2 {
						t.Errorf("retry %d came %v after the failure, want at least %v", i+1, gap, nominal/2)
					}
				}
				if got[0].ID != got[2].ID || got[0].ID != m.ID {
					t.Errorf("webhook-ids %s %s %s; want the message id on every attempt", got[0].ID, got[1].ID, got[2].ID)
				}
				if got[0].Timestamp > got[2].Timestamp {
					t.Error("the webhook-timestamp went back")
				}
			},
		},
		{
			name: "timeout is retried",
			behave: func(_ received, n int) answer {
				if n == 0 {
					return answer{status: 200, hang: 5 * time.Second}
				}
				return answer{status: 200}
			},
			state: outbox.Delivered,
			check: func(t *testing.T, m outbox.Message, attempts []outbox.Attempt, got []received) {
				if len(attempts) != 2 || attempts[0].ErrorClass != "timeout" || attempts[0].Status != 0 {
					t.Errorf("attempts %+v; want a timeout, then delivered", attempts)
				}
			},
		},
		{
			name:   "always 500 is a dead letter after the horizon",
			behave: func(received, int) answer { return answer{status: http.StatusInternalServerError} },
			state:  outbox.Dead,
			check: func(t *testing.T, m outbox.Message, attempts []outbox.Attempt, got []received) {
				if m.DeadReason != outbox.DeadExpired || len(attempts) < 3 || m.LastStatus != 500 {
					t.Errorf("message %+v after %d attempts; want expired after several", m, len(attempts))
				}
				if span := m.LastAttemptAt.Sub(m.FirstAttemptAt); span < fastBackoff.Horizon || span > fastBackoff.Horizon+3*time.Second {
					t.Errorf("attempts spanned %v, want the horizon %v", span, fastBackoff.Horizon)
				}
				if last := attempts[len(attempts)-1]; last.Outcome != "dead" {
					t.Errorf("last attempt %+v", last)
				}
			},
		},
		{
			name: "429 honours Retry-After seconds",
			behave: func(_ received, n int) answer {
				if n == 0 {
					return answer{status: http.StatusTooManyRequests, header: map[string]string{"Retry-After": "1"}}
				}
				return answer{status: http.StatusOK}
			},
			state: outbox.Delivered,
			check: func(t *testing.T, m outbox.Message, attempts []outbox.Attempt, got []received) {
				if len(got) != 2 || got[1].At.Sub(got[0].At) < time.Second {
					t.Errorf("second attempt %v after the 429, want at least 1s", got[1].At.Sub(got[0].At))
				}
			},
		},
		{
			name: "503 honours a Retry-After date",
			behave: func(_ received, n int) answer {
				if n == 0 {
					return answer{status: http.StatusServiceUnavailable, header: map[string]string{
						"Retry-After": time.Now().Add(2 * time.Second).UTC().Format(http.TimeFormat)}}
				}
				return answer{status: http.StatusOK}
			},
			state: outbox.Delivered,
			check: func(t *testing.T, m outbox.Message, attempts []outbox.Attempt, got []received) {
				// The date (one-second resolution) lies beyond the horizon,
				// which caps the wait: the retry comes at the horizon, one
				// second after the first attempt started, a moment before
				// the receiver saw it; a back-off step would be 20 ms.
				if len(got) != 2 || got[1].At.Sub(got[0].At) < fastBackoff.Horizon-100*time.Millisecond {
					t.Errorf("second attempt %v after the 503, want the horizon %v", got[1].At.Sub(got[0].At), fastBackoff.Horizon)
				}
			},
		},
		{
			name: "redirect is a failure, not followed",
			behave: func(r received, n int) answer {
				if n == 0 {
					return answer{status: http.StatusFound, header: map[string]string{"Location": "/elsewhere"}}
				}
				return answer{status: http.StatusOK}
			},
			state: outbox.Delivered,
			check: func(t *testing.T, m outbox.Message, attempts []outbox.Attempt, got []received) {
				if len(attempts) != 2 || attempts[0].Status != http.StatusFound || len(got) != 2 {
					t.Errorf("attempts %+v, %d requests; want 302 then 200, no request to the redirect", attempts, len(got))
				}
			},
		},
		{
			name: "refusal snippet is short and masked",
			behave: func(_ received, n int) answer {
				if n == 0 {
					return answer{status: http.StatusBadRequest, body: "refused: the customer ada@example.org\x00 is unknown to us; " + strings.Repeat("padding ", 40)}
				}
				return answer{status: http.StatusOK}
			},
			state: outbox.Delivered,
			check: func(t *testing.T, m outbox.Message, attempts []outbox.Attempt, got []received) {
				if attempts[0].Status != 400 || attempts[0].Outcome != "retry" {
					t.Errorf("first attempt %+v", attempts[0])
				}
				s := attempts[0].Snippet
				if !strings.HasPrefix(s, "refused: the customer [redacted] is unknown") || len(s) > 110 || strings.Contains(s, "ada@") {
					t.Errorf("snippet %q; want the start, masked, short", s)
				}
			},
		},
	}
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		svc := newService(t, store, func(c *outbox.Config) { c.RequestTimeout = 300 * time.Millisecond })
		startRunner(t, store, svc, 8)
		for _, c := range cases {
			// One case at a time, each with the only endpoint: every event
			// goes to every endpoint that takes its type.
			t.Run(c.name, func(t *testing.T) {
				rc := newReceiver(t, c.behave)
				ep := createEndpoint(t, svc, rc)
				defer func() {
					if err := svc.DeleteEndpoint(context.Background(), ep.ID); err != nil {
						t.Error(err)
					}
				}()
				out := emit(t, store, svc, outbox.Event{Type: outbox.ConsentChanged, SubjectID: "sub_1"})
				m, attempts := waitSettled(t, svc, out.MessageIDs[0])
				if m.State != c.state {
					t.Fatalf("state %s (%s), want %s; attempts %+v", m.State, m.DeadReason, c.state, attempts)
				}
				got := rc.received()
				for _, r := range got {
					if !r.Verified {
						t.Errorf("attempt at %v does not verify", r.At)
					}
				}
				c.check(t, m, attempts, got)
			})
		}
	})
}

func TestGoneDisablesEndpoint(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		svc := newService(t, store)
		insertOnly(t, store, svc)
		rc := newReceiver(t, func(received, int) answer {
			return answer{status: http.StatusGone}
		})
		ep := createEndpoint(t, svc, rc)
		other := createEndpoint(t, svc, newReceiver(t, nil))
		var ids []string
		for range 5 {
			ids = append(ids, emit(t, store, svc, outbox.Event{Type: outbox.SubjectErased, SubjectID: "sub_1"}).MessageIDs...)
		}
		if len(ids) != 10 {
			t.Fatalf("%d messages, want 10", len(ids))
		}
		startRunner(t, store, svc, 1)
		for _, id := range ids {
			waitSettled(t, svc, id)
		}
		got, err := svc.Endpoint(ctx, ep.ID)
		if err != nil || got.Enabled || got.DisabledReason != outbox.DisabledGone || got.DisabledAt.IsZero() {
			t.Fatalf("endpoint %+v, %v; want disabled as gone", got, err)
		}
		page, err := svc.Messages(ctx, ep.ID, outbox.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		reasons := map[string]int{}
		for _, m := range page.Messages {
			if m.State != outbox.Dead {
				t.Errorf("message %s is %s, want dead", m.ID, m.State)
			}
			reasons[m.DeadReason]++
		}
		// One worker: the first message met the 410, the others were
		// dead-lettered with the endpoint, never sent.
		if reasons[outbox.DeadGone] != 1 || reasons[outbox.DeadEndpointDisabled] != 4 || len(rc.received()) != 1 {
			t.Errorf("dead reasons %v after %d requests; want 1 gone and 4 endpoint_disabled after 1", reasons, len(rc.received()))
		}
		if page, err := svc.Messages(ctx, other.ID, outbox.Filter{States: []outbox.State{outbox.Delivered}}); err != nil || len(page.Messages) != 5 {
			t.Errorf("the other endpoint's messages: %d delivered, %v; want 5", len(page.Messages), err)
		}
		if got := auditActions(t, store, ep.ID); !slices.Contains(got, "webhook.endpoint_disable") {
			t.Errorf("audit %v lacks the disabling", got)
		}
		// A disabled endpoint takes no new messages.
		out := emit(t, store, svc, outbox.Event{Type: outbox.SubjectErased, SubjectID: "sub_2"})
		if len(out.MessageIDs) != 1 {
			t.Errorf("emitted %d messages, want 1 (the other endpoint's)", len(out.MessageIDs))
		}
		if _, err := svc.Replay(ctx, ids[0]); !errs.Is(err, errs.CodeConflict) {
			t.Errorf("replay to a disabled endpoint: %v, want conflict", err)
		}
	})
}

func TestSecretRotation(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		clock := &offsetClock{}
		svc := newService(t, store, func(c *outbox.Config) { c.RotationGrace = time.Hour; c.Now = clock.now })
		startRunner(t, store, svc, 2)
		rc := newReceiver(t, nil)
		ep := createEndpoint(t, svc, rc)
		oldSecret := rc.secret
		rotated, newSecret, err := svc.RotateSecret(ctx, ep.ID)
		if err != nil {
			t.Fatal(err)
		}
		if newSecret == oldSecret || rotated.SecretVersion != 2 || rotated.PreviousSecretUntil.Sub(clock.now()) < 59*time.Minute {
			t.Fatalf("rotated %+v", rotated)
		}
		during := emit(t, store, svc, outbox.Event{Type: outbox.ConsentChanged, SubjectID: "sub_1"})
		waitSettled(t, svc, during.MessageIDs[0])
		got := rc.received()
		sigs := strings.Fields(got[0].Signature)
		if len(sigs) != 2 {
			t.Fatalf("signature header %q; want two signatures during the grace", got[0].Signature)
		}
		for i, secret := range []string{newSecret, oldSecret} {
			h := http.Header{}
			h.Set("webhook-id", got[0].ID)
			h.Set("webhook-timestamp", got[0].Timestamp)
			h.Set("webhook-signature", sigs[i])
			if err := specVerify(secret, h, got[0].Body, time.Now(), 5*time.Minute); err != nil {
				t.Errorf("signature %d does not verify under the %s secret: %v", i, []string{"new", "old"}[i], err)
			}
		}
		// After the grace, the new secret alone signs.
		clock.add(61 * time.Minute)
		after := emit(t, store, svc, outbox.Event{Type: outbox.ConsentChanged, SubjectID: "sub_1"})
		waitSettled(t, svc, after.MessageIDs[0])
		got = rc.received()
		last := got[len(got)-1]
		h := http.Header{}
		h.Set("webhook-id", last.ID)
		h.Set("webhook-timestamp", last.Timestamp)
		h.Set("webhook-signature", last.Signature)
		if len(strings.Fields(last.Signature)) != 1 || specVerify(newSecret, h, last.Body, clock.now(), 5*time.Minute) != nil {
			t.Errorf("after the grace: signature %q; want the new secret's only", last.Signature)
		}
		if got := auditActions(t, store, ep.ID); !slices.Contains(got, "webhook.secret_rotate") {
			t.Errorf("audit %v lacks the rotation", got)
		}
	})
}

func TestDeadLetterReplay(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		svc := newService(t, store, func(c *outbox.Config) {
			c.Backoff = outbox.Backoff{Base: 20 * time.Millisecond, Max: 50 * time.Millisecond, Horizon: 200 * time.Millisecond}
		})
		startRunner(t, store, svc, 2)
		var down atomic.Bool
		down.Store(true)
		rc := newReceiver(t, func(received, int) answer {
			if down.Load() {
				return answer{status: http.StatusBadGateway}
			}
			return answer{status: http.StatusOK}
		})
		ep := createEndpoint(t, svc, rc)
		var ids []string
		for range 3 {
			ids = append(ids, emit(t, store, svc, outbox.Event{Type: outbox.RequestCreated, Data: map[string]any{"request_id": "req_1"}}).MessageIDs[0])
		}
		for _, id := range ids {
			if m, _ := waitSettled(t, svc, id); m.State != outbox.Dead || m.DeadReason != outbox.DeadExpired {
				t.Fatalf("message %+v; want expired", m)
			}
		}
		dead, err := svc.DeadLetters(ctx, outbox.Filter{EndpointID: ep.ID, Limit: 2})
		if err != nil || len(dead.Messages) != 2 || dead.Next == "" {
			t.Fatalf("dead letters page 1: %+v, %v", dead, err)
		}
		rest, err := svc.DeadLetters(ctx, outbox.Filter{EndpointID: ep.ID, Limit: 2, After: dead.Next})
		if err != nil || len(rest.Messages) != 1 || rest.Next != "" {
			t.Fatalf("dead letters page 2: %+v, %v", rest, err)
		}
		seen := map[string]bool{}
		for _, m := range append(dead.Messages, rest.Messages...) {
			seen[m.ID] = true
		}
		if len(seen) != 3 {
			t.Errorf("pages hold %d distinct messages, want 3", len(seen))
		}

		down.Store(false)
		before := len(rc.received())
		m, err := svc.Replay(ctx, ids[0])
		if err != nil || m.State != outbox.Pending || m.Replays != 1 {
			t.Fatalf("replay: %+v, %v", m, err)
		}
		m, attempts := waitSettled(t, svc, ids[0])
		if m.State != outbox.Delivered || attempts[len(attempts)-1].N != len(attempts) {
			t.Errorf("replayed message %+v; want delivered, attempts numbered on", m)
		}
		for _, r := range rc.received() {
			if r.ID != ids[0] && r.ID != ids[1] && r.ID != ids[2] {
				t.Errorf("a request with webhook-id %s, not one of the messages", r.ID)
			}
		}
		if last := rc.received()[len(rc.received())-1]; last.ID != ids[0] || !last.Verified || len(rc.received()) != before+1 {
			t.Errorf("replay sent %+v; want the same webhook-id, verified, once", last)
		}
		if _, err := svc.Replay(ctx, ids[0]); !errs.Is(err, errs.CodeConflict) {
			t.Errorf("replay of a delivered message: %v, want conflict", err)
		}
		if _, err := svc.Replay(ctx, "msg_missing"); !errs.Is(err, errs.CodeNotFound) {
			t.Errorf("replay of a missing message: %v, want not found", err)
		}
		n, err := svc.ReplayDead(ctx, ep.ID)
		if err != nil || n != 2 {
			t.Fatalf("ReplayDead = %d, %v; want 2", n, err)
		}
		for _, id := range ids[1:] {
			if m, _ := waitSettled(t, svc, id); m.State != outbox.Delivered {
				t.Errorf("message %s is %s after ReplayDead", id, m.State)
			}
		}
		if got := auditActions(t, store, ids[0]); !slices.Equal(got, []string{"webhook.replay"}) {
			t.Errorf("audit of the message: %v", got)
		}
		if left, err := svc.DeadLetters(ctx, outbox.Filter{}); err != nil || len(left.Messages) != 0 {
			t.Errorf("dead letters left: %+v, %v", left, err)
		}
		// Purge keeps pending messages and drops settled ones.
		n64, err := svc.Purge(ctx, time.Now().Add(time.Hour))
		if err != nil || n64 != 3 {
			t.Errorf("purge = %d, %v; want 3", n64, err)
		}
	})
}

// offsetClock is the wall clock moved forward by what a test adds.
type offsetClock struct {
	offset atomic.Int64
}

func (c *offsetClock) now() time.Time      { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *offsetClock) add(d time.Duration) { c.offset.Add(int64(d)) }
