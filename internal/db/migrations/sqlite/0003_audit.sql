-- The audit log (internal/audit): hash-chained entries, the chain head, the
-- signed checkpoints and the public keys that signed them. Times are Unix
-- microseconds; hashes are 32-byte SHA-256 values; details are the JSON text
-- exactly as hashed (TEXT, never re-encoded).

-- audit_head holds the sequence number and hash of the last entry. An append
-- updates it first, in the transaction that inserts the entry, so the row
-- lock (the write lock on SQLite) keeps the chain linear across writers.
CREATE TABLE audit_head (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	seq BIGINT NOT NULL,
	hash BLOB NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, zeroblob(32));

CREATE TABLE audit_entries (
	seq INTEGER PRIMARY KEY, -- the rowid: every index below ends in it, so keyset pages need no sort
	at BIGINT NOT NULL,
	actor_kind TEXT NOT NULL,
	actor_id TEXT NOT NULL,
	action TEXT NOT NULL,
	target_kind TEXT NOT NULL,
	target_id TEXT NOT NULL,
	details TEXT NOT NULL,
	prev_hash BLOB NOT NULL,
	hash BLOB NOT NULL
);
-- "Who accessed customer X": target equality, newest first (rowid descending).
CREATE INDEX audit_entries_target ON audit_entries (target_kind, target_id);
CREATE INDEX audit_entries_actor ON audit_entries (actor_kind, actor_id);
CREATE INDEX audit_entries_action ON audit_entries (action);
CREATE INDEX audit_entries_at ON audit_entries (at);

-- Entries are never changed or removed by Steward; these triggers make an
-- accidental UPDATE or DELETE fail. They do not stop someone who can drop
-- them: the hash chain and the signed checkpoints are what detect that.
CREATE TRIGGER audit_entries_no_update BEFORE UPDATE ON audit_entries
BEGIN
	SELECT RAISE(ABORT, 'audit entries are append-only');
END;
CREATE TRIGGER audit_entries_no_delete BEFORE DELETE ON audit_entries
BEGIN
	SELECT RAISE(ABORT, 'audit entries are append-only');
END;

-- Signed checkpoints (C2SP signed notes), one per size.
CREATE TABLE audit_checkpoints (
	size BIGINT PRIMARY KEY,
	root BLOB NOT NULL,
	note TEXT NOT NULL,
	created_at BIGINT NOT NULL
);

-- Verifier keys (signed-note "vkey" form) that have signed checkpoints here.
CREATE TABLE audit_keys (
	vkey TEXT PRIMARY KEY,
	created_at BIGINT NOT NULL
);
