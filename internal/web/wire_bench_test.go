package web_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/app/apptest"
	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/loadgen"
)

// BenchmarkWire measures one request's processor time through net/http's
// server without the network (cpu-ns/op, the process's processor time,
// is the figure to read on a shared machine; ns/op includes the waits for
// a core): the echo of `steward bench decide`'s first
// row (loadgen.EchoHandler) and a decision (POST /v1/decisions, one
// question, through Steward's whole handler: route, headers, metrics, API
// key, body, decision, answer), each served by an http.Server over a
// connection that replays the requests from memory and discards the
// answers. What separates the two rows is what a decision costs on top of
// a bare JSON round trip, the system calls aside (they are the same for
// both):
//
//	go test -run '^$' -bench Wire -benchmem -count 5 ./internal/web/
func BenchmarkWire(b *testing.B) {
	srv := apptest.Start(b, db.SQLite)
	const devices = 10000
	seedDecisionDevices(b, srv.App.Consent, devices)
	questions := func(i int) string {
		return fmt.Sprintf(`{"questions":[{"device":"bench-%d","purpose":"analytics","vendor":"metrics-co","jurisdiction":"DE"}]}`, i*7919%devices)
	}
	var echo, decide [][]byte
	for i := range 64 {
		echo = append(echo, postRequest("/", "", questions(i)))
		decide = append(decide, postRequest("/v1/decisions", srv.Keys.Decide, questions(i)))
	}
	for _, c := range []struct {
		name     string
		handler  http.Handler
		requests [][]byte
	}{
		{"echo", loadgen.EchoHandler(), echo},
		{"decide", srv.App.Handler, decide},
	} {
		b.Run(c.name, func(b *testing.B) {
			serveReplayed(b, c.handler, c.requests)
		})
	}
}

// postRequest is an HTTP/1.1 request as the load generator sends it.
func postRequest(path, key, body string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\n", path)
	if key != "" {
		fmt.Fprintf(&b, "Authorization: Bearer %s\r\n", key)
	}
	fmt.Fprintf(&b, "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	return b.Bytes()
}

// seedDecisionDevices records a grant for analytics for n devices, as
// `steward bench decide` does.
func seedDecisionDevices(tb testing.TB, svc *consent.Service, n int) {
	tb.Helper()
	at := time.Now().Add(-time.Hour)
	for start := 0; start < n; start += consent.MaxBatch {
		var events []consent.Event
		for i := start; i < min(start+consent.MaxBatch, n); i++ {
			events = append(events, consent.Event{ID: fmt.Sprintf("seed-%d", i), Property: "demo", Device: fmt.Sprintf("bench-%d", i),
				Purpose: "analytics", Action: consent.ActionGrant, Source: consent.SourceImport, NoticeVersion: "2026-11", At: at})
		}
		if err := svc.ValidateEvents(events, consent.Author{Kind: consent.AuthorAdminKey}); err != nil {
			tb.Fatal(err)
		}
		if _, err := svc.Append(context.Background(), events); err != nil {
			tb.Fatal(err)
		}
	}
}

// serveReplayed serves b.N requests (the given ones in turn) on one
// keep-alive connection with handler behind an http.Server configured as
// Steward's, and checks that every answer is 200 OK.
func serveReplayed(b *testing.B, handler http.Handler, requests [][]byte) {
	conn := &replayConn{requests: requests, left: b.N, closed: make(chan struct{})}
	ln := &oneConnListener{conn: conn, done: make(chan struct{})}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second, MaxHeaderBytes: 64 << 10}
	b.ReportAllocs()
	b.ResetTimer()
	var before, after syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &before)
	go srv.Serve(ln)
	<-conn.closed
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &after)
	b.StopTimer()
	cpu := after.Utime.Nano() + after.Stime.Nano() - before.Utime.Nano() - before.Stime.Nano()
	b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/op")
	srv.Close()
	if ok := conn.ok.Load(); ok != int64(b.N) {
		b.Fatalf("%d of %d answers were 200 OK; first other: %q", ok, b.N, conn.other())
	}
}

// replayConn is a client connection that sends left requests (requests
// in turn, each delivered by reads of at most its own length) and counts
// the answers that start with a 200 status line. Once all were sent, a
// read returns io.EOF and the server closes the connection.
type replayConn struct {
	requests [][]byte
	left     int
	next     int    // the request being sent
	rest     []byte // what is left of it
	ok       atomic.Int64

	mu         sync.Mutex
	firstOther []byte
	closeOnce  sync.Once
	closed     chan struct{}
}

var okLine = []byte("HTTP/1.1 200 OK\r\n")

func (c *replayConn) Read(p []byte) (int, error) {
	if len(c.rest) == 0 {
		if c.left == 0 {
			return 0, io.EOF
		}
		c.left--
		c.rest = c.requests[c.next]
		c.next = (c.next + 1) % len(c.requests)
	}
	n := copy(p, c.rest)
	c.rest = c.rest[n:]
	return n, nil
}

// Write counts answers: net/http writes each one with one Write here
// (they are smaller than its buffer).
func (c *replayConn) Write(p []byte) (int, error) {
	if bytes.HasPrefix(p, okLine) {
		c.ok.Add(1)
	} else {
		c.mu.Lock()
		if c.firstOther == nil {
			c.firstOther = bytes.Clone(p[:min(len(p), 300)])
		}
		c.mu.Unlock()
	}
	return len(p), nil
}

func (c *replayConn) other() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.firstOther
}

func (c *replayConn) Close() error {
	c.closeOnce.Do(func() { close(c.closed) })
	return nil
}

func (c *replayConn) LocalAddr() net.Addr                { return replayAddr("server") }
func (c *replayConn) RemoteAddr() net.Addr               { return replayAddr("127.0.0.1:" + strconv.Itoa(40000)) }
func (c *replayConn) SetDeadline(t time.Time) error      { return nil }
func (c *replayConn) SetReadDeadline(t time.Time) error  { return nil }
func (c *replayConn) SetWriteDeadline(t time.Time) error { return nil }

type replayAddr string

func (a replayAddr) Network() string { return "tcp" }
func (a replayAddr) String() string  { return string(a) }

// oneConnListener accepts conn once, then waits until it is closed.
type oneConnListener struct {
	conn     net.Conn
	accepted bool
	done     chan struct{}
	once     sync.Once
}

func (l *oneConnListener) Accept() (net.Conn, error) {
	if !l.accepted {
		l.accepted = true
		return l.conn, nil
	}
	<-l.done
	return nil, errors.New("listener closed")
}

func (l *oneConnListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *oneConnListener) Addr() net.Addr { return replayAddr("server") }
