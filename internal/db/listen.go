package db

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

// ListenConfig tunes a Listener.
type ListenConfig struct {
	// Notify is called, on the listener's goroutine, with the payload of
	// each notification on the channel. It must not block: hand the work
	// to another goroutine.
	Notify func(payload string)
	// Connected, when set, is called after each connection (the first and
	// every reconnection), once LISTEN is in force: notifications sent while
	// the listener was away are lost, so the caller catches up here.
	Connected func()
	// MinBackoff and MaxBackoff bound the wait before reconnecting after the
	// connection is lost: it starts at MinBackoff and doubles up to
	// MaxBackoff; 0 means 50 ms and 5 s.
	MinBackoff, MaxBackoff time.Duration
	Logger                 *slog.Logger
}

// Listener holds one PostgreSQL connection of its own, outside the pool,
// that LISTENs on a channel and hands each notification to
// ListenConfig.Notify. When the connection is lost it reconnects with
// exponential backoff and jitter; in between, notifications are lost, so
// callers keep another way to learn of changes (polling) and catch up in
// ListenConfig.Connected.
type Listener struct {
	url, channel string
	cfg          ListenConfig
	cancel       context.CancelFunc
	done         chan struct{}
	pid          atomic.Uint32
	connects     atomic.Int64
	mu           sync.Mutex
	lastErr      error
}

// ErrNoListen is returned by Listen on a store without LISTEN/NOTIFY (SQLite).
var ErrNoListen = errors.New("listen: the store has no LISTEN/NOTIFY (SQLite)")

// Listen starts a Listener on channel, which must be a plain identifier.
// It returns at once; the first connection is made in the background.
// Close stops it.
func (d *DB) Listen(channel string, cfg ListenConfig) (*Listener, error) {
	if d.Dialect != Postgres || d.url == "" {
		return nil, ErrNoListen
	}
	if !plainIdentifier(channel) {
		return nil, fmt.Errorf("listen: channel %q is not a plain identifier", channel)
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = 50 * time.Millisecond
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 5 * time.Second
	}
	if cfg.MaxBackoff < cfg.MinBackoff {
		cfg.MaxBackoff = cfg.MinBackoff
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Notify == nil {
		cfg.Notify = func(string) {}
	}
	ctx, cancel := context.WithCancel(context.Background())
	l := &Listener{url: d.url, channel: channel, cfg: cfg, cancel: cancel, done: make(chan struct{})}
	go l.run(ctx)
	return l, nil
}

func plainIdentifier(s string) bool {
	if s == "" || len(s) > 63 {
		return false
	}
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r == '_':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// Close stops listening and closes the connection.
func (l *Listener) Close() error {
	l.cancel()
	<-l.done
	return nil
}

// PID is the backend process id of the listening connection, 0 while
// there is none (pg_terminate_backend takes it, which tests use).
func (l *Listener) PID() uint32 { return l.pid.Load() }

// Connected reports whether the listener holds a connection now.
func (l *Listener) Connected() bool { return l.pid.Load() != 0 }

// Connects counts the connections made, the first included.
func (l *Listener) Connects() int64 { return l.connects.Load() }

// Err is the error that ended the last connection, nil if none did.
func (l *Listener) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lastErr
}

func (l *Listener) run(ctx context.Context) {
	defer close(l.done)
	backoff := l.cfg.MinBackoff
	for {
		started := time.Now()
		err := l.session(ctx)
		l.pid.Store(0)
		if ctx.Err() != nil {
			return
		}
		l.mu.Lock()
		l.lastErr = err
		l.mu.Unlock()
		// A connection that lasted a while starts the backoff afresh; one
		// that fails at once (server down) waits longer each time.
		if time.Since(started) > l.cfg.MaxBackoff {
			backoff = l.cfg.MinBackoff
		}
		wait := backoff/2 + rand.N(backoff/2+1) // jitter, so that replicas do not reconnect in step
		l.cfg.Logger.Warn("ledger listener lost its connection; polling until it is back", "err", err, "retry_in", wait.Round(time.Millisecond).String())
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		backoff = min(backoff*2, l.cfg.MaxBackoff)
	}
}

// session connects, listens and delivers notifications until the
// connection fails or ctx ends.
func (l *Listener) session(ctx context.Context) error {
	connectCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	conn, err := pgx.Connect(connectCtx, l.url)
	cancel()
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = conn.Close(closeCtx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+l.channel); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	l.pid.Store(conn.PgConn().PID())
	l.connects.Add(1)
	if l.cfg.Connected != nil {
		l.cfg.Connected()
	}
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return fmt.Errorf("wait for notification: %w", err)
		}
		l.cfg.Notify(n.Payload)
	}
}
