-- Staff accounts, their sessions, and training.
CREATE TABLE staff (
	id TEXT PRIMARY KEY,
	email TEXT NOT NULL UNIQUE,
	name TEXT NOT NULL,
	role TEXT NOT NULL,
	password_hash TEXT NOT NULL,
	totp_secret TEXT NOT NULL,
	totp_last_step BIGINT NOT NULL DEFAULT 0,
	failed_attempts INTEGER NOT NULL DEFAULT 0,
	locked_until BIGINT NOT NULL DEFAULT 0,
	disabled_at BIGINT,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);

CREATE TABLE staff_sessions (
	token_hash TEXT PRIMARY KEY,
	staff_id TEXT NOT NULL REFERENCES staff (id),
	created_at BIGINT NOT NULL,
	authenticated_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL,
	revoked_at BIGINT
);
CREATE INDEX staff_sessions_staff ON staff_sessions (staff_id);

CREATE TABLE training_modules (
	key TEXT PRIMARY KEY,
	title TEXT NOT NULL,
	content TEXT NOT NULL,
	quiz TEXT NOT NULL,
	pass_mark INTEGER NOT NULL,
	validity_days INTEGER NOT NULL,
	required INTEGER NOT NULL,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);

CREATE TABLE training_completions (
	staff_id TEXT NOT NULL REFERENCES staff (id),
	module_key TEXT NOT NULL REFERENCES training_modules (key),
	score INTEGER NOT NULL,
	passed INTEGER NOT NULL,
	completed_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL
);
CREATE INDEX training_completions_staff ON training_completions (staff_id, module_key, completed_at);
