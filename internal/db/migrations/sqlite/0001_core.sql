-- Core: catalog (properties, purposes, vendors, notices), the consent ledger,
-- identity links and API keys. Times are Unix microseconds (BIGINT) in both
-- dialects so that one Go scanner reads them; JSON values are TEXT.
CREATE TABLE properties (
	key TEXT PRIMARY KEY,
	name TEXT NOT NULL,
	domains TEXT NOT NULL,
	jurisdiction_rules TEXT NOT NULL,
	default_jurisdiction TEXT NOT NULL,
	policy_url TEXT NOT NULL,
	settings TEXT NOT NULL DEFAULT '{}',
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);

CREATE TABLE purposes (
	key TEXT PRIMARY KEY,
	names TEXT NOT NULL,
	descriptions TEXT NOT NULL,
	legal_basis TEXT NOT NULL,
	necessary INTEGER NOT NULL,
	sale_or_sharing INTEGER NOT NULL,
	position INTEGER NOT NULL DEFAULT 0,
	settings TEXT NOT NULL DEFAULT '{}',
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);

CREATE TABLE vendors (
	key TEXT PRIMARY KEY,
	name TEXT NOT NULL,
	purposes TEXT NOT NULL,
	data_categories TEXT NOT NULL,
	country TEXT NOT NULL,
	privacy_url TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);

CREATE TABLE notices (
	version TEXT PRIMARY KEY,
	texts TEXT NOT NULL,
	material INTEGER NOT NULL,
	content_hash TEXT NOT NULL,
	published_at BIGINT,
	ordinal INTEGER,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);

-- catalog_head counts catalog changes so that replicas know when to reload.
CREATE TABLE catalog_head (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	version BIGINT NOT NULL
);
INSERT INTO catalog_head (id, version) VALUES (1, 0);

-- ledger_head hands out sequence numbers. Taking them with an UPDATE holds the
-- row lock until commit, so sequence order is commit order on every engine:
-- a replica that has read up to N never later sees a new entry below N.
CREATE TABLE ledger_head (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	seq BIGINT NOT NULL
);
INSERT INTO ledger_head (id, seq) VALUES (1, 0);

CREATE TABLE consent_events (
	seq INTEGER PRIMARY KEY, -- the rowid itself: no second index to maintain
	property TEXT NOT NULL REFERENCES properties (key),
	event_id TEXT NOT NULL,
	subject_id TEXT,
	device_id TEXT,
	purpose TEXT NOT NULL REFERENCES purposes (key),
	vendor TEXT NOT NULL,
	action TEXT NOT NULL,
	source TEXT NOT NULL,
	notice_version TEXT NOT NULL,
	jurisdiction TEXT NOT NULL,
	gpc INTEGER NOT NULL,
	dnt INTEGER NOT NULL,
	tc_string TEXT NOT NULL,
	at BIGINT NOT NULL,
	recorded_at BIGINT NOT NULL,
	UNIQUE (property, event_id)
);
CREATE INDEX consent_events_subject ON consent_events (subject_id) WHERE subject_id IS NOT NULL;
CREATE INDEX consent_events_device ON consent_events (device_id) WHERE device_id IS NOT NULL;

CREATE TABLE subjects (
	id TEXT PRIMARY KEY,
	created_at BIGINT NOT NULL
);

-- A device belongs to at most one subject; relinking moves it. seq comes from
-- ledger_head so that replicas follow links and events in one order.
CREATE TABLE subject_devices (
	device_id TEXT PRIMARY KEY,
	subject_id TEXT NOT NULL REFERENCES subjects (id),
	seq BIGINT NOT NULL,
	linked_at BIGINT NOT NULL
);
CREATE INDEX subject_devices_subject ON subject_devices (subject_id);
CREATE INDEX subject_devices_seq ON subject_devices (seq);

CREATE TABLE api_keys (
	id TEXT PRIMARY KEY,
	hash TEXT NOT NULL UNIQUE,
	scope TEXT NOT NULL,
	property TEXT REFERENCES properties (key),
	label TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	revoked_at BIGINT
);
