-- Customers sign in to the privacy portal with a one-time code sent to
-- their email address. Addresses are never stored in clear: email_hash is
-- the vault's blind index (HMAC) of the address, email_sealed the address
-- sealed by a vault SecretBox, for the portal to show and to write back.

-- A code is bound to the browser that asked for it (binding: SHA-256 of a
-- random cookie value), works once, for 10 minutes and 5 attempts.
CREATE TABLE customer_codes (
	id TEXT PRIMARY KEY,
	binding TEXT NOT NULL,
	code_hash TEXT NOT NULL,
	email_hash BYTEA NOT NULL,
	email_sealed BYTEA NOT NULL,
	attempts INTEGER NOT NULL DEFAULT 0,
	created_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL,
	used_at BIGINT
);
CREATE INDEX customer_codes_binding ON customer_codes (binding, created_at);
CREATE INDEX customer_codes_email ON customer_codes (email_hash, created_at);

CREATE TABLE customer_sessions (
	token_hash TEXT PRIMARY KEY,
	email_hash BYTEA NOT NULL,
	email_sealed BYTEA NOT NULL,
	subject_id TEXT,
	created_at BIGINT NOT NULL,
	authenticated_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL,
	revoked_at BIGINT
);
CREATE INDEX customer_sessions_email ON customer_sessions (email_hash);
