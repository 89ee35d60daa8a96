-- HTTP connectors answer corrections too (internal/connector/webhook,
-- Correct): a rectification reaches them as a call of operation
-- 'correction', whose report holds field names and counts, never values.
ALTER TABLE webhook_calls DROP CONSTRAINT webhook_calls_operation_check;
ALTER TABLE webhook_calls ADD CONSTRAINT webhook_calls_operation_check CHECK (operation IN ('access', 'erasure', 'correction'));

-- Staff record that a customer's identity was verified another way (a
-- phone call with security questions, a visit in store): who (an audit
-- actor, "staff:ID" or "api_key:ID"), when, the channel and the staff's
-- statement of the method. No identity document or data point is stored;
-- the customer's erasure blanks the statement.
ALTER TABLE dsr_identity ADD COLUMN staff_verified_at BIGINT;
ALTER TABLE dsr_identity ADD COLUMN staff_verified_by TEXT;
ALTER TABLE dsr_identity ADD COLUMN staff_channel TEXT;
ALTER TABLE dsr_identity ADD COLUMN staff_statement TEXT;
