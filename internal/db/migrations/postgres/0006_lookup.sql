-- Secrets of Steward itself, sealed by a vault SecretBox (the data key of a
-- reserved system holder, wrapped by the KEK): today the lookup index key.
CREATE TABLE vault_secrets (
	name TEXT PRIMARY KEY,
	sealed BYTEA NOT NULL,
	created_at BIGINT NOT NULL
);

-- The lookup index lets staff find a subject by an exact value (an email
-- address) without decrypting every field: hash is HMAC-SHA256 of the
-- normalised value under the sealed lookup key, so a copy of this table
-- tells nothing without the KEK. Rows go with their field (a delete, a
-- retention purge or a crypto-shredding erasure).
CREATE TABLE vault_lookups (
	subject_id TEXT NOT NULL,
	name TEXT NOT NULL,
	hash BYTEA NOT NULL,
	PRIMARY KEY (subject_id, name),
	FOREIGN KEY (subject_id, name) REFERENCES vault_fields (subject_id, name) ON DELETE CASCADE
);
CREATE INDEX vault_lookups_hash ON vault_lookups (name, hash);
