-- Webhooks to the company's systems (internal/outbox). Times are Unix
-- microseconds. Which endpoint gets which event, the back-off and when a
-- message is given up are decided in Go, never here.

-- An endpoint: where events are POSTed. event_types is a JSON array of the
-- event types it takes (empty: all). secret_sealed is the whsec_ signing
-- secret sealed by a vault SecretBox, bound to the endpoint id and
-- secret_version; during a rotation the secret before it stays in
-- previous_sealed (bound to secret_version - 1) and signs too until
-- previous_until.
CREATE TABLE outbox_endpoints (
	id TEXT PRIMARY KEY,
	url TEXT NOT NULL,
	description TEXT NOT NULL DEFAULT '',
	event_types TEXT NOT NULL DEFAULT '[]',
	enabled INTEGER NOT NULL,
	disabled_reason TEXT NOT NULL DEFAULT '',
	disabled_at BIGINT,
	secret_version INTEGER NOT NULL,
	secret_sealed BLOB NOT NULL,
	previous_sealed BLOB,
	previous_until BIGINT,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);

-- A message: one event for one endpoint, written in the transaction of the
-- change it reports. id is the webhook-id, the same on every attempt and
-- replay; body is the exact payload (ids only, never personal data).
-- state is pending, delivered or dead (a dead letter, replayable).
-- first_attempt_at starts the retry horizon, again at a replay.
CREATE TABLE outbox_messages (
	id TEXT PRIMARY KEY,
	endpoint_id TEXT NOT NULL REFERENCES outbox_endpoints (id) ON DELETE CASCADE,
	event_id TEXT NOT NULL,
	event_type TEXT NOT NULL,
	body TEXT NOT NULL,
	state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'dead')),
	created_at BIGINT NOT NULL,
	job_id BIGINT,
	attempts INTEGER NOT NULL DEFAULT 0,
	first_attempt_at BIGINT,
	last_attempt_at BIGINT,
	last_status INTEGER,
	last_error TEXT NOT NULL DEFAULT '',
	next_attempt_at BIGINT,
	delivered_at BIGINT,
	dead_at BIGINT,
	dead_reason TEXT NOT NULL DEFAULT '',
	replays INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX outbox_messages_endpoint ON outbox_messages (endpoint_id, state, created_at);
CREATE INDEX outbox_messages_list ON outbox_messages (created_at, id);
CREATE INDEX outbox_messages_dead ON outbox_messages (created_at, id) WHERE state = 'dead';
CREATE INDEX outbox_messages_event ON outbox_messages (event_id);

-- Every attempt to deliver a message: when, how long, the HTTP status or
-- the class of error (timeout, connection, address_refused...), and for a
-- refusal a short snippet of the response, truncated and with anything
-- like an email address masked.
CREATE TABLE outbox_attempts (
	message_id TEXT NOT NULL REFERENCES outbox_messages (id) ON DELETE CASCADE,
	attempt INTEGER NOT NULL,
	at BIGINT NOT NULL,
	duration_us BIGINT NOT NULL,
	status INTEGER,
	error_class TEXT NOT NULL DEFAULT '',
	outcome TEXT NOT NULL,
	snippet TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (message_id, attempt)
);
