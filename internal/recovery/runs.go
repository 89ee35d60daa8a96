package recovery

import (
	"context"
	"fmt"
	"time"

	"github.com/steward-dev/steward/internal/db"
)

// Kinds of run.
const (
	KindBackup = "backup"
	KindDrill  = "drill"
)

// Run is one backup or drill, as recorded.
type Run struct {
	ID          string
	Kind        string
	BackupID    string
	Target      string
	StartedAt   time.Time
	FinishedAt  time.Time
	OK          bool
	StoredBytes int64
	// RTO and RPO are a drill's: how long the restore took, and how old the
	// restored data was.
	RTO, RPO time.Duration
	Message  string
}

// record keeps run in the store.
func (s *Service) record(ctx context.Context, run Run) error { return Record(ctx, s.db, run) }

// Record keeps run in store's history of backups and drills (a drill run
// from the command line records into the live store it names).
func Record(ctx context.Context, store *db.DB, run Run) error {
	if run.ID == "" {
		run.ID = newRunID()
	}
	if len(run.Message) > 2000 {
		run.Message = run.Message[:2000]
	}
	_, err := store.ExecContext(ctx, `INSERT INTO backup_runs (id, kind, backup_id, target, started_at, finished_at, ok, stored_bytes, rto_ms, rpo_ms, message)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		run.ID, run.Kind, run.BackupID, run.Target, run.StartedAt.UnixMicro(), run.FinishedAt.UnixMicro(), run.OK, run.StoredBytes,
		run.RTO.Milliseconds(), run.RPO.Milliseconds(), run.Message)
	if err != nil {
		return fmt.Errorf("record the %s run: %w", run.Kind, err)
	}
	return nil
}

// Runs returns the latest runs, newest first, at most limit.
func Runs(ctx context.Context, store *db.DB, limit int) ([]Run, error) {
	return queryRuns(ctx, store, `ORDER BY finished_at DESC, id LIMIT $1`, limit)
}

// LastSuccess returns the newest successful run of kind, and whether
// there is one.
func LastSuccess(ctx context.Context, store *db.DB, kind string) (Run, bool, error) {
	runs, err := queryRuns(ctx, store, `WHERE kind = $1 AND ok = $2 ORDER BY finished_at DESC, id LIMIT 1`, kind, true)
	if err != nil || len(runs) == 0 {
		return Run{}, false, err
	}
	return runs[0], true, nil
}

func queryRuns(ctx context.Context, store *db.DB, where string, args ...any) ([]Run, error) {
	return db.QueryAll(ctx, store, `SELECT id, kind, backup_id, target, started_at, finished_at, ok, stored_bytes, rto_ms, rpo_ms, message
		FROM backup_runs `+where, args, func(scan func(dest ...any) error) (Run, error) {
		var r Run
		var started, finished, rto, rpo int64
		err := scan(&r.ID, &r.Kind, &r.BackupID, &r.Target, &started, &finished, &r.OK, &r.StoredBytes, &rto, &rpo, &r.Message)
		r.StartedAt, r.FinishedAt = time.UnixMicro(started).UTC(), time.UnixMicro(finished).UTC()
		r.RTO, r.RPO = time.Duration(rto)*time.Millisecond, time.Duration(rpo)*time.Millisecond
		return r, err
	})
}

// Status is where backups stand, for the console: the newest successful
// backup and drill, and the newest failure after them.
type Status struct {
	LastBackup, LastDrill *Run
	// LastFailure is the newest failed run, when it is newer than the last
	// success of its kind.
	LastFailure *Run
}

// CurrentStatus reads where backups stand in store.
func CurrentStatus(ctx context.Context, store *db.DB) (Status, error) {
	var st Status
	for _, kind := range []string{KindBackup, KindDrill} {
		run, ok, err := LastSuccess(ctx, store, kind)
		if err != nil {
			return st, err
		}
		if ok {
			r := run
			if kind == KindBackup {
				st.LastBackup = &r
			} else {
				st.LastDrill = &r
			}
		}
	}
	failed, err := queryRuns(ctx, store, `WHERE ok = $1 ORDER BY finished_at DESC, id LIMIT 1`, false)
	if err != nil {
		return st, err
	}
	if len(failed) == 1 {
		f := failed[0]
		last := st.LastBackup
		if f.Kind == KindDrill {
			last = st.LastDrill
		}
		if last == nil || f.FinishedAt.After(last.FinishedAt) {
			st.LastFailure = &f
		}
	}
	return st, nil
}

// DrillsBetween counts the drills that finished in [from, until): how many
// succeeded and how many failed (the monthly report).
func DrillsBetween(ctx context.Context, store *db.DB, from, until time.Time) (ok, failed int, err error) {
	runs, err := queryRuns(ctx, store, `WHERE kind = $1 AND finished_at >= $2 AND finished_at < $3`, KindDrill, from.UnixMicro(), until.UnixMicro())
	if err != nil {
		return 0, 0, fmt.Errorf("count drills: %w", err)
	}
	for _, r := range runs {
		if r.OK {
			ok++
		} else {
			failed++
		}
	}
	return ok, failed, nil
}
