-- The vault: sensitive fields encrypted under each subject's own data key
-- (DEK), the DEKs wrapped by a versioned key-encryption key (KEK), tokens
-- that stand for a field, and the erasure records that outlive a
-- crypto-shredded subject. Times are Unix microseconds. Ciphertexts and
-- wrapped keys carry their own format byte and nonce (see internal/vault).

-- vault_head names the KEK version that wraps new data keys; 0 until the
-- first unsealed start registers one.
CREATE TABLE vault_head (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	kek_version INTEGER NOT NULL
);
INSERT INTO vault_head (id, kek_version) VALUES (1, 0);

-- KEK versions the store has used. check_value is an HKDF output of the key,
-- not the key: it tells a wrong key apart from a tampered row at start.
CREATE TABLE vault_keks (
	version INTEGER PRIMARY KEY,
	check_value TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	retired_at BIGINT
);

-- One data key per subject. Deleting the row is the crypto-shredding.
CREATE TABLE vault_keys (
	subject_id TEXT PRIMARY KEY,
	dek_version INTEGER NOT NULL,
	kek_version INTEGER NOT NULL,
	wrapped BYTEA NOT NULL,
	created_at BIGINT NOT NULL,
	rewrapped_at BIGINT NOT NULL
);
CREATE INDEX vault_keys_kek ON vault_keys (kek_version);

CREATE TABLE vault_fields (
	subject_id TEXT NOT NULL REFERENCES vault_keys (subject_id) ON DELETE CASCADE,
	name TEXT NOT NULL,
	category TEXT NOT NULL,
	dek_version INTEGER NOT NULL,
	ciphertext BYTEA NOT NULL,
	size INTEGER NOT NULL,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL,
	expires_at BIGINT,
	PRIMARY KEY (subject_id, name)
);
CREATE INDEX vault_fields_expires ON vault_fields (expires_at) WHERE expires_at IS NOT NULL;
CREATE INDEX vault_fields_category ON vault_fields (category);

-- Tokens are kept as SHA-256 hashes: a copy of this table gives no usable token.
CREATE TABLE vault_tokens (
	token_hash TEXT PRIMARY KEY,
	subject_id TEXT NOT NULL,
	name TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	FOREIGN KEY (subject_id, name) REFERENCES vault_fields (subject_id, name) ON DELETE CASCADE
);
CREATE INDEX vault_tokens_field ON vault_tokens (subject_id, name);

-- An erasure record holds the subject id and the time, nothing else: it is
-- what a restore from an older backup re-applies.
CREATE TABLE vault_erasures (
	subject_id TEXT PRIMARY KEY,
	erased_at BIGINT NOT NULL
);
CREATE INDEX vault_erasures_at ON vault_erasures (erased_at);
