-- The banner: each property's public ingest key is kept readable (it is
-- published in the property's pages anyway), and the imported IAB Global
-- Vendor Lists.
ALTER TABLE api_keys ADD COLUMN public_plain TEXT;

CREATE TABLE tcf_vendor_lists (
	version INTEGER PRIMARY KEY,
	policy_version INTEGER NOT NULL,
	last_updated TEXT NOT NULL,
	body TEXT NOT NULL,
	imported_at BIGINT NOT NULL
);
