-- The channel a choice about a communication topic names ('email', 'sms',
-- 'post'), or '' for the topic by every channel, as every earlier event.
-- The ledger's hash covers it when it is not empty, so the hashes of
-- earlier events stay as they are.
ALTER TABLE consent_events ADD COLUMN channel TEXT NOT NULL DEFAULT '';
