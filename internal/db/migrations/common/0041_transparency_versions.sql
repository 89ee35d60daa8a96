-- The versions of the public transparency page (internal/transparency):
-- one row each time what the page states changed (the catalog's purposes,
-- vendors and categories, where data is held, the company, the published
-- incidents, the period of its figures). content is the stated part as
-- hashed (JSON, never re-encoded); changes the sections that differ from
-- the version before. Nothing here names a person: the figures it covers
-- are aggregates of at least 50 people.
CREATE TABLE transparency_versions (
	version BIGINT PRIMARY KEY,
	created_at BIGINT NOT NULL,
	content_hash TEXT NOT NULL,
	content TEXT NOT NULL,
	changes TEXT NOT NULL
);
