-- Consent analytics: the ledger sequence the rollups are complete up to
-- (see the SQLite migration of this number). PostgreSQL's appends keep the
-- rollups in their own statement, so it stays NULL (complete up to the
-- ledger head) but in a store restored from a SQLite one, whose tail the
-- first open sums from the ledger (internal/consent, rollup.go).
CREATE TABLE consent_rollups_cursor (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	seq BIGINT
);
INSERT INTO consent_rollups_cursor (id, seq) VALUES (1, NULL);
