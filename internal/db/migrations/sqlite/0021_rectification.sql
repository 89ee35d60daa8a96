-- A rectification request may carry the new values the customer proposes
-- for correctable fields: proposal_sealed is their JSON, sealed like
-- details_sealed (a vault SecretBox, bound to the request) and blanked by
-- an erasure; proposal_fields names the fields only (comma-separated
-- targets such as vault:phone or shop-db:customers.email), never a value.
-- proposal_approved_at is when an officer approved it, or the filing time
-- when every field is corrected automatically.
ALTER TABLE dsr_requests ADD COLUMN proposal_sealed BLOB;
ALTER TABLE dsr_requests ADD COLUMN proposal_fields TEXT NOT NULL DEFAULT '';
ALTER TABLE dsr_requests ADD COLUMN proposal_approved_at BIGINT;
