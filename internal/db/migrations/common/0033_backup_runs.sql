-- Backups and restore drills (internal/recovery): one row per scheduled or
-- manual backup and per drill, how it ended, and for a drill the recovery
-- time (rto_ms: how long the restore took) and the data's age (rpo_ms: how
-- old the newest backup was). The console dashboard and /metrics read the
-- newest successful ones. No personal data: ids, times, sizes, a message.
CREATE TABLE backup_runs (
	id TEXT PRIMARY KEY,
	kind TEXT NOT NULL CHECK (kind IN ('backup', 'drill')),
	backup_id TEXT NOT NULL DEFAULT '',
	target TEXT NOT NULL DEFAULT '',
	started_at BIGINT NOT NULL,
	finished_at BIGINT NOT NULL,
	ok {{BOOLEAN}} NOT NULL DEFAULT {{FALSE}},
	stored_bytes BIGINT NOT NULL DEFAULT 0,
	rto_ms BIGINT NOT NULL DEFAULT 0,
	rpo_ms BIGINT NOT NULL DEFAULT 0,
	message TEXT NOT NULL DEFAULT ''
);
CREATE INDEX backup_runs_kind ON backup_runs (kind, ok, finished_at);
