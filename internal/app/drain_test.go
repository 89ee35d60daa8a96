package app_test

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/app/apptest"
	"github.com/steward-dev/steward/internal/db"
)

// TestShutdownEndsDecisionStreams: a graceful shutdown ends the decision
// streams and long polls it serves at once (their clients resume on
// another replica) instead of waiting for them until its timeout and
// failing.
func TestShutdownEndsDecisionStreams(t *testing.T) {
	t.Parallel()
	srv := apptest.Start(t, db.SQLite)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- srv.App.Serve(ctx, ln) }()
	base := "http://" + ln.Addr().String()

	open := func(query, accept string) *http.Response {
		req, _ := http.NewRequest("GET", base+"/v1/consent/stream?"+query, nil)
		req.Header.Set("Authorization", "Bearer "+srv.Keys.Decide)
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
		if err != nil {
			t.Fatalf("stream %s: %v", query, err)
		}
		return resp
	}
	sse := open("after=0", "text/event-stream")
	defer sse.Body.Close()
	lines := bufio.NewScanner(sse.Body)
	if !lines.Scan() || !strings.HasPrefix(lines.Text(), "event:") {
		t.Fatalf("the stream did not start: %q %v", lines.Text(), lines.Err())
	}
	// A long poll from the head waits for an entry that does not come.
	var head string
	for lines.Scan() {
		if data, ok := strings.CutPrefix(lines.Text(), "data: "); ok {
			if _, after, ok := strings.Cut(data, `"head":`); ok {
				head, _, _ = strings.Cut(after, ",")
			}
			break
		}
	}
	polled := make(chan int, 1)
	go func() {
		resp := open("after="+head+"&wait=50s", "")
		resp.Body.Close()
		polled <- resp.StatusCode
	}()
	time.Sleep(300 * time.Millisecond) // the poll is waiting

	start := time.Now()
	cancel()
	select {
	case err := <-served:
		if err != nil {
			t.Fatalf("shutdown with a stream open: %v", err)
		}
	case <-time.After(4 * time.Second):
		t.Fatal("the shutdown still waits for the decision stream after 4 s")
	}
	for lines.Scan() {
	}
	select {
	case code := <-polled:
		if code != http.StatusOK {
			t.Errorf("the long poll answered %d at shutdown, want 200 with what there is", code)
		}
	case <-time.After(2 * time.Second):
		t.Error("the long poll was not answered at shutdown")
	}
	t.Logf("shut down in %s with a stream and a long poll open", time.Since(start))
}
