-- An erased subject's consent events stay in the ledger as proof, under a
-- random pseudonym; their device links go. Each erasure takes a sequence
-- number from ledger_head, so that every replica's follower drops the
-- subject from its in-memory index in ledger order. The row names the
-- subject id (an opaque id, kept like the vault's erasure record) and never
-- the pseudonym, which would link the two again.
CREATE TABLE consent_erasures (
	seq BIGINT PRIMARY KEY,
	subject_id TEXT NOT NULL,
	erased_at BIGINT NOT NULL
);
