-- One-time links with which a staff member sets a new password or enrols a
-- new authenticator, issued by an administrator. Only the token's hash is
-- kept; a link works once, until it expires, for a few attempts.
CREATE TABLE staff_resets (
	token_hash TEXT PRIMARY KEY,
	staff_id TEXT NOT NULL REFERENCES staff (id),
	kind TEXT NOT NULL,
	issued_by TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL,
	attempts INTEGER NOT NULL DEFAULT 0,
	used_at BIGINT
);
CREATE INDEX staff_resets_staff ON staff_resets (staff_id);
