-- Export archives (internal/export), encrypted with age to a key made for
-- each archive; that key is sealed by a vault SecretBox. The ciphertext is
-- kept in chunks, so that neither writing nor downloading holds an archive
-- in memory, and so that every replica can serve it.
CREATE TABLE exports (
	id TEXT PRIMARY KEY,
	request_id TEXT NOT NULL,
	identity_sealed BYTEA NOT NULL,
	bytes BIGINT NOT NULL DEFAULT 0,
	created_at BIGINT NOT NULL,
	completed_at BIGINT,
	expires_at BIGINT NOT NULL
);
CREATE INDEX exports_request ON exports (request_id, created_at);
CREATE INDEX exports_expires ON exports (expires_at);

CREATE TABLE export_chunks (
	export_id TEXT NOT NULL REFERENCES exports (id) ON DELETE CASCADE,
	n INTEGER NOT NULL,
	data BYTEA NOT NULL,
	PRIMARY KEY (export_id, n)
);
