-- The incident register (internal/incident): breaches, their timeline, the
-- sets of affected customers computed for them and the deadline reminders
-- sent. Times are Unix microseconds; lists are JSON arrays.
--
-- An incident holds no customer's personal data: its texts are written by
-- officers about the breach. The affected sets' members are subject ids,
-- and an erasure deletes the subject's rows from incident_affected_members
-- (internal/fulfil, the "steward" step); the set keeps its counts, hash and
-- the number of members erased since.
CREATE TABLE incidents (
	id TEXT PRIMARY KEY,
	title TEXT NOT NULL,
	description TEXT NOT NULL DEFAULT '',
	kind TEXT NOT NULL DEFAULT '',
	status TEXT NOT NULL,
	detected_at BIGINT,
	aware_at BIGINT,
	cause TEXT NOT NULL DEFAULT '',
	systems TEXT NOT NULL DEFAULT '[]',
	categories TEXT NOT NULL DEFAULT '[]',
	risk TEXT NOT NULL DEFAULT '',
	risk_reasons TEXT NOT NULL DEFAULT '[]',
	delay_reason TEXT NOT NULL DEFAULT '',
	authority_notified_at BIGINT,
	individuals_notified_at BIGINT,
	reported_by TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);
CREATE INDEX incidents_status ON incidents (status, created_at);

-- The timeline: every act on an incident, in order (seq counts from 1 per
-- incident) (each also in the audit
-- log, in the same transaction).
CREATE TABLE incident_actions (
	id TEXT PRIMARY KEY,
	incident_id TEXT NOT NULL REFERENCES incidents (id),
	seq INTEGER NOT NULL,
	at BIGINT NOT NULL,
	actor TEXT NOT NULL,
	kind TEXT NOT NULL,
	note TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX incident_actions_incident ON incident_actions (incident_id, seq);

-- Each computation of the affected customers, kept: its method and
-- parameters (JSON, never an uploaded list), how many members it found,
-- the SHA-256 of the sorted member ids (one per line), and its counts by
-- category and by jurisdiction (JSON objects).
CREATE TABLE incident_affected_sets (
	id TEXT PRIMARY KEY,
	incident_id TEXT NOT NULL REFERENCES incidents (id),
	method TEXT NOT NULL,
	parameters TEXT NOT NULL,
	members INTEGER NOT NULL,
	members_sha256 TEXT NOT NULL,
	by_category TEXT NOT NULL,
	by_jurisdiction TEXT NOT NULL,
	unresolved INTEGER NOT NULL DEFAULT 0,
	erased INTEGER NOT NULL DEFAULT 0,
	computed_by TEXT NOT NULL,
	computed_at BIGINT NOT NULL
);
CREATE INDEX incident_affected_sets_incident ON incident_affected_sets (incident_id, computed_at);

CREATE TABLE incident_affected_members (
	set_id TEXT NOT NULL REFERENCES incident_affected_sets (id),
	subject_id TEXT NOT NULL,
	PRIMARY KEY (set_id, subject_id)
);
CREATE INDEX incident_affected_members_subject ON incident_affected_members (subject_id);

-- The deadline emails sent to the security officers: one row per incident,
-- clock and mark (24h, 12h, 2h, overdue), so each is sent once.
CREATE TABLE incident_reminders (
	incident_id TEXT NOT NULL REFERENCES incidents (id),
	clock TEXT NOT NULL,
	mark TEXT NOT NULL,
	sent_at BIGINT NOT NULL,
	PRIMARY KEY (incident_id, clock, mark)
);
