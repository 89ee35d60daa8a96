package jobs

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/riverqueue/river/rivertype"

	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
)

func TestRetryPolicyDelay(t *testing.T) {
	p := RetryPolicy{Base: time.Second, Max: 10 * time.Second}
	cases := []struct {
		retry int
		want  time.Duration
	}{
		{1, time.Second},
		{2, 2 * time.Second},
		{3, 4 * time.Second},
		{4, 8 * time.Second},
		{5, 10 * time.Second},
		{500, 10 * time.Second}, // no overflow past Max
	}
	for _, c := range cases {
		if got := p.delay(c.retry); got != c.want {
			t.Errorf("delay(%d) = %v, want %v", c.retry, got, c.want)
		}
	}
}

func TestRetryPolicyNextRetry(t *testing.T) {
	p := RetryPolicy{Base: time.Second, Max: time.Minute}
	for errorsSoFar, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second} {
		job := &rivertype.JobRow{Errors: make([]rivertype.AttemptError, errorsSoFar)}
		before := time.Now()
		at := p.NextRetry(job)
		// Jitter adds up to a tenth.
		if wait := at.Sub(before); wait < want || wait > want+want/10+50*time.Millisecond {
			t.Errorf("after %d errors: retry in %v, want %v to %v", errorsSoFar, wait, want, want+want/10)
		}
	}
}

func TestRetryPolicyDefaults(t *testing.T) {
	if got, want := (RetryPolicy{}).withDefaults(), DefaultRetryPolicy(); got != want {
		t.Errorf("zero policy = %+v, want %+v", got, want)
	}
	if got := (RetryPolicy{Base: 2 * time.Hour}).withDefaults(); got.Max != 2*time.Hour {
		t.Errorf("Max below Base: %+v", got)
	}
}

// TestSQLiteHandleMatchesStore guards the copy of internal/db's pragmas in
// sqlitePragmas: River's handle must behave as Steward's own.
func TestSQLiteHandleMatchesStore(t *testing.T) {
	ctx := context.Background()
	store := dbtest.Open(t, db.SQLite)
	handle, err := openSQLiteHandle(ctx, store)
	if err != nil {
		t.Fatal(err)
	}
	defer handle.Close()
	for _, pragma := range []string{"busy_timeout", "journal_mode", "synchronous", "foreign_keys", "wal_autocheckpoint"} {
		var want, got string
		if err := store.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&want); err != nil {
			t.Fatal(err)
		}
		if err := handle.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("PRAGMA %s: River's handle has %q, the store %q", pragma, got, want)
		}
	}
	// _txlock=immediate: a transaction holds the write lock from BEGIN, so
	// that a writer waiting for it waits in the busy handler. A third
	// handle that does not wait sees the lock taken at once.
	tx, err := handle.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	path, err := sqliteFile(ctx, store)
	if err != nil {
		t.Fatal(err)
	}
	impatient, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(0)")
	if err != nil {
		t.Fatal(err)
	}
	defer impatient.Close()
	if _, err := impatient.ExecContext(ctx, `CREATE TABLE test_lock (x INTEGER)`); !db.IsUnavailable(err) {
		t.Fatalf("write while River's transaction is open = %v, want busy: its BEGIN took no lock", err)
	}
}
