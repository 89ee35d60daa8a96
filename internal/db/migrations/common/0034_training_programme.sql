-- The training programme (internal/staff, programme.go). A module carries
-- its texts in the other languages of the catalog (JSON: language → title,
-- content and quiz texts; the right answers are the module's own), and
-- where it came from: 'builtin' as Steward ships it (InstallBuiltins keeps
-- it up to date), 'edited' once an administrator changed a built-in (it is
-- then the stored version and is never overwritten), 'custom' for a module
-- an administrator added. builtin_version is the hash of the shipped text
-- last installed.
ALTER TABLE training_modules ADD COLUMN translations TEXT NOT NULL DEFAULT '{}';
ALTER TABLE training_modules ADD COLUMN origin TEXT NOT NULL DEFAULT 'custom';
ALTER TABLE training_modules ADD COLUMN builtin_version TEXT NOT NULL DEFAULT '';

-- Which roles must take which module, and within how many days of joining
-- (or of the assignment, for staff who joined before it).
CREATE TABLE training_assignments (
	role TEXT NOT NULL,
	module_key TEXT NOT NULL REFERENCES training_modules (key),
	due_days INTEGER NOT NULL,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL,
	PRIMARY KEY (role, module_key)
);

-- Reminders sent, one row each, so that each is sent once: kind is
-- expiry_14, expiry_3 or overdue; anchor is the time it is about (the
-- pass's expiry, or the due date), so that a renewed pass earns new ones.
CREATE TABLE training_reminders (
	staff_id TEXT NOT NULL REFERENCES staff (id),
	module_key TEXT NOT NULL REFERENCES training_modules (key),
	kind TEXT NOT NULL,
	anchor BIGINT NOT NULL,
	sent_at BIGINT NOT NULL,
	PRIMARY KEY (staff_id, module_key, kind, anchor)
);
