package outbox

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/jobs"
	"github.com/steward-dev/steward/internal/netguard"
	"github.com/steward-dev/steward/internal/stdwebhooks"
)

// SecretBox seals the endpoints' signing secrets at rest (vault.SecretBox).
type SecretBox interface {
	Seal(ctx context.Context, plaintext, associated []byte) ([]byte, error)
	Open(ctx context.Context, sealed, associated []byte) ([]byte, error)
}

// Signer returns the webhook-signature value ("v1,<base64>") of the
// message id, sent at ts with body, under one whsec_ secret
// (stdwebhooks.Sign).
type Signer func(secret, id string, ts time.Time, body []byte) (string, error)

// Enqueuer inserts jobs in a transaction of the store's (*jobs.Runner).
type Enqueuer interface {
	InsertTx(ctx context.Context, tx *sql.Tx, args jobs.Args, opts *jobs.InsertOpts) (jobs.Inserted, error)
}

var _ Enqueuer = (*jobs.Runner)(nil)

// Defaults applied by New to fields left zero.
const (
	// DefaultRequestTimeout bounds one delivery attempt. Standard Webhooks
	// suggests 15 to 30 s; a receiver of thin payloads has only to store
	// an id, and a shorter wait keeps slow receivers from holding the
	// delivery workers.
	DefaultRequestTimeout = 10 * time.Second
	// DefaultRotationGrace is how long the secret before a rotation keeps
	// signing next to the new one: a day for the receiver to switch.
	DefaultRotationGrace = 24 * time.Hour
)

// Config holds what the service needs.
type Config struct {
	DB      *db.DB
	Secrets SecretBox
	// Audit records changes to endpoints, replays, and endpoints disabled
	// by a 410.
	Audit audit.Recorder
	// Sign signs messages; stdwebhooks.Sign when nil. Tests give a signer
	// of their own, written from the specification.
	Sign Signer
	// AllowHosts are host names ("localhost", "hooks.internal.example"),
	// addresses ("127.0.0.1", "::1") and ranges ("10.20.0.0/16") that
	// endpoints may use although they are internal, and over plain http.
	// Empty: only public https endpoints. Metadata addresses stay refused.
	AllowHosts []string
	// Resolver resolves endpoint hosts; net.DefaultResolver when nil.
	Resolver Resolver
	// RequestTimeout bounds one attempt (DefaultRequestTimeout).
	RequestTimeout time.Duration
	// Backoff is the retry schedule; zero fields take DefaultBackoff's.
	Backoff Backoff
	// RotationGrace is how long an old secret keeps signing after
	// RotateSecret (DefaultRotationGrace).
	RotationGrace time.Duration
	// Queue is the job queue of deliveries; empty means jobs.QueueDefault.
	// A queue of their own keeps slow receivers from delaying request
	// jobs; the Runner must then be opened with that queue.
	Queue string
	// Now is the clock; time.Now when nil.
	Now    func() time.Time
	Logger *slog.Logger
}

// Service manages endpoints, emits events and delivers messages. It is
// safe for concurrent use; replicas share its state through the database.
type Service struct {
	cfg    Config
	policy *netguard.Policy
	client *http.Client
	// rec writes the outcomes of attempts with group commit: every attempt
	// ends with a write, and one commit (one fsync on SQLite) per attempt
	// would cap delivery at the disk's flush rate, while one per batch
	// leaves the receivers as the limit.
	rec  *db.GroupCommit
	jobs atomic.Pointer[enqueuerRef]

	secretsMu sync.Mutex
	secrets   map[string]cachedSecret
}

type enqueuerRef struct{ Enqueuer }

// New returns the service. It needs DB, Secrets and Audit; the job
// runner comes later (UseJobs), since the runner is opened with the
// service's worker already registered.
func New(cfg Config) (*Service, error) {
	if cfg.DB == nil || cfg.Secrets == nil || cfg.Audit == nil {
		return nil, errors.New("outbox: New needs a DB, a SecretBox and an audit Recorder")
	}
	if cfg.Sign == nil {
		cfg.Sign = stdwebhooks.Sign
	}
	if cfg.Resolver == nil {
		cfg.Resolver = net.DefaultResolver
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = DefaultRequestTimeout
	}
	cfg.Backoff = cfg.Backoff.withDefaults()
	if cfg.RotationGrace <= 0 {
		cfg.RotationGrace = DefaultRotationGrace
	}
	if cfg.Queue == "" {
		cfg.Queue = jobs.QueueDefault
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	policy, err := netguard.NewPolicy(cfg.AllowHosts)
	if err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	s := &Service{cfg: cfg, policy: policy, rec: &db.GroupCommit{DB: cfg.DB, MaxBatch: 128}, secrets: map[string]cachedSecret{}}
	s.client = s.newClient()
	return s, nil
}

// newClient returns the HTTP client of deliveries: every connection goes
// through the checking dialer, no proxy from the environment (the proxy
// would dial for us, unchecked), no redirects (a redirect would carry the
// signed message wherever the receiver points; Standard Webhooks counts it
// as a failure).
func (s *Service) newClient() *http.Client {
	dialer := &netguard.Dialer{Policy: s.policy, Resolver: s.cfg.Resolver, Timeout: s.cfg.RequestTimeout}
	return &http.Client{
		Transport:     netguard.Transport(dialer, s.cfg.RequestTimeout),
		Timeout:       s.cfg.RequestTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Close releases idle connections to receivers.
func (s *Service) Close() error {
	s.client.CloseIdleConnections()
	return nil
}

// UseJobs gives the service the runner that EmitTx and Replay insert
// delivery jobs with. Call it once the runner is open, before the first
// event; a later call replaces the runner.
func (s *Service) UseJobs(r Enqueuer) {
	s.jobs.Store(&enqueuerRef{r})
}

func (s *Service) enqueuer() (Enqueuer, error) {
	ref := s.jobs.Load()
	if ref == nil || ref.Enqueuer == nil {
		return nil, errs.New(errs.CodeUnavailable, "webhooks are not started (no job runner)")
	}
	return ref.Enqueuer, nil
}

// Register adds the delivery worker to workers; call it before jobs.Open.
func (s *Service) Register(workers *jobs.Workers) error {
	return jobs.Register(workers, jobs.Worker[DeliverArgs](&deliverWorker{s: s}))
}

func (s *Service) now() time.Time { return s.cfg.Now().UTC().Truncate(time.Microsecond) }

// newID returns prefix and 16 random bytes in URL-safe base64: no '.',
// which would shift the boundaries of the signed "id.timestamp.body".
func newID(prefix string) string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return prefix + base64.RawURLEncoding.EncodeToString(b[:])
}

// micros and fromMicros convert times to the stored Unix microseconds.
func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return time.UnixMicro(v.Int64).UTC()
}

func nullMicros(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMicro(), Valid: true}
}
