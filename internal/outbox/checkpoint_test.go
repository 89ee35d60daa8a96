package outbox_test

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/outbox"
)

// TestAuditCheckpointEvent wires the audit log's Checkpointer to the outbox
// as the app does: each checkpoint it signs is written as an
// audit.checkpoint message, from which a witness rebuilds the signed note.
// The message to an endpoint that answers 410 disables it, which the
// delivery audits; that entry is covered by the next checkpoint, which is
// not published, so that deliveries cannot make checkpoints without end.
func TestAuditCheckpointEvent(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		log, err := audit.New(audit.Config{DB: store})
		if err != nil {
			t.Fatal(err)
		}
		svc := newService(t, store, func(c *outbox.Config) { c.Audit = log })
		startRunner(t, store, svc, 2)
		gone := newReceiver(t, func(received, int) answer { return answer{status: http.StatusGone} })
		ok := newReceiver(t, nil)
		epGone := createEndpoint(t, svc, gone, outbox.AuditCheckpoint)
		epOK := createEndpoint(t, svc, ok, outbox.AuditCheckpoint)
		createEndpoint(t, svc, newReceiver(t, nil), outbox.ConsentChanged) // takes no checkpoint

		seed := sha256.Sum256([]byte("outbox checkpoint test"))
		signer, err := audit.NewSigner("steward.test/audit", ed25519.NewKeyFromSeed(seed[:]))
		if err != nil {
			t.Fatal(err)
		}
		c, err := audit.OpenCheckpointer(ctx, audit.CheckpointerConfig{DB: store, Signer: signer,
			File: filepath.Join(t.TempDir(), "checkpoints"), Poll: -1, Quiet: outbox.DeliveryEntry,
			Publish: func(ctx context.Context, tx *sql.Tx, p audit.Published) error {
				_, err := svc.EmitTx(ctx, tx, outbox.Event{Type: outbox.AuditCheckpoint, Data: p.Data(), At: p.At})
				return err
			}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })

		checkpoint := func(want int64) {
			t.Helper()
			cp, err := c.Checkpoint(ctx)
			if err != nil || cp.Size != want {
				t.Fatalf("Checkpoint: %d, %v; want %d", cp.Size, err, want)
			}
		}
		messages := func(ep outbox.Endpoint) []outbox.Message {
			t.Helper()
			page, err := svc.Messages(ctx, ep.ID, outbox.Filter{})
			if err != nil {
				t.Fatal(err)
			}
			return page.Messages
		}
		// Three endpoints created: three entries.
		checkpoint(3)
		msgs := messages(epOK)
		if len(msgs) != 1 || msgs[0].EventType != outbox.AuditCheckpoint {
			t.Fatalf("messages to the witness: %+v; want one audit.checkpoint", msgs)
		}
		witness(t, msgs[0].Payload, signer, 3)

		// The 410 disables the endpoint and audits it.
		goneMsgs := messages(epGone)
		if len(goneMsgs) != 1 {
			t.Fatalf("messages to the 410 endpoint: %d, want 1", len(goneMsgs))
		}
		if m, _ := waitSettled(t, svc, goneMsgs[0].ID); m.State != outbox.Dead {
			t.Fatalf("message to the 410 endpoint: %s", m.State)
		}
		if got := auditActions(t, store, epGone.ID); len(got) != 2 || got[1] != "webhook.endpoint_disable" {
			t.Fatalf("audit of the 410 endpoint: %v", got)
		}
		checkpoint(4) // signed, covering the delivery's entry, not published
		if n := len(messages(epOK)); n != 1 {
			t.Fatalf("the witness has %d messages after a checkpoint of a delivery's entry, want 1", n)
		}

		if _, err := log.Append(ctx, audit.Entry{Actor: audit.Staff("42"), Action: "keys.rotate"}); err != nil {
			t.Fatal(err)
		}
		checkpoint(5)
		msgs = messages(epOK)
		if len(msgs) != 2 {
			t.Fatalf("the witness has %d messages, want 2", len(msgs))
		}
		for _, m := range msgs {
			if m.EventType == outbox.AuditCheckpoint && json.Valid(m.Payload) {
				var p struct{ Data struct{ Size int64 } }
				_ = json.Unmarshal(m.Payload, &p)
				if p.Data.Size == 5 {
					witness(t, m.Payload, signer, 5)
					return
				}
			}
		}
		t.Fatalf("no audit.checkpoint message for size 5 among %+v", msgs)
	})
}

// witness checks an audit.checkpoint payload as another system would:
// rebuild the signed note from its fields and verify it with the published
// verifier key.
func witness(t *testing.T, payload []byte, signer *audit.Signer, size int64) {
	t.Helper()
	var p struct {
		Type      string `json:"type"`
		Timestamp string `json:"timestamp"`
		Data      struct {
			Origin    string `json:"origin"`
			Size      int64  `json:"size"`
			Root      string `json:"root"`
			SignedAt  string `json:"signed_at"`
			KeyID     string `json:"key_id"`
			Signature string `json:"signature"`
		} `json:"data"`
	}
	if err := json.Unmarshal(payload, &p); err != nil {
		t.Fatalf("payload %s: %v", payload, err)
	}
	d := p.Data
	if p.Type != outbox.AuditCheckpoint || d.Size != size || d.SignedAt == "" || d.KeyID != fmt.Sprintf("%08x", signer.KeyID()) {
		t.Fatalf("payload %s; want an audit.checkpoint of size %d by key %08x", payload, size, signer.KeyID())
	}
	note := fmt.Sprintf("%s\n%d\n%s\n\n— %s %s\n", d.Origin, d.Size, d.Root, d.Origin, d.Signature)
	cp, _, err := audit.OpenCheckpoint([]byte(note), signer.Verifier())
	if err != nil || cp.Size != size {
		t.Fatalf("the note rebuilt from %s does not verify: %v", payload, err)
	}
}
