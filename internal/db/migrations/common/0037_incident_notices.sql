-- Telling every party of a breach (internal/incident, notice.go,
-- regulator.go, referral.go, vendors.go). Times are Unix microseconds.
--
-- The officer's texts of the customers' notice, per incident and language:
-- what happened, what it means for the reader, what the company did, what
-- the reader can do, whom to contact. Officers' words about the breach,
-- never about one customer.
CREATE TABLE incident_notice_texts (
	incident_id TEXT NOT NULL REFERENCES incidents (id),
	language TEXT NOT NULL,
	happened TEXT NOT NULL,
	meaning TEXT NOT NULL,
	done TEXT NOT NULL,
	can_do TEXT NOT NULL,
	contact TEXT NOT NULL,
	written_by TEXT NOT NULL,
	written_at BIGINT NOT NULL,
	PRIMARY KEY (incident_id, language)
);

-- One notice per incident and affected customer: the primary key is what
-- makes sending idempotent. batch groups the rows one job sends; status is
-- queued, sending (claimed by a job, before the message goes), sent or
-- failed (error says why: no_address, interrupted, rejected). jws is the
-- signed notice the portal shows, made when the job first reaches the row.
-- An erasure deletes the subject's rows (Service.Forget).
CREATE TABLE incident_notices (
	incident_id TEXT NOT NULL REFERENCES incidents (id),
	subject_id TEXT NOT NULL,
	batch INTEGER NOT NULL,
	status TEXT NOT NULL,
	language TEXT NOT NULL DEFAULT '',
	jws TEXT NOT NULL DEFAULT '',
	attempts INTEGER NOT NULL DEFAULT 0,
	error TEXT NOT NULL DEFAULT '',
	queued_at BIGINT NOT NULL,
	sent_at BIGINT,
	PRIMARY KEY (incident_id, subject_id)
);
CREATE INDEX incident_notices_batch ON incident_notices (incident_id, batch, status);
CREATE INDEX incident_notices_subject ON incident_notices (subject_id);

-- What was filed with an outside body about an incident: the report to the
-- supervisory authority (kind regulator: when, by which channel, the
-- authority's reference) and referrals to law enforcement (kind
-- law_enforcement: the agency, its reference, the date, the officer's
-- note, and the window of the audit log handed over as evidence).
CREATE TABLE incident_filings (
	id TEXT PRIMARY KEY,
	incident_id TEXT NOT NULL REFERENCES incidents (id),
	kind TEXT NOT NULL,
	agency TEXT NOT NULL,
	reference TEXT NOT NULL DEFAULT '',
	channel TEXT NOT NULL DEFAULT '',
	filed_at BIGINT NOT NULL,
	note TEXT NOT NULL DEFAULT '',
	evidence_from BIGINT,
	evidence_to BIGINT,
	recorded_by TEXT NOT NULL,
	recorded_at BIGINT NOT NULL
);
CREATE INDEX incident_filings_incident ON incident_filings (incident_id, filed_at);

-- The vendors and processors told of an incident, once each: the webhook
-- incident.notified was emitted in the same transaction, and contacts
-- counts the contacts emailed.
CREATE TABLE incident_vendor_notices (
	incident_id TEXT NOT NULL REFERENCES incidents (id),
	vendor_key TEXT NOT NULL,
	contacts INTEGER NOT NULL DEFAULT 0,
	notified_by TEXT NOT NULL,
	notified_at BIGINT NOT NULL,
	PRIMARY KEY (incident_id, vendor_key)
);
