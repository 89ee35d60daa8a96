-- The ethics assessment of each purpose (internal/ethics): the draft a
-- privacy officer writes (answers, JSON), and the approval in force
-- (approval, JSON: the answers and Steward's facts frozen as approved, the
-- scope covered, who approved, until when; '' for none). grace_until is
-- the end of the grace period an upgrade gives a purpose that existed
-- before assessments did. Times are Unix microseconds. The answers
-- describe processing, not people: no customer data, so erasure has
-- nothing to do here.
CREATE TABLE purpose_assessments (
	purpose_key TEXT PRIMARY KEY REFERENCES purposes (key),
	answers TEXT NOT NULL DEFAULT '{}',
	saved_at BIGINT,
	saved_by TEXT NOT NULL DEFAULT '',
	approval TEXT NOT NULL DEFAULT '',
	grace_until BIGINT,
	updated_at BIGINT NOT NULL
);

-- Purposes that exist now must not be refused the moment Steward is
-- upgraded: each that needs an assessment (not necessary, nor on a
-- contract or a legal obligation) stays open for 90 days, in which a
-- privacy officer approves its assessment (ethics.GracePeriod;
-- 7776000000000 microseconds).
INSERT INTO purpose_assessments (purpose_key, grace_until, updated_at)
SELECT key, CAST(EXTRACT(EPOCH FROM now()) AS BIGINT) * 1000000 + 7776000000000, CAST(EXTRACT(EPOCH FROM now()) AS BIGINT) * 1000000
FROM purposes WHERE necessary = FALSE AND legal_basis NOT IN ('contract', 'legal_obligation');
