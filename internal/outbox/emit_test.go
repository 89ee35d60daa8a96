package outbox_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/jobs"
	"github.com/steward-dev/steward/internal/outbox"
)

func TestDeliverySignedWithHeaders(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		svc := newService(t, store)
		runner := startRunner(t, store, svc, 4)
		rc := newReceiver(t, nil)
		ep := createEndpoint(t, svc, rc)
		at := time.Date(2026, 11, 28, 9, 0, 0, 123456789, time.UTC)
		out := emit(t, store, svc, outbox.Event{Type: outbox.ConsentChanged, SubjectID: "sub_42", At: at,
			Data: map[string]any{"purpose": "analytics", "decision": "grant", "receipt_id": "rcpt_7", "version": 3}})
		if len(out.MessageIDs) != 1 || !strings.HasPrefix(out.MessageIDs[0], "msg_") || !strings.HasPrefix(out.EventID, "evt_") {
			t.Fatalf("emitted %+v; want one msg_ for one endpoint", out)
		}
		m, attempts := waitSettled(t, svc, out.MessageIDs[0])
		if m.State != outbox.Delivered || m.Attempts != 1 || m.LastStatus != http.StatusNoContent || m.DeliveredAt.IsZero() {
			t.Errorf("message %+v; want delivered at the first attempt with 204", m)
		}
		if len(attempts) != 1 || attempts[0].Outcome != "delivered" || attempts[0].Status != 204 {
			t.Errorf("attempts %+v", attempts)
		}
		got := rc.received()
		if len(got) != 1 {
			t.Fatalf("receiver got %d requests, want 1", len(got))
		}
		r := got[0]
		if !r.Verified {
			t.Error("the signature does not verify under the endpoint's secret")
		}
		if r.ID != m.ID || strings.Contains(r.Signature, " ") {
			t.Errorf("webhook-id %q, signature %q; want the message id and one signature", r.ID, r.Signature)
		}
		if ts, _ := strconv.ParseInt(r.Timestamp, 10, 64); time.Since(time.Unix(ts, 0)) > time.Minute {
			t.Errorf("webhook-timestamp %s is not the attempt's time", r.Timestamp)
		}
		want := `{"type":"consent.changed","timestamp":"2026-11-28T09:00:00.123456Z","data":{"decision":"grant","purpose":"analytics","receipt_id":"rcpt_7","subject_id":"sub_42","version":3}}`
		if string(r.Body) != want || string(m.Payload) != want {
			t.Errorf("body\n%s\nstored\n%s\nwant\n%s", r.Body, m.Payload, want)
		}
		// The job carries the message id only.
		rec, err := runner.Get(ctx, m.JobID)
		if err != nil {
			t.Fatal(err)
		}
		var args map[string]any
		if err := json.Unmarshal(rec.Args, &args); err != nil || len(args) != 1 || args["message_id"] != m.ID || rec.Kind != "webhook.deliver" {
			t.Errorf("job %s args %s", rec.Kind, rec.Args)
		}
		page, err := svc.Messages(ctx, ep.ID, outbox.Filter{})
		if err != nil || len(page.Messages) != 1 || page.Messages[0].ID != m.ID {
			t.Errorf("Messages = %+v, %v", page, err)
		}
	})
}

func TestEventTypeFilters(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		svc := newService(t, store)
		insertOnly(t, store, svc)
		all := createEndpoint(t, svc, newReceiver(t, nil))
		consent := createEndpoint(t, svc, newReceiver(t, nil), outbox.ConsentChanged)
		requests := createEndpoint(t, svc, newReceiver(t, nil), outbox.RequestCreated, outbox.RequestCompleted)
		off := createEndpoint(t, svc, newReceiver(t, nil))
		disabled := false
		if _, err := svc.UpdateEndpoint(ctx, off.ID, outbox.EndpointUpdate{Enabled: &disabled}); err != nil {
			t.Fatal(err)
		}
		want := map[string][]string{
			outbox.ConsentChanged:          {all.ID, consent.ID},
			outbox.RequestCreated:          {all.ID, requests.ID},
			outbox.RequestCompleted:        {all.ID, requests.ID},
			outbox.SubjectErased:           {all.ID},
			outbox.VendorAssessmentExpired: {all.ID},
		}
		for typ, endpoints := range want {
			out := emit(t, store, svc, outbox.Event{Type: typ, Data: map[string]any{"id": "x1"}})
			var got []string
			for _, id := range out.MessageIDs {
				m, _, err := svc.Message(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				if m.EventType != typ || m.EventID != out.EventID {
					t.Errorf("message %+v of event %s", m, out.EventID)
				}
				got = append(got, m.EndpointID)
			}
			slices.Sort(got)
			slices.Sort(endpoints)
			if !slices.Equal(got, endpoints) {
				t.Errorf("%s went to %v, want %v", typ, got, endpoints)
			}
		}
	})
}

func TestEmitTxRollbackSendsNothing(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		svc := newService(t, store)
		runner := startRunner(t, store, svc, 2)
		rc := newReceiver(t, nil)
		createEndpoint(t, svc, rc)
		if _, err := store.ExecContext(ctx, `CREATE TABLE test_changes (id TEXT PRIMARY KEY)`); err != nil {
			t.Fatal(err)
		}
		failed := errors.New("the change failed after the event")
		var emitted outbox.Emitted
		err := store.Tx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, `INSERT INTO test_changes (id) VALUES ('c1')`); err != nil {
				return err
			}
			var err error
			if emitted, err = svc.EmitTx(ctx, tx, outbox.Event{Type: outbox.SubjectErased, SubjectID: "sub_1"}); err != nil {
				return err
			}
			return failed
		})
		if !errors.Is(err, failed) || len(emitted.MessageIDs) != 1 {
			t.Fatalf("tx: %v, emitted %+v", err, emitted)
		}
		// A committed event after it: once it is delivered, the rolled-back
		// one would have been too.
		committed := emit(t, store, svc, outbox.Event{Type: outbox.SubjectErased, SubjectID: "sub_2"})
		waitSettled(t, svc, committed.MessageIDs[0])
		if _, _, err := svc.Message(ctx, emitted.MessageIDs[0]); !errs.Is(err, errs.CodeNotFound) {
			t.Errorf("rolled-back message: %v, want not found", err)
		}
		got := rc.received()
		if len(got) != 1 || got[0].ID != committed.MessageIDs[0] {
			t.Errorf("receiver got %+v; want the committed message only", got)
		}
		page, err := runner.List(ctx, jobs.Filter{Kinds: []string{"webhook.deliver"}})
		if err != nil || len(page.Jobs) != 1 {
			t.Errorf("delivery jobs: %+v, %v; want the committed one only", page.Jobs, err)
		}
	})
}

func TestEmitRefusesPersonalData(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		svc := newService(t, store)
		insertOnly(t, store, svc)
		createEndpoint(t, svc, newReceiver(t, nil))
		deep := map[string]any{"a": map[string]any{"b": map[string]any{"c": map[string]any{"d": "x"}}}}
		cases := []struct {
			name  string
			event outbox.Event
			field string
		}{
			{"unknown type", outbox.Event{Type: "consent.exploded"}, "type"},
			{"email value", outbox.Event{Type: outbox.ConsentChanged, Data: map[string]any{"contact": "ada@example.org"}}, "data.contact"},
			{"email key", outbox.Event{Type: outbox.ConsentChanged, Data: map[string]any{"email": "x1"}}, "data.email"},
			{"email in a key", outbox.Event{Type: outbox.ConsentChanged, Data: map[string]any{"customer_email_hash": "x1"}}, "data.customer_email_hash"},
			{"name key", outbox.Event{Type: outbox.ConsentChanged, Data: map[string]any{"first_name": "Ada"}}, "data.first_name"},
			{"free text", outbox.Event{Type: outbox.ConsentChanged, Data: map[string]any{"note": "Ada Lovelace"}}, "data.note"},
			{"phone number", outbox.Event{Type: outbox.ConsentChanged, Data: map[string]any{"contact": "+4930123456"}}, "data.contact"},
			{"email in a list", outbox.Event{Type: outbox.ConsentChanged, Data: map[string]any{"ids": []string{"x1", "a@b.example"}}}, "data.ids[1]"},
			{"email as subject", outbox.Event{Type: outbox.ConsentChanged, SubjectID: "ada@example.org"}, "subject_id"},
			{"camelCase key", outbox.Event{Type: outbox.ConsentChanged, Data: map[string]any{"subjectId": "x1"}}, "data"},
			{"too deep", outbox.Event{Type: outbox.ConsentChanged, Data: deep}, "data.a.b.c"},
			{"too big", outbox.Event{Type: outbox.ConsentChanged, Data: map[string]any{"ids": slices.Repeat([]string{strings.Repeat("x", 200)}, 100)}}, "data"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				err := store.Tx(ctx, func(tx *sql.Tx) error {
					_, err := svc.EmitTx(ctx, tx, c.event)
					return err
				})
				e, ok := errs.As(err)
				if !ok || e.Code != errs.CodeInvalid {
					t.Fatalf("err = %v, want invalid", err)
				}
				if _, ok := e.Fields[c.field]; !ok {
					t.Errorf("fields %v, want %s", e.Fields, c.field)
				}
				if strings.Contains(err.Error(), "ada@example.org") || strings.Contains(err.Error(), "Lovelace") {
					t.Errorf("the error quotes the value: %v", err)
				}
			})
		}
		if n := countStates(t, store); len(n) != 0 {
			t.Errorf("refused events left messages: %v", n)
		}
		// What a thin payload holds passes.
		ok := emit(t, store, svc, outbox.Event{Type: outbox.RequestCompleted, SubjectID: "sub_1", Data: map[string]any{
			"request_id": "req_1", "kind": "erasure", "outcome": "completed", "completed_at": "2026-11-28T09:00:00Z",
			"systems": []string{"crm", "billing"}, "counts": map[string]any{"rows": 3}, "partial": false}})
		if len(ok.MessageIDs) != 1 {
			t.Errorf("thin payload: %+v", ok)
		}
	})
}

func TestEmitWithoutRunner(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		svc := newService(t, store)
		// No endpoint: nothing to enqueue, and a command without a runner
		// can still change data.
		if out, err := svc.Emit(ctx, outbox.Event{Type: outbox.SubjectErased, SubjectID: "sub_1"}); err != nil || len(out.MessageIDs) != 0 {
			t.Fatalf("emit without endpoints: %+v, %v", out, err)
		}
		createEndpoint(t, svc, newReceiver(t, nil))
		if _, err := svc.Emit(ctx, outbox.Event{Type: outbox.SubjectErased, SubjectID: "sub_1"}); !errs.Is(err, errs.CodeUnavailable) {
			t.Errorf("emit to an endpoint without a runner: %v, want unavailable", err)
		}
		if n := countStates(t, store); len(n) != 0 {
			t.Errorf("messages written without their jobs: %v", n)
		}
	})
}

// TestSweepOrphans: a pending message whose delivery job ended or is gone
// becomes a dead letter (and so visible and replayable); one whose job is
// still waiting, or that is newer than the cut-off, stays pending.
func TestSweepOrphans(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		svc := newService(t, store)
		insertOnly(t, store, svc)
		createEndpoint(t, svc, newReceiver(t, nil))
		var ids []string
		for range 4 {
			out := emit(t, store, svc, outbox.Event{Type: outbox.ConsentChanged, Data: map[string]any{"purpose": "analytics"}})
			ids = append(ids, out.MessageIDs[0])
		}
		jobOf := func(id string) int64 {
			m, _, err := svc.Message(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			return m.JobID
		}
		// 0 keeps its waiting job; 1's job was discarded, 2's cancelled,
		// 3's deleted.
		now := time.Now().UTC()
		for _, q := range []struct {
			sql  string
			args []any
		}{
			{`UPDATE river_job SET state = 'discarded', finalized_at = $2 WHERE id = $1`, []any{jobOf(ids[1]), now}},
			{`UPDATE river_job SET state = 'cancelled', finalized_at = $2 WHERE id = $1`, []any{jobOf(ids[2]), now}},
			{`DELETE FROM river_job WHERE id = $1`, []any{jobOf(ids[3])}},
		} {
			if _, err := store.ExecContext(ctx, q.sql, q.args...); err != nil {
				t.Fatal(err)
			}
		}
		if n, err := svc.SweepOrphans(ctx, time.Now().Add(-time.Hour)); err != nil || n != 0 {
			t.Fatalf("sweep with an earlier cut-off: %d, %v; want none", n, err)
		}
		n, err := svc.SweepOrphans(ctx, time.Now().Add(time.Minute))
		if err != nil || n != 3 {
			t.Fatalf("sweep: %d, %v; want 3", n, err)
		}
		for i, id := range ids {
			m, _, err := svc.Message(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			want, reason := outbox.Dead, outbox.DeadJobEnded
			if i == 0 {
				want, reason = outbox.Pending, ""
			}
			if m.State != want || m.DeadReason != reason {
				t.Errorf("message %d: %s (%q), want %s (%q)", i, m.State, m.DeadReason, want, reason)
			}
		}
	})
}
