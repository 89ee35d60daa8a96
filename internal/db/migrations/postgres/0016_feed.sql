-- Where each feed that follows the ledger stands: the consent.changed
-- webhooks are written from ledger entries after seq, and the cursor moves
-- in the transaction that writes them.
CREATE TABLE feed_cursors (
	name TEXT PRIMARY KEY,
	seq BIGINT NOT NULL
);
