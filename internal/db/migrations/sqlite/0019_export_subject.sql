-- An archive of a known subject has its key sealed under that subject's
-- own vault data key (vault.SealFor) instead of the export SecretBox:
-- erasing the subject destroys that key, and with it every copy of the
-- archive, backups included. '' for a requester not matched to a subject.
ALTER TABLE exports ADD COLUMN subject_id TEXT NOT NULL DEFAULT '';
CREATE INDEX exports_subject ON exports (subject_id) WHERE subject_id <> '';
