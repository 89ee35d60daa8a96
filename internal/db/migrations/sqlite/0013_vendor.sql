-- Vendor security assurance (internal/vendor). Times are Unix microseconds.
-- Scores, pass/fail, validity and whether a vendor may receive data are
-- computed in Go, never here.

-- Questionnaire templates, versioned: a change is a new version, and an
-- assessment names the version it was sent with. questions is a JSON array
-- (id, text, kind, options, weight, passing answers, must_pass).
-- content_hash lets EnsureBuiltins tell whether a built-in template changed.
CREATE TABLE vendor_templates (
	key TEXT NOT NULL,
	version INTEGER NOT NULL,
	name TEXT NOT NULL,
	description TEXT NOT NULL DEFAULT '',
	pass_mark INTEGER NOT NULL,
	questions TEXT NOT NULL,
	builtin INTEGER NOT NULL,
	content_hash TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	PRIMARY KEY (key, version)
);

-- One questionnaire sent to a vendor contact. token_hash is the SHA-256 of
-- the link's token (the token itself is shown once and never stored);
-- contact_sealed the contact's address, sealed by a vault SecretBox.
-- scope_purposes and scope_categories are the vendor's purposes and data
-- categories when it was sent (JSON arrays): what the assessment covers.
-- version counts changes; an update names the version it read.
CREATE TABLE vendor_assessments (
	id TEXT PRIMARY KEY,
	vendor_key TEXT NOT NULL,
	template_key TEXT NOT NULL,
	template_version INTEGER NOT NULL,
	state TEXT NOT NULL CHECK (state IN ('sent', 'submitted', 'approved', 'rejected', 'revoked')),
	token_hash TEXT NOT NULL UNIQUE,
	contact_sealed BLOB NOT NULL,
	scope_purposes TEXT NOT NULL,
	scope_categories TEXT NOT NULL,
	pass_mark INTEGER NOT NULL,
	sent_at BIGINT NOT NULL,
	sent_by TEXT NOT NULL,
	link_expires_at BIGINT NOT NULL,
	answers_version INTEGER NOT NULL DEFAULT 0,
	last_saved_at BIGINT,
	submitted_at BIGINT,
	score_earned INTEGER NOT NULL DEFAULT 0,
	score_possible INTEGER NOT NULL DEFAULT 0,
	passed INTEGER NOT NULL DEFAULT 0,
	failed TEXT NOT NULL DEFAULT '[]',
	must_pass_failed TEXT NOT NULL DEFAULT '[]',
	reviewed_at BIGINT,
	reviewed_by TEXT NOT NULL DEFAULT '',
	review_comments TEXT NOT NULL DEFAULT '',
	valid_until BIGINT,
	revoked_at BIGINT,
	revoke_reason TEXT NOT NULL DEFAULT '',
	updated_at BIGINT NOT NULL,
	version BIGINT NOT NULL,
	FOREIGN KEY (template_key, template_version) REFERENCES vendor_templates (key, version)
);
CREATE INDEX vendor_assessments_vendor ON vendor_assessments (vendor_key, sent_at);
CREATE INDEX vendor_assessments_valid ON vendor_assessments (state, valid_until);

-- Every saved version of an assessment's answers (a JSON object: question
-- id → answer), numbered from 1; the last one of a submitted assessment is
-- the one scored. Answers are the vendor's statements about its security,
-- not personal data, and never go to the audit log.
CREATE TABLE vendor_answers (
	assessment_id TEXT NOT NULL REFERENCES vendor_assessments (id),
	version INTEGER NOT NULL,
	saved_at BIGINT NOT NULL,
	answers TEXT NOT NULL,
	submitted INTEGER NOT NULL,
	PRIMARY KEY (assessment_id, version)
);

-- People to reach at a vendor. Name and address are personal data: both
-- are sealed by a vault SecretBox, bound to the contact's id.
CREATE TABLE vendor_contacts (
	id TEXT PRIMARY KEY,
	vendor_key TEXT NOT NULL,
	name_sealed BLOB NOT NULL,
	email_sealed BLOB NOT NULL,
	added_at BIGINT NOT NULL
);
CREATE INDEX vendor_contacts_vendor ON vendor_contacts (vendor_key, added_at);
