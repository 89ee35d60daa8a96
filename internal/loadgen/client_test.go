package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestRequestHead(t *testing.T) {
	u, err := url.Parse("http://localhost:8080/v1/decide?x=1&y=2")
	if err != nil {
		t.Fatal(err)
	}
	tgt, err := newTarget(u, http.MethodPost, http.Header{
		"Content-Type":   {"application/json"},
		"Authorization":  {"Bearer k"},
		"X-Multi":        {"a", "b"},
		"Host":           {"evil.example"}, // ignored, as by net/http
		"Content-Length": {"99"},           // set per request
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "POST /v1/decide?x=1&y=2 HTTP/1.1\r\n" +
		"Host: localhost:8080\r\n" +
		"User-Agent: steward-loadgen\r\n" +
		"Authorization: Bearer k\r\n" +
		"Content-Type: application/json\r\n" +
		"X-Multi: a\r\nX-Multi: b\r\n"
	if string(tgt.head) != want {
		t.Errorf("head =\n%q\nwant\n%q", tgt.head, want)
	}
	if tgt.addr != "localhost:8080" || !tgt.sendLength || tgt.noBody || tgt.replayable {
		t.Errorf("target = %+v", tgt)
	}

	u, _ = url.Parse("http://[::1]")
	tgt, err = newTarget(u, http.MethodGet, http.Header{"User-Agent": {"me"}})
	if err != nil {
		t.Fatal(err)
	}
	if want := "GET / HTTP/1.1\r\nHost: [::1]\r\nUser-Agent: me\r\n"; string(tgt.head) != want {
		t.Errorf("head = %q, want %q", tgt.head, want)
	}
	if tgt.addr != "[::1]:80" || tgt.sendLength || !tgt.replayable {
		t.Errorf("target = %+v", tgt)
	}

	for _, h := range []http.Header{
		{"X-Bad": {"a\r\nInjected: 1"}},
		{"X-Bad": {"a\nb"}},
		{"Bad Name": {"x"}},
		{"": {"x"}},
	} {
		if _, err := Run(context.Background(), Config{URL: "http://127.0.0.1:1/", Header: h}); err == nil || !strings.Contains(err.Error(), "invalid") {
			t.Errorf("header %q: Run error = %v, want invalid header", h, err)
		}
	}
}

// rawServer is a loopback HTTP/1.1 server whose responses are written byte
// for byte by the test, in as many separate writes as it likes.
type rawServer struct {
	url   string
	hits  atomic.Int64 // requests read
	conns atomic.Int64 // connections accepted
}

// rawResponse returns the response to the n-th request (counting from 1) as
// pieces to be written separately, and whether to keep the connection open.
type rawResponse func(n int64, req *http.Request, body []byte) (pieces []string, keep bool)

func startRawServer(t *testing.T, respond rawResponse) *rawServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &rawServer{url: "http://" + ln.Addr().String()}
	var (
		mu    sync.Mutex
		conns []net.Conn
		wg    sync.WaitGroup
	)
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.conns.Add(1)
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Go(func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					body, err := io.ReadAll(req.Body)
					if err != nil {
						return
					}
					pieces, keep := respond(s.hits.Add(1), req, body)
					for _, p := range pieces {
						if _, err := io.WriteString(c, p); err != nil {
							return
						}
					}
					if !keep {
						return
					}
				}
			})
		}
	})
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return s
}

// bodyCheck returns a Check that requires status 200 and the given body.
func bodyCheck(want []byte) func(int, []byte) error {
	return func(status int, body []byte) error {
		if status != http.StatusOK {
			return fmt.Errorf("status %d", status)
		}
		if !bytes.Equal(body, want) {
			return fmt.Errorf("body %.60q… (%d bytes), want %.60q… (%d bytes)", body, len(body), want, len(want))
		}
		return nil
	}
}

// runClean runs cfg for testDuration without warm-up and requires an
// error-free result whose request count matches the server's.
func runClean(t *testing.T, cfg Config, hits func() int64) Result {
	t.Helper()
	if cfg.Duration == 0 {
		cfg.Duration = testDuration
	}
	cfg.Warmup = -1
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v, server saw %d", res, hits())
	if res.Requests == 0 || res.Errors != 0 || res.FirstError != "" {
		t.Fatalf("want error-free requests, got %+v", res)
	}
	if int64(res.Requests) != hits() {
		t.Errorf("Run reported %d requests, server saw %d", res.Requests, hits())
	}
	return res
}

func TestRawResponses(t *testing.T) {
	okBody := []byte("hello, chunked world")
	tests := []struct {
		name    string
		method  string
		respond rawResponse
		want    []byte
		newConn bool // every request needs a new connection
	}{
		{
			name: "chunked with extensions and trailer",
			respond: func(int64, *http.Request, []byte) ([]string, bool) {
				return []string{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n" +
					"7;name=value\r\nhello, \r\n" +
					"D \r\nchunked world\r\n" +
					"0\r\nX-Trailer: t\r\n\r\n"}, true
			},
			want: okBody,
		},
		{
			name: "chunked, written byte by byte",
			respond: func(int64, *http.Request, []byte) ([]string, bool) {
				resp := "HTTP/1.1 200 OK\r\ntransfer-encoding: gzip, Chunked\r\n\r\n" +
					"5\r\nhello\r\nf\r\n, chunked world\r\n0\r\n\r\n"
				return strings.Split(resp, ""), true
			},
			want: okBody,
		},
		{
			name: "content-length, written in pieces",
			respond: func(int64, *http.Request, []byte) ([]string, bool) {
				return []string{"HTTP/1.1 200 OK\r\nconTent-LENGTH:  20 \r\n", "\r\nhello, ", "chunked world"}, true
			},
			want: okBody,
		},
		{
			name: "bare LF line endings",
			respond: func(int64, *http.Request, []byte) ([]string, bool) {
				return []string{"HTTP/1.1 200 OK\nContent-Length: 20\n\nhello, chunked world"}, true
			},
			want: okBody,
		},
		{
			name: "interim 103 response",
			respond: func(int64, *http.Request, []byte) ([]string, bool) {
				return []string{"HTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\nhello, chunked world"}, true
			},
			want: okBody,
		},
		{
			name: "no length: body until close",
			respond: func(int64, *http.Request, []byte) ([]string, bool) {
				return []string{"HTTP/1.1 200 OK\r\n\r\nhello, ", "chunked world"}, false
			},
			want:    okBody,
			newConn: true,
		},
		{
			name: "HTTP/1.0 closes by default",
			respond: func(int64, *http.Request, []byte) ([]string, bool) {
				return []string{"HTTP/1.0 200 OK\r\nContent-Length: 20\r\n\r\nhello, chunked world"}, false
			},
			want:    okBody,
			newConn: true,
		},
		{
			name: "HTTP/1.0 keep-alive",
			respond: func(int64, *http.Request, []byte) ([]string, bool) {
				return []string{"HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 20\r\n\r\nhello, chunked world"}, true
			},
			want: okBody,
		},
		{
			name: "Connection: close",
			respond: func(int64, *http.Request, []byte) ([]string, bool) {
				return []string{"HTTP/1.1 200 OK\r\nConnection: keep-alive, Close\r\nContent-Length: 20\r\n\r\nhello, chunked world"}, false
			},
			want:    okBody,
			newConn: true,
		},
		{
			name: "204 and 304 have no body",
			respond: func(n int64, _ *http.Request, _ []byte) ([]string, bool) {
				if n%2 == 0 {
					return []string{"HTTP/1.1 204 No Content\r\n\r\n"}, true
				}
				return []string{"HTTP/1.1 304 Not Modified\r\nContent-Length: 20\r\n\r\n"}, true
			},
		},
		{
			name:   "HEAD response has no body",
			method: http.MethodHead,
			respond: func(int64, *http.Request, []byte) ([]string, bool) {
				return []string{"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"}, true
			},
		},
		{
			// The server drops each connection after the response without
			// saying so; the next (idempotent) request finds it closed before
			// any response arrives and is retried on a new connection.
			name:   "silently dropped connection, GET retried",
			method: http.MethodGet,
			respond: func(int64, *http.Request, []byte) ([]string, bool) {
				return []string{"HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\nhello, chunked world"}, false
			},
			want:    okBody,
			newConn: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startRawServer(t, tt.respond)
			check := bodyCheck(tt.want)
			if tt.want == nil {
				check = func(status int, body []byte) error {
					if len(body) != 0 || (status != 200 && status != 204 && status != 304) {
						return fmt.Errorf("status %d body %q", status, body)
					}
					return nil
				}
			}
			res := runClean(t, Config{URL: s.url + "/x", Method: tt.method, Connections: 4, Body: perWorkerBody(4), Check: check}, s.hits.Load)
			if conns := s.conns.Load(); tt.newConn && conns != int64(res.Requests) || !tt.newConn && conns != 4 {
				t.Errorf("server accepted %d connections for %d requests", conns, res.Requests)
			}
		})
	}
}

func TestMalformedResponses(t *testing.T) {
	tests := []struct {
		name   string
		pieces []string
		want   string
	}{
		{"bad status line", []string{"HTTP/2 200 OK\r\n\r\n"}, "malformed status line"},
		{"bad status code", []string{"HTTP/1.1 2x0 OK\r\n\r\n"}, "malformed status line"},
		{"bad header line", []string{"HTTP/1.1 200 OK\r\nno colon\r\n\r\n"}, "malformed response header line"},
		{"bad content-length", []string{"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n"}, "bad Content-Length"},
		{"conflicting content-length", []string{"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nx"}, "bad Content-Length"},
		{"huge content-length", []string{"HTTP/1.1 200 OK\r\nContent-Length: 999999999999\r\n\r\n"}, "exceeds the limit"},
		{"short body", []string{"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"}, "unexpected EOF"},
		{"bad chunk size", []string{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"}, "malformed chunk size"},
		{"huge chunk", []string{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffffff\r\n"}, "malformed chunk size"},
		{"chunk without CRLF", []string{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcdef\r\n0\r\n\r\n"}, "not followed by CRLF"},
		{"truncated chunked body", []string{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n"}, "unexpected EOF"},
		{"truncated header", []string{"HTTP/1.1 200 OK\r\nContent-Len"}, "unexpected EOF"},
		{"header line too long", []string{"HTTP/1.1 200 OK\r\nX: " + strings.Repeat("a", readBufferSize) + "\r\n\r\n"}, "line longer than"},
		{"switching protocols", []string{"HTTP/1.1 101 Switching Protocols\r\n\r\n"}, "101"},
		{"no response", nil, "reading response: EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startRawServer(t, func(int64, *http.Request, []byte) ([]string, bool) { return tt.pieces, false })
			res, err := Run(context.Background(), Config{URL: s.url, Connections: 2, Duration: testDuration / 2, Warmup: -1})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%+v", res)
			if res.Requests == 0 || res.Errors != res.Requests || !strings.Contains(res.FirstError, tt.want) {
				t.Errorf("result = %+v, want only errors containing %q", res, tt.want)
			}
			if int64(res.Requests) != s.hits.Load() {
				t.Errorf("Run reported %d requests, server saw %d", res.Requests, s.hits.Load())
			}
		})
	}
}

func TestNetHTTPServerResponses(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	chunks := []byte(`{"part":1}{"part":2}{"part":3}`)
	tests := []struct {
		name    string
		handler http.HandlerFunc
		want    []byte
		newConn bool
		body    func(worker, n int) []byte
	}{
		{
			name: "flushed writes are sent chunked",
			handler: func(w http.ResponseWriter, r *http.Request) {
				if len(r.TransferEncoding) != 0 {
					http.Error(w, "request was chunked", http.StatusBadRequest)
					return
				}
				for i := range 3 {
					fmt.Fprintf(w, `{"part":%d}`, i+1)
					w.(http.Flusher).Flush()
				}
			},
			want: chunks,
		},
		{
			name: "server closes after each response",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Connection", "close")
				w.Write(chunks)
			},
			want:    chunks,
			newConn: true,
		},
		{
			name: "1 MiB response with Content-Length",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Length", strconv.Itoa(len(big)))
				w.Write(big)
			},
			want: big,
		},
		{
			name: "1 MiB chunked response",
			handler: func(w http.ResponseWriter, r *http.Request) {
				for i := 0; i < len(big); i += 100000 {
					w.Write(big[i:min(i+100000, len(big))])
				}
			},
			want: big,
		},
		{
			name: "1 MiB request body is sent with writev",
			handler: func(w http.ResponseWriter, r *http.Request) {
				b, err := io.ReadAll(r.Body)
				if err != nil || r.ContentLength != int64(len(b)) || len(b) < 1<<20 || !bytes.HasPrefix(b, []byte("worker=")) {
					http.Error(w, "bad body", http.StatusBadRequest)
					return
				}
				w.Write(chunks)
			},
			body: func(worker, n int) []byte {
				return append(fmt.Appendf(nil, "worker=%d n=%d ", worker, n), big...)
			},
			want: chunks,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var hits, conns atomic.Int64
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				hits.Add(1)
				tt.handler(w, r)
			}))
			srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
				if s == http.StateNew {
					conns.Add(1)
				}
			}
			srv.Start()
			t.Cleanup(srv.Close)
			body := tt.body
			if body == nil {
				body = perWorkerBody(4)
			}
			res := runClean(t, Config{URL: srv.URL, Connections: 4, Body: body, Check: bodyCheck(tt.want)}, hits.Load)
			if n := conns.Load(); tt.newConn && n != int64(res.Requests) || !tt.newConn && n != 4 {
				t.Errorf("server accepted %d connections for %d requests", n, res.Requests)
			}
		})
	}
}

func TestRunCancelledWhileStuck(t *testing.T) {
	// A cancelled context must interrupt requests blocked in a read.
	release := make(chan struct{})
	defer close(release)
	s := startRawServer(t, func(int64, *http.Request, []byte) ([]string, bool) {
		<-release
		return nil, false
	})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	res, err := Run(ctx, Config{URL: s.url, Connections: 3, Duration: time.Minute, Warmup: -1})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Run took %v after cancellation", d)
	}
	if res.Requests != 0 || res.Errors != 0 {
		t.Errorf("result = %+v, want nothing counted", res)
	}
}

func TestRunConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	res, err := Run(context.Background(), Config{URL: "http://" + addr, Connections: 2, Duration: 50 * time.Millisecond, Warmup: -1})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests == 0 || res.Errors != res.Requests || !strings.Contains(res.FirstError, "refused") {
		t.Errorf("result = %+v, want only connection-refused errors", res)
	}
}

// startStaticServer starts a server that answers every request, which must
// carry a body of bodyLen bytes, with resp, without allocating.
func startStaticServer(t testing.TB, bodyLen int, resp []byte) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				br := bufio.NewReader(c)
				body := make([]byte, bodyLen)
				for {
					for {
						line, err := br.ReadSlice('\n')
						if err != nil {
							return
						}
						if len(line) <= 2 {
							break
						}
					}
					if _, err := io.ReadFull(br, body); err != nil {
						return
					}
					if _, err := c.Write(resp); err != nil {
						return
					}
				}
			})
		}
	})
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	return "http://" + ln.Addr().String()
}

// newTestWorker returns a worker for cfg outside of Run, with connections
// that stay usable for a minute.
func newTestWorker(t testing.TB, cfg Config) *worker {
	cfg, tgt, err := normalize(cfg)
	if err != nil {
		t.Fatal(err)
	}
	st := &runState{cfg: cfg, tgt: tgt, dialer: newDialer(), hardEnd: time.Now().Add(time.Minute)}
	w := newWorker(st, 0)
	t.Cleanup(w.closeConn)
	return w
}

var staticResponses = map[string][]byte{
	"content-length": []byte("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nDate: Mon, 02 Jan 2006 15:04:05 GMT\r\nContent-Length: 11\r\n\r\n{\"ok\":true}"),
	"chunked":        []byte("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n6\r\n{\"ok\":\r\n5\r\ntrue}\r\n0\r\n\r\n"),
}

func TestWorkerDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	body := []byte(`{"device":"bench-42","purpose":"analytics"}`)
	for name, resp := range staticResponses {
		t.Run(name, func(t *testing.T) {
			w := newTestWorker(t, Config{URL: startStaticServer(t, len(body), resp), Header: http.Header{"Content-Type": {"application/json"}}})
			ctx := context.Background()
			allocs := testing.AllocsPerRun(2000, func() {
				status, err := w.do(ctx, body)
				if err != nil || status != 200 || string(w.buf) != `{"ok":true}` {
					t.Fatalf("do = %d, %v, body %q", status, err, w.buf)
				}
			})
			if allocs > 0 {
				t.Errorf("%v allocations per request, want 0", allocs)
			}
		})
	}
}

// BenchmarkWorker measures the client side of one request against a server
// that does no work, so allocs/op are the worker's own.
func BenchmarkWorker(b *testing.B) {
	body := []byte(`{"device":"bench-42","purpose":"analytics"}`)
	for name, resp := range staticResponses {
		b.Run(name, func(b *testing.B) {
			w := newTestWorker(b, Config{URL: startStaticServer(b, len(body), resp), Header: http.Header{"Content-Type": {"application/json"}}})
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := w.do(ctx, body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
