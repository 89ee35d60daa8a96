-- Quarterly access reviews (internal/review): one per calendar quarter
-- ("2027-Q1"), open until every staff account in it has a decision. Each
-- item is one account as it stood when the review listed it (role, last
-- sign-in, training standing) and the administrator's decision on it:
-- '' (pending), confirmed, changed (new_role), or disabled. Reminders
-- remember, per quarter, mark and administrator, the email that went, so
-- that it goes once. Times are Unix microseconds. The rows name staff
-- accounts by id, never a customer: erasure has nothing to do here.
CREATE TABLE access_reviews (
	id TEXT PRIMARY KEY,
	quarter TEXT NOT NULL UNIQUE,
	opened_by TEXT NOT NULL,
	opened_at BIGINT NOT NULL,
	closed_by TEXT NOT NULL DEFAULT '',
	closed_at BIGINT
);

CREATE TABLE access_review_items (
	review_id TEXT NOT NULL REFERENCES access_reviews (id),
	staff_id TEXT NOT NULL REFERENCES staff (id),
	role TEXT NOT NULL,
	last_sign_in BIGINT,
	training TEXT NOT NULL,
	decision TEXT NOT NULL DEFAULT '',
	new_role TEXT NOT NULL DEFAULT '',
	decided_by TEXT NOT NULL DEFAULT '',
	decided_at BIGINT,
	PRIMARY KEY (review_id, staff_id)
);

CREATE TABLE access_review_reminders (
	quarter TEXT NOT NULL,
	mark TEXT NOT NULL,
	staff_id TEXT NOT NULL,
	sent_at BIGINT NOT NULL,
	PRIMARY KEY (quarter, mark, staff_id)
);
