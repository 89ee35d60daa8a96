-- Personal data nobody declared (internal/connector/drift): a column of a
-- connected system that looks like personal data, by its name or a sample
-- of its values (never stored), and is not in the system's dataset file.
-- state: open (to decide), declared (the officer chose a category; closes
-- when the file declares the column), dismissed (not personal data; stays
-- so on later scans), closed (the file declares it, or the column is gone).
CREATE TABLE drift_findings (
	id TEXT PRIMARY KEY,
	system_name TEXT NOT NULL,
	table_name TEXT NOT NULL,
	column_name TEXT NOT NULL,
	category TEXT NOT NULL,
	evidence TEXT NOT NULL CHECK (evidence IN ('name', 'values')),
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
CREATE INDEX drift_findings_state ON drift_findings (state, system_name);
