-- The data map's vocabulary (internal/consent, the catalog): the data
-- categories, each with its name in the four languages, whether it is a
-- special category (GDPR Art. 9), whether it is in-house (never disclosed
-- to a vendor), its retention (days, 0 = none set) and its place in lists.
CREATE TABLE data_categories (
	key TEXT PRIMARY KEY,
	names TEXT NOT NULL,
	descriptions TEXT NOT NULL DEFAULT '{}',
	special {{BOOLEAN}} NOT NULL DEFAULT {{FALSE}},
	in_house {{BOOLEAN}} NOT NULL DEFAULT {{FALSE}},
	retention_days BIGINT NOT NULL DEFAULT 0 CHECK (retention_days >= 0),
	position BIGINT NOT NULL DEFAULT 0,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);
INSERT INTO data_categories (key, names, special, in_house, position, created_at, updated_at) VALUES
('contact', '{"en":"Contact details","de":"Kontaktdaten","fr":"Coordonnées","es":"Datos de contacto"}', {{FALSE}}, {{FALSE}}, 10, 0, 0),
('identifier', '{"en":"Identifiers","de":"Kennungen","fr":"Identifiants","es":"Identificadores"}', {{FALSE}}, {{FALSE}}, 20, 0, 0),
('financial', '{"en":"Financial data","de":"Finanzdaten","fr":"Données financières","es":"Datos financieros"}', {{FALSE}}, {{FALSE}}, 30, 0, 0),
('government_id', '{"en":"Government identifiers","de":"Amtliche Kennnummern","fr":"Numéros d''identification officiels","es":"Documentos oficiales de identidad"}', {{FALSE}}, {{FALSE}}, 40, 0, 0),
('health', '{"en":"Health data","de":"Gesundheitsdaten","fr":"Données de santé","es":"Datos de salud"}', {{TRUE}}, {{FALSE}}, 50, 0, 0),
('biometric', '{"en":"Biometric data","de":"Biometrische Daten","fr":"Données biométriques","es":"Datos biométricos"}', {{TRUE}}, {{FALSE}}, 60, 0, 0),
('device', '{"en":"Device data","de":"Gerätedaten","fr":"Données de l''appareil","es":"Datos del dispositivo"}', {{FALSE}}, {{FALSE}}, 25, 0, 0),
('location', '{"en":"Location data","de":"Standortdaten","fr":"Données de localisation","es":"Datos de ubicación"}', {{FALSE}}, {{FALSE}}, 70, 0, 0),
('behavioural', '{"en":"Behaviour and usage","de":"Verhalten und Nutzung","fr":"Comportement et utilisation","es":"Comportamiento y uso"}', {{FALSE}}, {{FALSE}}, 80, 0, 0),
('demographic', '{"en":"Demographic data","de":"Demografische Daten","fr":"Données démographiques","es":"Datos demográficos"}', {{FALSE}}, {{FALSE}}, 90, 0, 0),
('communications', '{"en":"Communications","de":"Kommunikation","fr":"Communications","es":"Comunicaciones"}', {{FALSE}}, {{FALSE}}, 100, 0, 0),
('other', '{"en":"Other data","de":"Sonstige Daten","fr":"Autres données","es":"Otros datos"}', {{FALSE}}, {{FALSE}}, 110, 0, 0);

-- A vendor in a third country receives data under a recorded safeguard
-- (GDPR Chapter V): '' (none recorded), adequacy, scc (standard
-- contractual clauses) or bcr (binding corporate rules).
ALTER TABLE vendors ADD COLUMN transfer_safeguard TEXT NOT NULL DEFAULT '' CHECK (transfer_safeguard IN ('', 'adequacy', 'scc', 'bcr'));

-- A purpose may keep data longer than its categories say (the longer legal
-- need wins): days, 0 = none set.
ALTER TABLE purposes ADD COLUMN retention_days BIGINT NOT NULL DEFAULT 0 CHECK (retention_days >= 0);
