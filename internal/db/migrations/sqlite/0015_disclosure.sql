-- Disclosures: a company system asks to share a subject's data with a
-- vendor; Steward allows it (necessary, or consented), blocks it, or puts
-- it to the customer (pending until decided or needed_by). Reasons and
-- categories are what the customer is shown; nothing here is the data.
CREATE TABLE disclosures (
	id TEXT PRIMARY KEY,
	subject_id TEXT NOT NULL,
	vendor TEXT NOT NULL,
	purpose TEXT NOT NULL,
	categories TEXT NOT NULL,
	reason TEXT NOT NULL,
	state TEXT NOT NULL,
	basis TEXT NOT NULL,
	blocked_reason TEXT NOT NULL,
	asked_by TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	needed_by BIGINT NOT NULL,
	decided_at BIGINT,
	went_ahead_at BIGINT
);
CREATE INDEX disclosures_subject ON disclosures (subject_id, created_at);
CREATE INDEX disclosures_vendor ON disclosures (vendor, created_at);
CREATE INDEX disclosures_pending ON disclosures (state, needed_by);
