// Package netswitch is a TCP forwarder for fault rehearsals: tests put it
// between Steward and a server it depends on (PostgreSQL, SMTP) and switch
// it off and on, so that to Steward the server goes away and comes back.
//
//	sw := netswitch.Start(t, "127.0.0.1:5432")
//	url := strings.Replace(pgURL, "127.0.0.1:5432", sw.Addr(), 1)
//	sw.Down() // every connection dropped, new ones refused
//	sw.Up()   // connections go through again
package netswitch

import (
	"io"
	"net"
	"sync"
	"testing"
)

// Switch forwards TCP connections to a target while it is up.
type Switch struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  []net.Conn
	down   bool
}

// Start listens on a loopback port and forwards to target until the test
// ends.
func Start(tb testing.TB, target string) *Switch {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("netswitch: %v", err)
	}
	s := &Switch{ln: ln, target: target}
	go s.accept()
	tb.Cleanup(func() { ln.Close(); s.Down() })
	return s
}

// Addr is the host:port to connect to instead of the target.
func (s *Switch) Addr() string { return s.ln.Addr().String() }

func (s *Switch) accept() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.down {
			s.mu.Unlock()
			c.Close()
			continue
		}
		up, err := net.Dial("tcp", s.target)
		if err != nil {
			s.mu.Unlock()
			c.Close()
			continue
		}
		s.conns = append(s.conns, c, up)
		s.mu.Unlock()
		go func() { _, _ = io.Copy(up, c); up.Close() }()
		go func() { _, _ = io.Copy(c, up); c.Close() }()
	}
}

// Down drops every open connection and refuses new ones (they are accepted
// and closed at once, as a server that restarts does).
func (s *Switch) Down() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = true
	for _, c := range s.conns {
		c.Close()
	}
	s.conns = nil
}

// Up lets new connections through again.
func (s *Switch) Up() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = false
}
