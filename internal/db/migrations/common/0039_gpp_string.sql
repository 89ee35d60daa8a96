-- The IAB Global Privacy Platform string that the banner reported with a
-- choice of a US visitor on a property that enables GPP (internal/gpp
-- checks it at ingest); '' for every other event. The ledger's hash covers
-- it when it is not empty, so the hashes of earlier events stay as they are.
ALTER TABLE consent_events ADD COLUMN gpp_string TEXT NOT NULL DEFAULT '';
