// Package erasure keeps the erasure journal: a signed, append-only record of
// every erasure of a subject, kept outside the database (on a
// target.Target: a directory beside the data directory, or object storage),
// so that a store restored from a backup taken before an erasure can be made
// to forget the subject again (Replay).
//
// An entry says who was erased (Steward's subject id, and the request when
// there was one), when, and what was destroyed, as counts and system names:
// never an email, a value or an external id. Each entry is one object under
// erasures/, named by the time it was written, its writer and its number in
// the writer's chain, so listing sorts by time and two replicas never write
// the same name. Each is signed with Ed25519 and names the hash of the
// previous entry of the same writer.
//
//	j, err := erasure.Open(t, signingKey, erasure.Options{})
//	err = j.Append(ctx, erasure.Entry{Subject: "sub_1", At: at, Source: erasure.SourceRequest, ...})
//	entries, err := j.Since(ctx, backupTakenAt)   // every signature and chain verified
//	res, err := erasure.Replay(ctx, entries, erasure.Deps{Vault: v, Ledger: svc, ...})
//
// What the signatures and chains prove, and what they cannot:
//
//   - An edited entry, one signed by a key that is not trusted, an entry
//     renamed to another time or writer, and an entry removed from the middle
//     of a writer's chain are refused, with the entry named (VerifyError).
//   - The newest entries of a writer can be removed without a trace in the
//     journal itself: nothing comes after them to name them. A backup carries
//     the journal up to its time (Export), which bounds this: an entry a
//     backup carried and the journal lost is detected (Contains), and
//     restore refuses a journal older than the backup (Head). Between the
//     newest backup and now, the target's own write-once guarantees (object
//     lock on S3, read-only media) are what protect the journal.
//   - Whoever holds the signing key can write entries; the journal proves
//     who wrote, not that the erasure happened. An extra entry only erases
//     more, which is the safe direction.
//   - Entries are ordered by their writers' clocks: replicas with skewed
//     clocks interleave a little out of order, which Replay does not mind
//     (every step is idempotent and erasures commute).
package erasure
