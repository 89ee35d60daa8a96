-- The audit log (internal/audit): hash-chained entries, the chain head, the
-- signed checkpoints and the public keys that signed them. Times are Unix
-- microseconds; hashes are 32-byte SHA-256 values; details are the JSON text
-- exactly as hashed (TEXT, not JSONB, which would re-encode it).

-- audit_head holds the sequence number and hash of the last entry. An append
-- updates it first, in the transaction that inserts the entry, so the row
-- lock (held to commit) keeps the chain linear across replicas.
CREATE TABLE audit_head (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	seq BIGINT NOT NULL,
	hash BYTEA NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, decode(repeat('00', 32), 'hex'));

CREATE TABLE audit_entries (
	seq BIGINT PRIMARY KEY,
	at BIGINT NOT NULL,
	actor_kind TEXT NOT NULL,
	actor_id TEXT NOT NULL,
	action TEXT NOT NULL,
	target_kind TEXT NOT NULL,
	target_id TEXT NOT NULL,
	details TEXT NOT NULL,
	prev_hash BYTEA NOT NULL,
	hash BYTEA NOT NULL
);
-- "Who accessed customer X": target equality, newest first, read backwards
-- from the index without a sort; the same shape serves actor and action.
CREATE INDEX audit_entries_target ON audit_entries (target_kind, target_id, seq);
CREATE INDEX audit_entries_actor ON audit_entries (actor_kind, actor_id, seq);
CREATE INDEX audit_entries_action ON audit_entries (action, seq);
CREATE INDEX audit_entries_at ON audit_entries (at);

-- Entries are never changed or removed by Steward; this trigger makes an
-- accidental UPDATE, DELETE or TRUNCATE fail. It does not stop someone who can
-- drop it: the hash chain and the signed checkpoints are what detect that.
CREATE FUNCTION audit_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'audit entries are append-only';
END
$$;
CREATE TRIGGER audit_entries_no_change BEFORE UPDATE OR DELETE ON audit_entries
	FOR EACH ROW EXECUTE FUNCTION audit_entries_append_only();
CREATE TRIGGER audit_entries_no_truncate BEFORE TRUNCATE ON audit_entries
	FOR EACH STATEMENT EXECUTE FUNCTION audit_entries_append_only();

-- Signed checkpoints (C2SP signed notes), one per size.
CREATE TABLE audit_checkpoints (
	size BIGINT PRIMARY KEY,
	root BYTEA NOT NULL,
	note TEXT NOT NULL,
	created_at BIGINT NOT NULL
);

-- Verifier keys (signed-note "vkey" form) that have signed checkpoints here.
CREATE TABLE audit_keys (
	vkey TEXT PRIMARY KEY,
	created_at BIGINT NOT NULL
);
