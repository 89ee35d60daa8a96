package db_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
)

func TestListen(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		got := make(chan string, 10)
		connected := make(chan struct{}, 10)
		cfg := db.ListenConfig{Notify: func(p string) { got <- p }, Connected: func() { connected <- struct{}{} }}
		if store.Dialect == db.SQLite {
			if _, err := store.Listen("steward_test", cfg); !errors.Is(err, db.ErrNoListen) {
				t.Fatalf("Listen on SQLite: %v, want ErrNoListen", err)
			}
			return
		}
		for _, bad := range []string{"", "Upper", "1digit", "semi;colon", "quote'", "a b"} {
			if _, err := store.Listen(bad, cfg); err == nil {
				t.Errorf("Listen(%q): no error", bad)
			}
		}
		l, err := store.Listen("steward_listen_test", cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		select {
		case <-connected:
		case <-time.After(10 * time.Second):
			t.Fatalf("not connected within 10 s: %v", l.Err())
		}
		if !l.Connected() || l.PID() == 0 || l.Connects() != 1 {
			t.Fatalf("connected %v, pid %d, connects %d", l.Connected(), l.PID(), l.Connects())
		}
		if _, err := store.ExecContext(context.Background(), `SELECT pg_notify('steward_listen_test', 'hello')`); err != nil {
			t.Fatal(err)
		}
		select {
		case p := <-got:
			if p != "hello" {
				t.Errorf("payload %q, want hello", p)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no notification within 10 s")
		}
	})
}
