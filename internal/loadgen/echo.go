package loadgen

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// EchoServer starts a bare net/http server on 127.0.0.1 with a random port
// whose handler reads a JSON request body (up to 1 MiB) and writes it back as
// the response, with Content-Type application/json; a body that is not JSON
// gets 400. It uses the same server timeouts as Steward's own HTTP server.
//
// It is the calibration baseline for "steward bench": the throughput of an
// endpoint that does nothing but HTTP and JSON on this machine, measured by
// the same load generator, puts the figures of the real endpoints in
// proportion. url is the server's base URL ("http://127.0.0.1:port"); any
// path is served. stop closes the server and its connections and waits for
// it to finish; it may be called more than once.
func EchoServer() (url string, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{
		Handler:           EchoHandler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		// Serve returns ErrServerClosed after stop; any other failure of
		// the listener shows up as dial errors in the load run.
		srv.Serve(ln)
	}()
	stop = sync.OnceFunc(func() {
		srv.Close()
		<-done
	})
	return "http://" + ln.Addr().String(), stop, nil
}

// EchoHandler is EchoServer's handler, for measuring it without the
// network beside another handler (internal/web's BenchmarkWire).
func EchoHandler() http.Handler { return http.HandlerFunc(echo) }

// echo is the EchoServer handler.
func echo(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var v json.RawMessage
	if err := json.Unmarshal(body, &v); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	out, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(out)
}
