-- The consent ledger becomes a hash chain (see internal/consent/chain.go).
-- ledger_head keeps, besides the next sequence number, the last chain entry
-- (chain_seq, hash); chain_from is the head when the chain began: older
-- entries were written before it and no hash covers them.
ALTER TABLE ledger_head ADD COLUMN chain_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE ledger_head ADD COLUMN hash BYTEA NOT NULL DEFAULT '\x'::bytea;
ALTER TABLE ledger_head ADD COLUMN chain_from BIGINT NOT NULL DEFAULT 0;
UPDATE ledger_head SET chain_seq = seq, chain_from = seq;

-- Each event: the previous chain entry's seq, its own hash, the receipt as
-- issued (NULL once the subject is erased) and its hash, and the subject or
-- device's commitment: HMAC-SHA256 under a random per-row salt that erasure
-- destroys.
ALTER TABLE consent_events ADD COLUMN prev_seq BIGINT;
ALTER TABLE consent_events ADD COLUMN hash BYTEA;
ALTER TABLE consent_events ADD COLUMN salt BYTEA;
ALTER TABLE consent_events ADD COLUMN principal_mac BYTEA;
ALTER TABLE consent_events ADD COLUMN receipt TEXT;
ALTER TABLE consent_events ADD COLUMN receipt_hash BYTEA;

-- An erasure is a chain entry too: it records how many events it erased.
ALTER TABLE consent_erasures ADD COLUMN prev_seq BIGINT;
ALTER TABLE consent_erasures ADD COLUMN events BIGINT;
ALTER TABLE consent_erasures ADD COLUMN hash BYTEA;

-- Signed checkpoints of the chain head; the same notes are appended to the
-- ledger checkpoint file in the data directory.
CREATE TABLE ledger_checkpoints (
	seq BIGINT PRIMARY KEY,
	hash BYTEA NOT NULL,
	note TEXT NOT NULL,
	created_at BIGINT NOT NULL
);
