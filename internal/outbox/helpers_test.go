package outbox_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/jobs"
	"github.com/steward-dev/steward/internal/outbox"
	"github.com/steward-dev/steward/internal/vault"
	"github.com/steward-dev/steward/internal/vault/vaulttest"
)

// specSign signs as the Standard Webhooks specification says, written
// here from the specification rather than taken from the code under test
// or from internal/connector/httpsystem: "v1," and the base64 HMAC-SHA256,
// keyed by the base64-decoded part of the whsec_ secret, of
// "id.timestamp.body" with the timestamp in Unix seconds.
func specSign(secret, id string, ts time.Time, body []byte) (string, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return "", fmt.Errorf("secret: %w", err)
	}
	mac := hmac.New(sha256.New, key)
	fmt.Fprintf(mac, "%s.%d.", id, ts.Unix())
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)), nil
}

// specVerify checks a received message as a receiver would: the
// timestamp within tolerance of now, and one of the space-separated v1
// signatures the HMAC under secret.
func specVerify(secret string, header http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	id, ts := header.Get("webhook-id"), header.Get("webhook-timestamp")
	seconds, err := strconv.ParseInt(ts, 10, 64)
	if id == "" || err != nil {
		return errors.New("missing webhook-id or webhook-timestamp")
	}
	at := time.Unix(seconds, 0)
	if d := now.Sub(at); d > tolerance || d < -tolerance {
		return fmt.Errorf("timestamp %v is outside the tolerance", at)
	}
	want, err := specSign(secret, id, at, body)
	if err != nil {
		return err
	}
	for _, sig := range strings.Fields(header.Get("webhook-signature")) {
		if hmac.Equal([]byte(sig), []byte(want)) {
			return nil
		}
	}
	return errors.New("no signature matches")
}

// testLogger discards logs unless STEWARD_TEST_OUTBOX_LOG is set.
func testLogger() *slog.Logger {
	if os.Getenv("STEWARD_TEST_OUTBOX_LOG") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// fastBackoff compresses the three days of retries into a second.
var fastBackoff = outbox.Backoff{Base: 20 * time.Millisecond, Max: 100 * time.Millisecond, Horizon: time.Second,
	MaxRetryAfter: 3 * time.Second}

// newBox opens a vault on store, with a key of its own, and returns its
// SecretBox for endpoint secrets.
func newBox(tb testing.TB, store *db.DB) *vault.SecretBox {
	tb.Helper()
	v := vaulttest.Open(tb, store)
	box, err := v.SecretBox("webhooks")
	if err != nil {
		tb.Fatal(err)
	}
	return box
}

// newService returns a service on store that signs per the specification,
// lets deliveries reach 127.0.0.1 and retries on fastBackoff.
func newService(tb testing.TB, store *db.DB, edit ...func(*outbox.Config)) *outbox.Service {
	tb.Helper()
	log, err := audit.New(audit.Config{DB: store})
	if err != nil {
		tb.Fatal(err)
	}
	cfg := outbox.Config{DB: store, Audit: log, Sign: specSign,
		AllowHosts: []string{"127.0.0.1"}, RequestTimeout: 2 * time.Second, Backoff: fastBackoff,
		Queue: "webhooks", Logger: testLogger()}
	for _, e := range edit {
		e(&cfg)
	}
	if cfg.Secrets == nil {
		// A store takes one vault key: services that share a store share
		// a box (withBox).
		cfg.Secrets = newBox(tb, store)
	}
	svc, err := outbox.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { svc.Close() })
	return svc
}

func withBox(box outbox.SecretBox) func(*outbox.Config) {
	return func(c *outbox.Config) { c.Secrets = box }
}

// startRunner opens a Runner that works svc's deliveries with workers at
// once, polling often, and gives it to svc; it is stopped when the test
// ends (or by its caller).
func startRunner(tb testing.TB, store *db.DB, svc *outbox.Service, workers int) *jobs.Runner {
	tb.Helper()
	set := jobs.NewWorkers()
	if err := svc.Register(set); err != nil {
		tb.Fatal(err)
	}
	// Retry is River's back-off for errors of Steward's own (the store
	// busy), not the receivers' failures, which the outbox snoozes.
	r, err := jobs.Open(context.Background(), jobs.Config{DB: store, Workers: set, Queues: map[string]int{"webhooks": workers},
		PollInterval: 20 * time.Millisecond, Retry: jobs.RetryPolicy{Base: 50 * time.Millisecond, Max: time.Second},
		Logger: testLogger()})
	if err != nil {
		tb.Fatalf("open runner: %v", err)
	}
	svc.UseJobs(r)
	tb.Cleanup(func() { stopRunner(r) })
	return r
}

// insertOnly opens a Runner that works nothing, so that events pile up
// before delivery starts; stop it before starting the working one.
func insertOnly(tb testing.TB, store *db.DB, svc *outbox.Service) *jobs.Runner {
	tb.Helper()
	r, err := jobs.Open(context.Background(), jobs.Config{DB: store, Logger: testLogger()})
	if err != nil {
		tb.Fatalf("open runner: %v", err)
	}
	svc.UseJobs(r)
	tb.Cleanup(func() { stopRunner(r) })
	return r
}

func stopRunner(r *jobs.Runner) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	_ = r.Stop(ctx)
}

// received is one request as a receiver saw it.
type received struct {
	ID, Timestamp, Signature string
	Body                     []byte
	At                       time.Time
	// Verified tells whether a signature verified under the receiver's
	// secret.
	Verified bool
	// Status is what the receiver answered (0: it timed out on purpose).
	Status int
}

// answer is what a receiver does with one request.
type answer struct {
	status int
	header map[string]string
	body   string
	// hang makes the receiver wait this long before answering (or until
	// the sender gives up).
	hang time.Duration
	// drop makes the receiver take the message (as status says) and
	// close the connection instead of answering: the sender sees no
	// answer, tries again, and the receiver gets a duplicate.
	drop bool
}

// receiver is an HTTP server on 127.0.0.1 that verifies what it gets
// with its endpoint's secret and answers what its behaviour says.
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	secret string
	got    []received
	behave func(r received, n int) answer
}

func newReceiver(tb testing.TB, behave func(r received, n int) answer) *receiver {
	tb.Helper()
	rc := &receiver{behave: behave}
	if rc.behave == nil {
		rc.behave = func(received, int) answer { return answer{status: http.StatusNoContent} }
	}
	rc.Server = httptest.NewServer(http.HandlerFunc(rc.serve))
	tb.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) setSecret(secret string) {
	rc.mu.Lock()
	rc.secret = secret
	rc.mu.Unlock()
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	got := received{ID: r.Header.Get("webhook-id"), Timestamp: r.Header.Get("webhook-timestamp"),
		Signature: r.Header.Get("webhook-signature"), Body: body, At: time.Now()}
	rc.mu.Lock()
	got.Verified = r.Method == http.MethodPost && r.Header.Get("Content-Type") == "application/json" &&
		specVerify(rc.secret, r.Header, body, time.Now(), 5*time.Minute) == nil
	n := len(rc.got)
	rc.mu.Unlock()
	a := rc.behave(got, n)
	if a.hang > 0 {
		select {
		case <-time.After(a.hang):
		case <-r.Context().Done():
			a.status = 0
		}
	}
	got.Status = a.status
	rc.mu.Lock()
	rc.got = append(rc.got, got)
	rc.mu.Unlock()
	if a.status == 0 {
		return
	}
	if a.drop {
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			conn.Close()
		}
		return
	}
	for k, v := range a.header {
		w.Header().Set(k, v)
	}
	w.WriteHeader(a.status)
	_, _ = io.WriteString(w, a.body)
}

func (rc *receiver) received() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

// createEndpoint creates an endpoint for rc and hands rc its secret.
func createEndpoint(tb testing.TB, svc *outbox.Service, rc *receiver, types ...string) outbox.Endpoint {
	tb.Helper()
	ep, secret, err := svc.CreateEndpoint(context.Background(), outbox.Endpoint{URL: rc.URL + "/hooks", EventTypes: types})
	if err != nil {
		tb.Fatalf("create endpoint: %v", err)
	}
	rc.setSecret(secret)
	return ep
}

// emit emits one event in a transaction of its own.
func emit(tb testing.TB, store *db.DB, svc *outbox.Service, e outbox.Event) outbox.Emitted {
	tb.Helper()
	var out outbox.Emitted
	err := store.Tx(context.Background(), func(tx *sql.Tx) error {
		var err error
		out, err = svc.EmitTx(context.Background(), tx, e)
		return err
	})
	if err != nil {
		tb.Fatalf("emit: %v", err)
	}
	return out
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(tb testing.TB, timeout time.Duration, what string, cond func() (bool, error)) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, err := cond()
		if err != nil {
			tb.Fatalf("waiting for %s: %v", what, err)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitSettled waits until message id is delivered or dead and returns it
// with its attempts.
func waitSettled(tb testing.TB, svc *outbox.Service, id string) (outbox.Message, []outbox.Attempt) {
	tb.Helper()
	var (
		m        outbox.Message
		attempts []outbox.Attempt
	)
	waitFor(tb, 20*time.Second, "message "+id+" settled", func() (bool, error) {
		var err error
		m, attempts, err = svc.Message(context.Background(), id)
		return m.State != outbox.Pending, err
	})
	return m, attempts
}

// countStates returns how many messages are in each state.
func countStates(tb testing.TB, store *db.DB) map[outbox.State]int {
	tb.Helper()
	rows, err := store.QueryContext(context.Background(), `SELECT state, count(*) FROM outbox_messages GROUP BY state`)
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	out := map[outbox.State]int{}
	for rows.Next() {
		var (
			state string
			n     int
		)
		if err := rows.Scan(&state, &n); err != nil {
			tb.Fatal(err)
		}
		out[outbox.State(state)] = n
	}
	if err := rows.Err(); err != nil {
		tb.Fatal(err)
	}
	return out
}

// auditActions returns the actions recorded against target id.
func auditActions(tb testing.TB, store *db.DB, id string) []string {
	tb.Helper()
	rows, err := store.QueryContext(context.Background(), `SELECT action FROM audit_entries WHERE target_id = $1 ORDER BY seq`, id)
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var a string
		if err := rows.Scan(&a); err != nil {
			tb.Fatal(err)
		}
		out = append(out, a)
	}
	return out
}

// fakeResolver answers from a table that a test may change.
type fakeResolver struct {
	mu    sync.Mutex
	hosts map[string][]netip.Addr
}

func newFakeResolver(hosts map[string]string) *fakeResolver {
	r := &fakeResolver{hosts: map[string][]netip.Addr{}}
	for h, addrs := range hosts {
		r.set(h, addrs)
	}
	return r
}

// set makes host resolve to the comma-separated addrs.
func (r *fakeResolver) set(host, addrs string) {
	var list []netip.Addr
	for _, a := range strings.Split(addrs, ",") {
		list = append(list, netip.MustParseAddr(strings.TrimSpace(a)))
	}
	r.mu.Lock()
	r.hosts[host] = list
	r.mu.Unlock()
}

func (r *fakeResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	addrs, ok := r.hosts[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	return addrs, nil
}
