-- Identity verification tiers of data subject requests (internal/dsr,
-- identity.go). One row per request that needs more than the email code:
-- the data points it needs, whether a signed declaration is needed, what
-- was reached and when, and the attempts made (never the values typed: no
-- identity document or data point is stored). Times are Unix microseconds.
CREATE TABLE dsr_identity (
	request_id TEXT PRIMARY KEY REFERENCES dsr_requests (id),
	points_required INTEGER NOT NULL,
	declaration_required INTEGER NOT NULL,
	reached_at BIGINT,
	declared_at BIGINT,
	attempts INTEGER NOT NULL DEFAULT 0,
	failures INTEGER NOT NULL DEFAULT 0,
	locked_until BIGINT
);

-- Requests an authorised agent filed for a customer (CCPA). The agent's
-- name, email and mandate are sealed to the request (never plaintext);
-- agent_hash is the agent email's blind index, for rate limits and for
-- staff's search. token_hash is SHA-256 of the link the customer confirms
-- by. The customer's erasure blanks the sealed values (dsr.Forget).
CREATE TABLE dsr_agents (
	request_id TEXT PRIMARY KEY REFERENCES dsr_requests (id),
	agent_hash BYTEA NOT NULL,
	agent_sealed BYTEA NOT NULL,
	token_hash BYTEA NOT NULL,
	expires_at BIGINT NOT NULL,
	confirmed_at BIGINT,
	filed_at BIGINT NOT NULL
);
CREATE INDEX dsr_agents_agent ON dsr_agents (agent_hash, filed_at);
CREATE INDEX dsr_agents_expiry ON dsr_agents (expires_at);
