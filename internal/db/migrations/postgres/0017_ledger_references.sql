-- The ledger's references to the catalog are checked when events are
-- validated (every property and purpose must be in the catalog), and the
-- catalog never deletes a property or purpose. As foreign keys they cost
-- each appended event a row lock on its property and its purpose (a
-- trigger per row and per key): a quarter of PostgreSQL's work per event.
ALTER TABLE consent_events DROP CONSTRAINT consent_events_property_fkey;
ALTER TABLE consent_events DROP CONSTRAINT consent_events_purpose_fkey;
