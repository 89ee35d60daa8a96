package httpsystem_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/connector/httpsystem"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/vault/vaulttest"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// received is one call as the fake system saw it.
type received struct {
	ID        string // webhook-id
	Refused   error  // why the system refused Steward's signature, if it did
	Type      string `json:"type"`
	CallID    string `json:"call_id"`
	RequestID string `json:"request_id"`
	Subject   struct {
		ExternalIDs []string `json:"external_ids"`
		Emails      []string `json:"emails"`
	} `json:"subject"`
	CallbackURL string              `json:"callback_url"`
	Deadline    time.Time           `json:"deadline"`
	Changes     []httpsystem.Change `json:"changes"`
}

// system is the company's system, played by an httptest server: it checks
// Steward's signature with its own copy of the secret, records each call
// and answers with status (202 unless set).
type system struct {
	*httptest.Server
	secret string
	clock  *clock

	mu     sync.Mutex
	calls  []received
	status int
}

func newSystem(t *testing.T, secret string, clk *clock) *system {
	t.Helper()
	s := &system{secret: secret, clock: clk, status: http.StatusAccepted}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var got received
		got.ID = r.Header.Get("webhook-id")
		if got.Refused = httpsystem.Verify(s.secret, r.Header, body, s.clock.now()); got.Refused == nil {
			if err := json.Unmarshal(body, &got); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
		}
		s.mu.Lock()
		s.calls = append(s.calls, got)
		status := s.status
		s.mu.Unlock()
		if got.Refused != nil {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *system) answer(status int) { s.mu.Lock(); s.status = status; s.mu.Unlock() }

func (s *system) received() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.calls...)
}

// env holds the variables the service reads.
type env map[string]string

func (e env) get(name string) string { return e[name] }

type fixture struct {
	svc     *httpsystem.Service
	clock   *clock
	store   *db.DB
	crm     *httpsystem.Dataset // access and erasure, at the fake system
	billing *httpsystem.Dataset // access only, its own secret
	system  *system
	secret  string // the crm's secret, as both sides hold it
	env     env
}

// newFixture returns the service with two HTTP connectors, crm (at a fake
// system) and billing, and a real vault's SecretBox.
func newFixture(t *testing.T, store *db.DB, adjust ...func(*httpsystem.Config)) *fixture {
	t.Helper()
	clk := &clock{t: time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)}
	f := &fixture{clock: clk, store: store, secret: httpsystem.GenerateSecret()}
	f.system = newSystem(t, f.secret, clk)
	f.env = env{"CRM_WEBHOOK_SECRET": f.secret, "BILLING_WEBHOOK_SECRET": httpsystem.GenerateSecret()}
	f.crm = mustParse(t, fmt.Sprintf("connector: crm\nengine: http\nurl: %s/steward\nsecret_env: CRM_WEBHOOK_SECRET\n"+
		"operations: [access, erasure]\ncategories: [contact, behavioural]\ntimeout: 72h\n", f.system.URL))
	f.billing = mustParse(t, "connector: billing\nengine: http\nurl: http://127.0.0.1:1/billing\nsecret_env: BILLING_WEBHOOK_SECRET\n"+
		"operations: [access]\ncategories: [financial]\nlegal_reason: invoices are kept 10 years (tax law)\n")
	cfg := httpsystem.Config{DB: store, Datasets: []*httpsystem.Dataset{f.crm, f.billing}, Getenv: f.env.get,
		PublicURL: "https://privacy.shop.example/", RequestTimeout: 5 * time.Second, Now: clk.now,
		// The fake system listens on loopback, which calls may reach only
		// when allow-listed.
		AllowHosts: []string{"127.0.0.1"}}
	for _, a := range adjust {
		a(&cfg)
	}
	if cfg.Secrets == nil {
		cfg.Secrets = newBox(t, store)
	}
	var err error
	if f.svc, err = httpsystem.New(cfg); err != nil {
		t.Fatal(err)
	}
	return f
}

// newBox opens a vault on store, with a key of its own, and returns its
// SecretBox for connector data. A store takes one vault key: fixtures
// that share a store share a box (withBox).
func newBox(t *testing.T, store *db.DB) httpsystem.SecretBox {
	t.Helper()
	v := vaulttest.Open(t, store)
	box, err := v.SecretBox("webhook-data")
	if err != nil {
		t.Fatal(err)
	}
	return box
}

func withBox(box httpsystem.SecretBox) func(*httpsystem.Config) {
	return func(c *httpsystem.Config) { c.Secrets = box }
}

func mustParse(t *testing.T, text string) *httpsystem.Dataset {
	t.Helper()
	ds, err := httpsystem.Parse("test.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// callback plays the system answering a call: body signed with secret at
// the fixture's time, unless edit changes the headers.
func (f *fixture) callback(t *testing.T, name, secret, callID, body string, edit ...func(http.Header)) error {
	t.Helper()
	header, err := httpsystem.Headers(secret, "msg_"+strings.TrimPrefix(callID, "whc_"), f.clock.now(), []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range edit {
		e(header)
	}
	return f.svc.HandleCallback(context.Background(), name, callID, header, []byte(body))
}

// dump returns every row of webhook_calls as text, binary columns as is.
func dump(t *testing.T, store *db.DB) string {
	t.Helper()
	rows, err := store.Query(`SELECT * FROM webhook_calls ORDER BY created_at, id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	columns, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	values := make([]any, len(columns))
	dest := make([]any, len(columns))
	for i := range values {
		dest[i] = &values[i]
	}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			t.Fatal(err)
		}
		for i, v := range values {
			if bs, ok := v.([]byte); ok {
				v = string(bs)
			}
			fmt.Fprintf(&b, "%s=%v ", columns[i], v)
		}
		b.WriteString("\n")
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}
