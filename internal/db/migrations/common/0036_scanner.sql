-- The tracker scanner (internal/scanner). scan_runs: one row per scan of a
-- property, how it ended, its counts, and its report as JSON: cookie and
-- storage names, domains, hosts, lifetimes and page URLs, never a cookie's
-- or storage entry's value. trigger: cli, console (run now) or schedule
-- (the weekly job).
CREATE TABLE scan_runs (
	id TEXT PRIMARY KEY,
	property TEXT NOT NULL,
	trigger_kind TEXT NOT NULL CHECK (trigger_kind IN ('cli', 'console', 'schedule')),
	state TEXT NOT NULL CHECK (state IN ('running', 'done', 'failed')),
	started_at BIGINT NOT NULL,
	finished_at BIGINT,
	pages BIGINT NOT NULL DEFAULT 0,
	violations BIGINT NOT NULL DEFAULT 0,
	unclassified BIGINT NOT NULL DEFAULT 0,
	truncated {{BOOLEAN}} NOT NULL DEFAULT {{FALSE}},
	message TEXT NOT NULL DEFAULT '',
	report TEXT NOT NULL DEFAULT ''
);
CREATE INDEX scan_runs_property ON scan_runs (property, started_at);

-- What the scans of a property found (cookies, storage keys, third-party
-- hosts), with its classification: source unclassified waits for an
-- officer to assign a purpose and vendor (source assigned), which later
-- scans apply.
CREATE TABLE scan_trackers (
	property TEXT NOT NULL,
	kind TEXT NOT NULL CHECK (kind IN ('cookie', 'local_storage', 'session_storage', 'request', 'script', 'iframe')),
	name TEXT NOT NULL,
	domain TEXT NOT NULL DEFAULT '',
	third_party {{BOOLEAN}} NOT NULL DEFAULT {{FALSE}},
	lifetime BIGINT NOT NULL DEFAULT 0,
	source TEXT NOT NULL CHECK (source IN ('steward', 'first_party', 'declared', 'assigned', 'ocd', 'unclassified')),
	purpose TEXT NOT NULL DEFAULT '',
	vendor TEXT NOT NULL DEFAULT '',
	platform TEXT NOT NULL DEFAULT '',
	category TEXT NOT NULL DEFAULT '',
	suggested TEXT NOT NULL DEFAULT '',
	assigned_by TEXT NOT NULL DEFAULT '',
	assigned_at BIGINT,
	first_seen BIGINT NOT NULL,
	last_seen BIGINT NOT NULL,
	PRIMARY KEY (property, kind, name, domain)
);
CREATE INDEX scan_trackers_source ON scan_trackers (property, source);
