package outbox_test

import (
	"encoding/json"
	"net/http"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/outbox"
)

// vector is the signing test vector of Standard Webhooks, kept in
// testdata with its source.
type vector struct {
	Secret    string `json:"secret"`
	MsgID     string `json:"msg_id"`
	Timestamp int64  `json:"timestamp"`
	Payload   string `json:"payload"`
	Signature string `json:"signature"`
}

func loadVector(t *testing.T) vector {
	t.Helper()
	raw, err := os.ReadFile("testdata/standard-webhooks-vector.json")
	if err != nil {
		t.Fatal(err)
	}
	var v vector
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestSpecVector checks the tests' own signer and verifier against the
// specification's vector, so that the deliveries they verify are checked
// against the specification and not against themselves.
func TestSpecVector(t *testing.T) {
	v := loadVector(t)
	ts := time.Unix(v.Timestamp, 0)
	got, err := specSign(v.Secret, v.MsgID, ts, []byte(v.Payload))
	if err != nil {
		t.Fatal(err)
	}
	if got != v.Signature {
		t.Fatalf("signature = %s, want the vector's %s", got, v.Signature)
	}
	header := func(id, stamp, sig string) http.Header {
		h := http.Header{}
		h.Set("webhook-id", id)
		h.Set("webhook-timestamp", stamp)
		h.Set("webhook-signature", sig)
		return h
	}
	stamp := strconv.FormatInt(v.Timestamp, 10)
	cases := []struct {
		name   string
		header http.Header
		body   string
		now    time.Time
		ok     bool
	}{
		{"vector verifies", header(v.MsgID, stamp, v.Signature), v.Payload, ts, true},
		{"among other signatures", header(v.MsgID, stamp, "v1a,AAAA v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= "+v.Signature), v.Payload, ts, true},
		{"other body", header(v.MsgID, stamp, v.Signature), `{"test": 2432232315}`, ts, false},
		{"other id", header("msg_other", stamp, v.Signature), v.Payload, ts, false},
		{"other timestamp", header(v.MsgID, strconv.FormatInt(v.Timestamp+1, 10), v.Signature), v.Payload, ts, false},
		{"too old", header(v.MsgID, stamp, v.Signature), v.Payload, ts.Add(6 * time.Minute), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := specVerify(v.Secret, c.header, []byte(c.body), c.now, 5*time.Minute)
			if (err == nil) != c.ok {
				t.Errorf("verify: %v, want ok=%v", err, c.ok)
			}
		})
	}
}

// TestDefaultSigner delivers with the signer New picks when Config.Sign is
// nil (the shared Standard Webhooks package) and checks the message with
// the tests' own verifier, written from the specification.
func TestDefaultSigner(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		svc := newService(t, store, func(c *outbox.Config) { c.Sign = nil })
		startRunner(t, store, svc, 1)
		rc := newReceiver(t, nil)
		createEndpoint(t, svc, rc)
		sent := emit(t, store, svc, outbox.Event{Type: outbox.ConsentChanged, SubjectID: "sub_1"})
		waitSettled(t, svc, sent.MessageIDs[0])
		got := rc.received()
		if len(got) != 1 {
			t.Fatalf("received %d messages, want 1", len(got))
		}
		h := http.Header{}
		h.Set("webhook-id", got[0].ID)
		h.Set("webhook-timestamp", got[0].Timestamp)
		h.Set("webhook-signature", got[0].Signature)
		if err := specVerify(rc.secret, h, got[0].Body, time.Now(), 5*time.Minute); err != nil {
			t.Fatalf("the default signer's message does not verify: %v", err)
		}
	})
}
