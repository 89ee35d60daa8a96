-- Data subject requests (internal/dsr) and their history. Times are Unix
-- microseconds. The requester's email and the details they typed are
-- sealed by a vault SecretBox (email_sealed, details_sealed: never
-- plaintext); email_hash is the email's blind index (HMAC-SHA256 under the
-- vault's lookup key), by which a customer finds their own requests.
-- Deadlines, allowed transitions and risk are computed in Go, never here.
CREATE TABLE dsr_requests (
	id TEXT PRIMARY KEY,
	kind TEXT NOT NULL,
	regime TEXT NOT NULL,
	state TEXT NOT NULL,
	-- the state to return to when the customer answers a question
	resume_state TEXT NOT NULL DEFAULT '',
	-- Steward's subject id, '' until staff match the requester
	subject_id TEXT NOT NULL DEFAULT '',
	email_hash BYTEA NOT NULL,
	email_sealed BYTEA NOT NULL,
	details_sealed BYTEA,
	received_at BIGINT NOT NULL,
	acknowledge_by BIGINT,
	acknowledged_at BIGINT,
	due_at BIGINT NOT NULL,
	extended_until BIGINT,
	extension_reason TEXT NOT NULL DEFAULT '',
	question TEXT NOT NULL DEFAULT '',
	rejection_reason TEXT NOT NULL DEFAULT '',
	result_ref TEXT NOT NULL DEFAULT '',
	waiting_on TEXT NOT NULL DEFAULT '',
	last_reminded_at BIGINT,
	closed_at BIGINT,
	updated_at BIGINT NOT NULL,
	-- counts changes; an update names the version it read, so that a
	-- concurrent change fails instead of being overwritten
	version BIGINT NOT NULL
);
CREATE INDEX dsr_requests_email ON dsr_requests (email_hash, received_at);
CREATE INDEX dsr_requests_state ON dsr_requests (state, due_at);
CREATE INDEX dsr_requests_subject ON dsr_requests (subject_id);

-- One row per change, numbered by the request's version after it (1: filed).
-- note is text staff typed (a question, a reason), kept out of the audit
-- log; ref is an id the change set; deadline the deadline it set.
CREATE TABLE dsr_events (
	request_id TEXT NOT NULL REFERENCES dsr_requests (id),
	version BIGINT NOT NULL,
	at BIGINT NOT NULL,
	action TEXT NOT NULL,
	from_state TEXT NOT NULL,
	to_state TEXT NOT NULL,
	actor_kind TEXT NOT NULL,
	actor_id TEXT NOT NULL,
	note TEXT NOT NULL DEFAULT '',
	ref TEXT NOT NULL DEFAULT '',
	deadline BIGINT,
	PRIMARY KEY (request_id, version)
);
