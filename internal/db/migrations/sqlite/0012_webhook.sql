-- Calls of HTTP connectors (internal/connector/webhook): Steward asks a
-- company system for a request's access or erasure, and the system calls
-- back. At most one live (pending or done) call per connector, request and
-- operation, which makes a retried job find its call instead of calling
-- twice. An erasure's report holds counts, never values; the data an access
-- call returns is personal data, held only sealed by a vault SecretBox and
-- dropped once the archive holds it.
CREATE TABLE webhook_calls (
	id TEXT PRIMARY KEY,
	connector TEXT NOT NULL,
	operation TEXT NOT NULL CHECK (operation IN ('access', 'erasure')),
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
CREATE UNIQUE INDEX webhook_calls_live ON webhook_calls (connector, request_id, operation) WHERE state IN ('pending', 'done');
CREATE INDEX webhook_calls_request ON webhook_calls (request_id, created_at);
CREATE INDEX webhook_calls_data ON webhook_calls (completed_at) WHERE data_sealed IS NOT NULL;
