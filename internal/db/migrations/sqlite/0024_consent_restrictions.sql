-- Restrictions of processing (GDPR Art. 18). Each placing and each lifting
-- is a row that takes a sequence number from ledger_head, so that every
-- replica's follower applies them in ledger order, as it does erasures and
-- device links. purpose '' restricts every purpose. The subject's erasure
-- deletes their rows (consent.Service.ForgetRestrictions).
CREATE TABLE consent_restrictions (
	seq BIGINT PRIMARY KEY,
	subject_id TEXT NOT NULL,
	purpose TEXT NOT NULL DEFAULT '',
	action TEXT NOT NULL CHECK (action IN ('place', 'lift')),
	request_id TEXT NOT NULL DEFAULT '',
	at BIGINT NOT NULL
);
CREATE INDEX consent_restrictions_subject ON consent_restrictions (subject_id, seq);
