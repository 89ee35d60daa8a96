// Package recovery takes Steward's backups and brings them back: a backup
// is the store's snapshot (internal/backup/snapshot) and the erasure
// journal up to its time (internal/erasure), in the encrypted, signed,
// chunked format of internal/backup, on a target of internal/backup/target.
//
// The plaintext of a backup is a state stream: the line "steward-state/1",
// then two sections, "erasures" (the journal's export) and "snapshot",
// each a sequence of length-prefixed blocks ended by an empty one.
//
// Erased stays erased: a backup marks the erasure journal after its
// snapshot, and its manifest says when. A restore refuses to start unless
// the journal it is given is at least that new and still holds every entry
// the backup carried; it then replays every erasure written after the
// snapshot (Finish). --accept-missing-erasures waives the check, and the
// audit log says so.
//
//	svc, _ := recovery.New(recovery.Config{DB: store, Journal: journal, Key: key, Audit: log})
//	m, err := svc.Create(ctx, t, recipients)
//	restored, err := recovery.Restore(ctx, empty, recovery.RestoreOptions{From: t, Identities: ids, Journal: journal})
package recovery
