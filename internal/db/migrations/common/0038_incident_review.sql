-- The audit after a breach (internal/incident, review.go and publish.go):
-- the post-incident review, its follow-up actions, and the public accounts
-- published on /transparency/incidents. Times are Unix microseconds; lists
-- and maps are JSON.
--
-- None of these tables holds a customer's personal data. The review's texts
-- are officers' words about the breach; an action names its owner by staff
-- account id; a public account holds officers' texts and counts copied from
-- an affected set (never a member), checked for addresses when written.

-- One review per incident: what failed, which controls, and the control
-- areas chosen (JSON array of keys: access_control, logging...).
CREATE TABLE incident_reviews (
	incident_id TEXT PRIMARY KEY REFERENCES incidents (id),
	what_failed TEXT NOT NULL,
	controls TEXT NOT NULL DEFAULT '',
	areas TEXT NOT NULL DEFAULT '[]',
	written_by TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);

-- The review's follow-up actions: each with an owner (a staff account id),
-- a due day (the UTC midnight it falls due at), open or done (by whom,
-- when), and when its owner was reminded that it is overdue (once).
CREATE TABLE incident_review_actions (
	id TEXT PRIMARY KEY,
	incident_id TEXT NOT NULL REFERENCES incidents (id),
	seq INTEGER NOT NULL,
	title TEXT NOT NULL,
	owner TEXT NOT NULL,
	due_at BIGINT NOT NULL,
	state TEXT NOT NULL CHECK (state IN ('open', 'done')),
	created_by TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	done_by TEXT NOT NULL DEFAULT '',
	done_at BIGINT,
	reminded_at BIGINT
);
CREATE UNIQUE INDEX incident_review_actions_incident ON incident_review_actions (incident_id, seq);
CREATE INDEX incident_review_actions_owner ON incident_review_actions (owner, state, due_at);

-- The public accounts of an incident, every version kept: the texts per
-- language (JSON object of language → title, what happened, what was done,
-- outcome), the counts of the affected set it was published from, and who
-- published it when. withdrawn_at on the latest version takes the account
-- off the public pages; a later version publishes it again.
CREATE TABLE incident_accounts (
	incident_id TEXT NOT NULL REFERENCES incidents (id),
	version INTEGER NOT NULL,
	texts TEXT NOT NULL,
	set_id TEXT NOT NULL,
	affected INTEGER NOT NULL,
	by_category TEXT NOT NULL,
	by_jurisdiction TEXT NOT NULL,
	published_by TEXT NOT NULL,
	published_at BIGINT NOT NULL,
	withdrawn_by TEXT NOT NULL DEFAULT '',
	withdrawn_at BIGINT,
	PRIMARY KEY (incident_id, version)
);
CREATE INDEX incident_accounts_published ON incident_accounts (published_at);
