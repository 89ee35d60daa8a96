-- HTTP connectors answer corrections too (internal/connector/webhook,
-- Correct): a rectification reaches them as a call of operation
-- 'correction', whose report holds field names and counts, never values.
-- SQLite cannot change a CHECK constraint: the table is made anew.
CREATE TABLE webhook_calls_new (
	id TEXT PRIMARY KEY,
	connector TEXT NOT NULL,
	operation TEXT NOT NULL CHECK (operation IN ('access', 'erasure', 'correction')),
	request_id TEXT NOT NULL,
	state TEXT NOT NULL CHECK (state IN ('pending', 'done', 'failed', 'timed_out')),
	created_at BIGINT NOT NULL,
	accepted_at BIGINT,
	deadline BIGINT NOT NULL,
	completed_at BIGINT,
	-- when Start first returned a failed or timed-out call to its caller;
	-- the next Start makes a new call
	seen_at BIGINT,
	failure TEXT,
	report TEXT,
	data_sealed BLOB,
	data_bytes BIGINT
);
INSERT INTO webhook_calls_new (id, connector, operation, request_id, state, created_at, accepted_at, deadline, completed_at,
	seen_at, failure, report, data_sealed, data_bytes)
SELECT id, connector, operation, request_id, state, created_at, accepted_at, deadline, completed_at,
	seen_at, failure, report, data_sealed, data_bytes FROM webhook_calls;
DROP TABLE webhook_calls;
ALTER TABLE webhook_calls_new RENAME TO webhook_calls;
CREATE UNIQUE INDEX webhook_calls_live ON webhook_calls (connector, request_id, operation) WHERE state IN ('pending', 'done');
CREATE INDEX webhook_calls_request ON webhook_calls (request_id, created_at);
CREATE INDEX webhook_calls_data ON webhook_calls (completed_at) WHERE data_sealed IS NOT NULL;

-- Staff record that a customer's identity was verified another way (a
-- phone call with security questions, a visit in store): who (an audit
-- actor, "staff:ID" or "api_key:ID"), when, the channel and the staff's
-- statement of the method. No identity document or data point is stored;
-- the customer's erasure blanks the statement.
ALTER TABLE dsr_identity ADD COLUMN staff_verified_at BIGINT;
ALTER TABLE dsr_identity ADD COLUMN staff_verified_by TEXT;
ALTER TABLE dsr_identity ADD COLUMN staff_channel TEXT;
ALTER TABLE dsr_identity ADD COLUMN staff_statement TEXT;
