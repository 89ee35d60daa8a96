package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/steward-dev/steward/internal/db"
)

// SQLite concurrency.
//
// River runs several goroutines against the database (fetching, completing,
// leader election, maintenance, polling its notification table), each in
// its own transaction. riversqlite's documentation asks for a pool of one
// connection so that they take turns instead of failing with SQLITE_BUSY.
// Steward's db.DB cannot be that pool: its other connections serve the app.
// So River gets a handle of its own on the same file, limited to one
// connection and opened with the pragmas of internal/db:
//
//   - busy_timeout first, so that River's one writer waits for Steward's
//     writer (at most one at a time through db.DB.Tx) instead of failing;
//   - _txlock=immediate, so that every River transaction takes the write
//     lock at BEGIN, where the busy handler can wait for it, never later
//     when upgrading from a read (which SQLite fails at once to avoid a
//     deadlock);
//   - WAL, synchronous=FULL, foreign keys as for Steward's own writes, and
//     wal_autocheckpoint=0 because db.DB checkpoints in a goroutine of its
//     own.
//
// Hence at most two writers contend for the file, each a short
// transaction, and the busy timeout (10 s) is far above what one of them
// holds the lock. A job inserted in an app transaction (InsertTx) is
// written on the app's connection, inside the app's turn, and never waits
// for River's handle.
//
// What must not happen: a goroutine that holds an app write transaction on
// SQLite calling Insert, Cancel or Retry (which use River's handle and need
// the write lock that goroutine holds). It would wait for the busy timeout
// and fail. Inside a transaction, use InsertTx.

// sqlitePragmas mirrors the DSN of internal/db's openSQLite; a test checks
// that both handles read back the same settings.
const sqlitePragmas = "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)" +
	"&_pragma=foreign_keys(1)&_pragma=synchronous(FULL)&_pragma=wal_autocheckpoint(0)&_txlock=immediate"

// openSQLiteHandle opens River's single-connection handle on the file of
// store.
func openSQLiteHandle(ctx context.Context, store *db.DB) (*sql.DB, error) {
	path, err := sqliteFile(ctx, store)
	if err != nil {
		return nil, err
	}
	handle, err := sql.Open("sqlite", "file:"+path+sqlitePragmas)
	if err != nil {
		return nil, fmt.Errorf("jobs: open sqlite %s: %w", path, err)
	}
	handle.SetMaxOpenConns(1)
	// Keep the one connection: reopening it would re-run the pragmas.
	handle.SetMaxIdleConns(1)
	var mode string
	if err := handle.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		handle.Close()
		return nil, db.Classify(fmt.Errorf("jobs: open sqlite %s: %w", path, err))
	}
	if mode != "wal" {
		handle.Close()
		return nil, fmt.Errorf("jobs: sqlite %s: journal_mode is %q, want wal", path, mode)
	}
	return handle, nil
}

// sqliteFile returns the path of the main database of store, as SQLite
// resolved it.
func sqliteFile(ctx context.Context, store *db.DB) (string, error) {
	rows, err := store.QueryContext(ctx, "PRAGMA database_list")
	if err != nil {
		return "", db.Classify(fmt.Errorf("jobs: find sqlite file: %w", err))
	}
	defer rows.Close()
	for rows.Next() {
		var (
			seq        int
			name, file string
		)
		if err := rows.Scan(&seq, &name, &file); err != nil {
			return "", fmt.Errorf("jobs: find sqlite file: %w", err)
		}
		if name == "main" {
			if file == "" {
				return "", errors.New("jobs: the SQLite store is in memory; River needs a file it can open again")
			}
			return file, nil
		}
	}
	if err := rows.Err(); err != nil {
		return "", fmt.Errorf("jobs: find sqlite file: %w", err)
	}
	return "", errors.New("jobs: find sqlite file: no main database")
}
