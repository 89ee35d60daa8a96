-- What privacy officers write down about each system of the data map
-- (internal/inventory): its owner, the country its data is stored in, a
-- description and its security measures. system_key is a connector's name
-- or one of Steward's own stores (steward.vault, steward.ledger,
-- steward.archives). No customer data: erasure has nothing to do here.
CREATE TABLE inventory_systems (
	system_key TEXT PRIMARY KEY,
	owner TEXT NOT NULL DEFAULT '',
	location TEXT NOT NULL DEFAULT '',
	description TEXT NOT NULL DEFAULT '',
	security_measures TEXT NOT NULL DEFAULT '',
	updated_at BIGINT NOT NULL,
	updated_by TEXT NOT NULL
);
