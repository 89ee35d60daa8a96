-- Retention (internal/retention). A legal hold stops retention for one
-- subject: while a row has no lifted_at, the subject's vault fields, rows in
-- the connected systems, requests, archives and ledger entries are kept
-- whatever their age. A hold is lifted, never deleted, so that the record
-- shows who held what and when. At most one hold per subject is open.
CREATE TABLE legal_holds (
	id TEXT PRIMARY KEY,
	subject_id TEXT NOT NULL,
	reason TEXT NOT NULL,
	placed_by TEXT NOT NULL,
	placed_at BIGINT NOT NULL,
	lifted_by TEXT,
	lifted_at BIGINT
);
CREATE UNIQUE INDEX legal_holds_open ON legal_holds (subject_id) WHERE lifted_at IS NULL;
CREATE INDEX legal_holds_subject ON legal_holds (subject_id, placed_at);

-- One row per retention run: when, whether it was a dry run, how it ended,
-- and its report (JSON: counts per system, table and category; never a
-- value or a subject).
CREATE TABLE retention_runs (
	id TEXT PRIMARY KEY,
	started_at BIGINT NOT NULL,
	finished_at BIGINT NOT NULL,
	dry_run {{BOOLEAN}} NOT NULL DEFAULT {{FALSE}},
	failed {{BOOLEAN}} NOT NULL DEFAULT {{FALSE}},
	report TEXT NOT NULL
);
CREATE INDEX retention_runs_started ON retention_runs (started_at);
