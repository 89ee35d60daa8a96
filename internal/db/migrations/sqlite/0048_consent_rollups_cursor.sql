-- Consent analytics on SQLite: the commit loop sums the appended choices in
-- memory and writes the rollups about once a second (internal/consent,
-- rollup.go), no longer in the append's own transaction. The cursor is the
-- ledger sequence the rollups are complete up to, moved in the same
-- transaction as the rollups; on open the events after it are summed from
-- the ledger, so that a crash between two writes loses nothing. NULL: the
-- rollups are complete up to the ledger head (as they were until now,
-- and as PostgreSQL's appends keep them).
CREATE TABLE consent_rollups_cursor (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	seq BIGINT
);
INSERT INTO consent_rollups_cursor (id, seq) VALUES (1, NULL);

-- The views that read the full cells (two or more of property,
-- jurisdiction and source) mostly filter on one property: the primary key
-- leads with the day, so they read every cell of the range, and sorting
-- them for the GROUP BY was most of their cost. This index leads with the
-- property, then the order in which package analytics groups the full
-- cells (query.go), and holds every column (covering: no lookup in the
-- table), so that such a view reads the property's cells only, in group
-- order, and sums them without a sort. Its upkeep is the rollups' write
-- about once a second, not the append's. PostgreSQL, whose hash
-- aggregate does not sort, meets the goal without it.
CREATE INDEX consent_rollups_by_property ON consent_rollups
	(property, purpose, notice_version, jurisdiction, source, day, grants, denials, withdrawals, objections);
