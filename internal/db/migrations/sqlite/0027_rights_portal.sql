-- Lifts of a restriction of processing that staff asked for, waiting until
-- the customer has been told (GDPR Art. 18(3): "shall be informed by the
-- controller before the restriction of processing is lifted"). The lift is
-- written to consent_restrictions, and takes effect, only once the notice
-- was sent; until then decisions still answer "restricted". purpose ''
-- lifts every restriction of the subject. notice_problem says why the
-- customer could not be told ('' while the notice is on its way), in which
-- case the restriction stays. The subject's erasure deletes their rows.
CREATE TABLE consent_restriction_lifts (
	id TEXT PRIMARY KEY,
	subject_id TEXT NOT NULL,
	purpose TEXT NOT NULL DEFAULT '',
	requested_at BIGINT NOT NULL,
	requested_by TEXT NOT NULL DEFAULT '',
	notice_problem TEXT NOT NULL DEFAULT ''
);
CREATE INDEX consent_restriction_lifts_subject ON consent_restriction_lifts (subject_id);
