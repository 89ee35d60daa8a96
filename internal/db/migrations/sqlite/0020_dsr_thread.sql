-- Requests that guide and finish (internal/dsr).
-- language: the customer's language (en, de, fr, es) for the emails that
-- tell them where their request stands.
-- channel: how the request came in: portal, or, for one staff filed on the
-- customer's behalf, phone, email, letter or chat.
-- paused_at: when the deadline's clock stopped, while staff wait for the
-- customer's answer under a law that stops it (the GDPR); NULL otherwise.
ALTER TABLE dsr_requests ADD COLUMN language TEXT NOT NULL DEFAULT 'en';
ALTER TABLE dsr_requests ADD COLUMN channel TEXT NOT NULL DEFAULT 'portal';
ALTER TABLE dsr_requests ADD COLUMN paused_at BIGINT;
-- answer_sealed: the customer's answer to a question, sealed by the
-- request SecretBox; it is personal data, cleared when the request closes.
ALTER TABLE dsr_events ADD COLUMN answer_sealed BLOB;
-- The queue reads requests in deadline order (internal/dsr Search): walked
-- in this index, a page stops after its rows instead of sorting them all.
CREATE INDEX dsr_requests_deadline ON dsr_requests ((COALESCE(extended_until, due_at)), id);
