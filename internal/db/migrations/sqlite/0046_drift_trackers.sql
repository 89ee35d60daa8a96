-- Undeclared trackers a website scan found are drift findings too
-- (internal/connector/drift, trackers.go): evidence 'tracker', system
-- 'site:<property>', table the tracker's kind, column its name and domain.
-- SQLite cannot change a CHECK constraint: the table is rebuilt.
CREATE TABLE drift_findings_new (
	id TEXT PRIMARY KEY,
	system_name TEXT NOT NULL,
	table_name TEXT NOT NULL,
	column_name TEXT NOT NULL,
	category TEXT NOT NULL,
	evidence TEXT NOT NULL CHECK (evidence IN ('name', 'values', 'tracker')),
	match_permille BIGINT NOT NULL DEFAULT 0 CHECK (match_permille >= 0 AND match_permille <= 1000),
	state TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'declared', 'dismissed', 'closed')),
	first_seen BIGINT NOT NULL,
	last_seen BIGINT NOT NULL,
	decided_by TEXT NOT NULL DEFAULT '',
	decided_at BIGINT,
	declared_category TEXT NOT NULL DEFAULT '',
	note TEXT NOT NULL DEFAULT '',
	closed_at BIGINT,
	closed_reason TEXT NOT NULL DEFAULT '' CHECK (closed_reason IN ('', 'declared_in_file', 'column_gone')),
	UNIQUE (system_name, table_name, column_name)
);
INSERT INTO drift_findings_new SELECT id, system_name, table_name, column_name, category, evidence, match_permille, state,
	first_seen, last_seen, decided_by, decided_at, declared_category, note, closed_at, closed_reason FROM drift_findings;
DROP TABLE drift_findings;
ALTER TABLE drift_findings_new RENAME TO drift_findings;
CREATE INDEX drift_findings_state ON drift_findings (state, system_name);
