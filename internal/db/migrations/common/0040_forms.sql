-- The company's own forms that ask for consent (sign-up, checkout,
-- contact), declared per property (internal/consent, forms.go): a form's
-- id is the source of the choices made in it (form:<id>), which only a
-- declared form may be. A form holds no personal data: its id, its name and
-- the purposes it asks for. Lists are JSON arrays; times Unix microseconds.
CREATE TABLE consent_forms (
	property TEXT NOT NULL REFERENCES properties (key),
	id TEXT NOT NULL,
	name TEXT NOT NULL,
	purposes TEXT NOT NULL DEFAULT '[]',
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL,
	PRIMARY KEY (property, id)
);
