// Package audit is Steward's tamper-evident audit log: an append-only chain
// of entries, each hashed together with the hash of the one before it, and
// signed checkpoints of the chain, kept in the database and in a file
// outside it. Every read of personal data by staff and every change of
// keys, roles or settings is recorded here.
//
// # Recording acts: fail closed
//
// If the audit entry cannot be written, the act does not happen. An act that
// writes to the store records its entry in the same transaction; an act
// that only reads (revealing a value, sending an export) records its entry
// first and happens only once the entry is committed:
//
//	log, err := audit.New(audit.Config{DB: store})
//
//	// A write: the entry commits with the act, or neither does.
//	_, err = log.Do(ctx, audit.Entry{
//		Actor:   audit.Staff(staffID),
//		Action:  "staff.role",
//		Target:  audit.Target{Kind: audit.KindStaff, ID: memberID},
//		Details: audit.MustDetails(map[string]any{"role": "admin"}),
//	}, func(ctx context.Context, tx *sql.Tx) error {
//		return setRole(ctx, tx, memberID, "admin")
//	})
//
//	// A read: the entry first; no entry, no value.
//	details, err := audit.NewDetails(map[string]any{"field": "iban", "purpose": purpose})
//	if err != nil {
//		return err
//	}
//	if _, err := log.Append(ctx, audit.Entry{Actor: audit.Staff(staffID), Action: "vault.reveal",
//		Target: audit.Subject(subjectID), Details: details}); err != nil {
//		return err // errs.CodeUnavailable when the store is down: HTTP 503
//	}
//	return reveal(w, value)
//
// A caller that manages its own transaction calls AppendTx last, just before
// Commit, and rolls back if it fails. Errors carry internal/errs codes: a
// store that cannot be reached (or is closed) gives errs.CodeUnavailable,
// which the web layer answers with 503, so the act is refused rather than
// done unrecorded.
//
// Appends are serialised by the chain head (the audit_head row): each
// append advances it first in its transaction, which holds the row lock on
// PostgreSQL (and the write lock on SQLite) until commit, so the chain
// stays one line across goroutines and across replicas sharing a
// PostgreSQL database. Concurrent Append calls share one transaction (group
// commit).
//
// # What an entry holds
//
// Actor and target are a kind and an id ("staff:42", "api_key:key_x",
// "system", "subject:cust-42"); the action is a dotted verb
// ("vault.reveal", "staff.sign_in_failed", "keys.rotate"); details are a JSON
// object built by NewDetails. The log outlives erasure, so it must not hold
// personal data itself: name what was accessed (a field, a subject id),
// never the value. NewDetails refuses keys such as "value", "plaintext",
// "email" or "password" and values that look like email addresses; see
// Details.
//
// # The registry of actions
//
// Every action is declared once, in actions.go: its name, a sentence saying
// what it records, and the packages that write it (Actions, LookupAction,
// ActionDescription). Validate refuses an entry whose action is not
// registered, so an act with an undeclared action fails closed in the test
// that exercises it, long before a release. The rule for writers of
// entries: the Action of an audit.Entry literal is a string literal, a
// constant, or a parameter or local that takes such values; an action
// completed at run time starts with one of the exported prefixes
// (PrefixDSR + the request's change, PrefixCatalog, PrefixDisclosure,
// PrefixJob), every completion of which is registered. A test reads the
// module's non-test source with go/ast, follows each Action to its values
// (through callers, assignments, closures and concatenations), and fails
// on an unregistered action, an action the registry credits to another
// package, an action it cannot follow, or a registered action no code
// writes. The table of actions in docs/operations.md is generated from
// the registry and checked by a test.
//
// # The entry hash
//
// An entry's hash is SHA-256 over this byte string, integers big-endian:
//
//	"steward.audit.entry.v1" 0x00   the 23-byte domain tag
//	seq                             8 bytes, two's complement (1, 2, 3...)
//	at                              8 bytes, two's complement: Unix time in microseconds
//	actor kind                      4-byte length, then the UTF-8 bytes
//	actor id                        4-byte length, then the UTF-8 bytes ("" for the system)
//	action                          4-byte length, then the UTF-8 bytes
//	target kind                     4-byte length, then the UTF-8 bytes ("" without a target)
//	target id                       4-byte length, then the UTF-8 bytes ("" without a target)
//	details                         4-byte length, then the JSON text exactly as stored
//	previous hash                   32 bytes: the hash of entry seq-1; 32 zero bytes for entry 1
//
// The fields are the columns of the same names in audit_entries (prev_hash
// is the previous hash). Details are hashed as the stored text, byte for
// byte, without parsing: Steward writes them compact with sorted keys and
// never re-encodes them. Test vector: entry 1 at 2026-01-02T03:04:05.000006Z
// (1767323045000006 µs) by staff:42, action vault.reveal, target
// subject:cust-42, details {"field":"iban","purpose":"refund ticket 7"},
// previous hash zero, has the hash
//
//	c9e46d5ee865a8a8d7ccc99aaa9fe361effa82a1e435c8702720583776ce54ca
//
// Because the sequence number is hashed, an entry moved to another place no
// longer verifies there, and because each hash covers the previous one,
// entry N's hash commits to the whole history up to N.
//
// # Checkpoints
//
// A checkpoint is a c2sp.org/tlog-checkpoint note signed as a
// c2sp.org/signed-note with Ed25519:
//
//	steward.example/audit
//	1000
//	gGCd6T3iGOBr4brN9uxvyIM2M+eIihtF3Rr3ywjdmGc=
//
//	— steward.example/audit 8Bm2xQ4fEsjlfTC8...Q==
//
// The lines are the origin (the signing key's name), the size N (entries
// 1..N), and the root: the base64 hash of entry N, the chain head (32 zero
// bytes for size 0). This log is a hash chain, not an RFC 6962 Merkle tree:
// the root is not a Merkle tree head and Merkle consistency proofs do not
// apply; two checkpoints are consistent when the chain from the smaller
// size verifies up to the larger one's root. After the blank line comes one
// signature line: an em dash (U+2014), a space, the key name, a space and
// base64(key ID || Ed25519 signature of the text above the blank line), the
// key ID being the first four bytes (big-endian) of SHA-256(key name || 0x0A
// || 0x01 || 32-byte public key). The public key is published as a
// verifier key (Signer.VerifierKey), "name+keyid+base64(0x01 || public
// key)", the form golang.org/x/mod/sumdb/note reads.
//
// A Checkpointer signs a checkpoint within an Interval (a second) of new
// entries, woken by the Log's appends (Log.Appended) and at most once per
// Interval however fast entries come, after verifying the chain from its
// previous checkpoint; it stores it in audit_checkpoints, appends it to the
// checkpoint file, whose format the next section gives, and publishes it
// (CheckpointerConfig.Publish: the audit.checkpoint webhook) in the
// transaction that stores it, so that each checkpoint is published once
// across replicas. Entries after the latest checkpoint are unprotected
// until the next one: that window is what the Interval bounds. It never
// signs a checkpoint that contradicts one it knows.
//
// # The checkpoint file
//
// A text file of records, each one signed note (as above, ending in a
// newline) followed by one empty line; so the file is a sequence of blocks
// of non-empty lines, a checkpoint being a block of text lines followed by
// a block of signature lines. Steward only ever appends, one record per
// write, fsynced. A record torn by a crash is skipped by readers with a
// warning, and the next append starts after it. Operators ship the file
// elsewhere (a log shipper, object storage with retention, a printout): it
// is what reveals a database restored to an older state, because the
// database's own checkpoints roll back with it. Keep it outside the data
// directory (--audit-checkpoint-file).
//
// # Verifying
//
// Verify walks the chain in one read snapshot, recomputes every hash, and
// names the first entry that was changed, removed, inserted or reordered
// (Problem, with the kinds Changed, Removed, Inserted, Reordered); it checks
// every checkpoint in the file and the database against the verifier keys,
// and reports a database holding fewer entries than a checkpoint
// (RolledBack: a truncated tail) or a different entry at a checkpoint's
// size (Diverged: history differs from checkpoint, a rewritten tail), each
// naming the first entry concerned; it counts the entries after the latest
// checkpoint (Report.Uncovered), which VerifyOptions.Strict turns into a
// failure once they are older than a grace. VerifyCommand is `steward audit
// verify`.
//
// What the chain cannot do: someone who can write to the database can
// append entries that chain correctly, and the next checkpoint will cover
// them. The chain and checkpoints make history unchangeable after the fact;
// database access control keeps out forged appends.
//
// # Evidence bundles
//
// Log.ExportBundle writes the entries of a time range as a self-contained
// file of JSON lines (BundleFormat: header, keys, signed checkpoints,
// entries, end), with the hash of the entry before the first and the
// entries up to the first checkpoint at or after the range's end, so that
// a signature covers the whole range. VerifyBundle checks such a file
// offline, against the verifier keys the company publishes or, lacking
// them, the keys the bundle carries, and names the first entry altered,
// missing, inserted or moved, every checkpoint that does not verify or
// disagree, and the entries no checkpoint covers. `steward audit export`
// and `steward audit verify --bundle` are the commands.
//
// # Searching
//
// Search filters by actor, action, target and time, newest first, with
// keyset pagination (Query.Before, Page.Next); Accesses answers "who
// accessed customer X". Every filter has an index ending in the sequence
// number, so a page is a range read whatever the log's size.
package audit
