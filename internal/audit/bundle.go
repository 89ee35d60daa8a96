package audit

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/steward-dev/steward/internal/errs"
)

// The evidence bundle: the audit entries of a time range, with what it
// takes to check them offline, for handing to law enforcement or an
// auditor. It is a text file of JSON lines, one record per line, each an
// object whose "type" says what it is, in this order:
//
//	{"type":"header","format":"steward.audit.bundle","version":1,"description":"...",
//	 "from":"2026-11-28T00:00:00Z","to":"2026-11-29T00:00:00Z","exported_at":"...",
//	 "first":101,"last":250,"through":270,"prev_hash":"<hex>","entries":170,"checkpoints":3,"keys":1}
//	{"type":"key","key_id":"1a2b3c4d","vkey":"steward.example/audit+1a2b3c4d+AQ..."}
//	{"type":"checkpoint","size":120,"key_id":"1a2b3c4d","note":"steward.example/audit\n120\n...\n\n— ...\n"}
//	{"type":"entry","seq":101,"at":"2026-11-28T09:14:03.123456Z","actor_kind":"staff","actor_id":"42",
//	 "action":"vault.reveal","target_kind":"subject","target_id":"cust-42",
//	 "details":"{\"field\":\"iban\",\"purpose\":\"refund\"}","prev_hash":"<hex>","hash":"<hex>"}
//	{"type":"end","entries":170,"checkpoints":3}
//
// The header names the range asked for (from, to: RFC 3339) and the
// entries it holds: first to last were written in the range; the entries
// after last, up to through, are context: they lead to the first signed
// checkpoint at or after last, so that the range is covered by a
// signature (through is last when no checkpoint covers it yet). prev_hash
// is the hash of the entry before first (64 zeros when first is 1).
//
// The key records are the Ed25519 verifier keys ("vkey", see Signer) of
// the checkpoints, as the database recorded them; a verifier should pin
// the key the company publishes rather than trust these. The checkpoint
// records are the signed notes of the package comment, exactly as
// signed: the checkpoints from size first-1 through the covering one.
//
// The entry records hold the columns of audit_entries, which the package
// comment's entry hash covers: at is the time in RFC 3339 with
// microseconds, details is the details JSON as a string, byte for byte as
// hashed; hashes are lowercase hex. The end record repeats the counts, so
// that a bundle cut short is told from a complete one.
//
// The entries name actors and subjects by Steward's ids, never a value;
// but a subject id is personal data wherever it can be linked to a person,
// so a bundle is handled as evidence (docs/operations.md, "Evidence for law
// enforcement").
const (
	BundleFormat  = "steward.audit.bundle"
	BundleVersion = 1
)

const bundleDescription = "Steward audit log evidence bundle: JSON lines (header, keys, signed checkpoints, " +
	"hash-chained entries, end). Each entry's hash is SHA-256 over its fields and the previous entry's hash; each " +
	"checkpoint is an Ed25519-signed note (c2sp.org/tlog-checkpoint) committing to the chain at its size. " +
	"Check it with `steward audit verify --bundle FILE --key KEYFILE`; the format is described in the " +
	"documentation of Steward's internal/audit package. Entries name subjects by id: handle as evidence."

type bundleHeader struct {
	Type        string `json:"type"`
	Format      string `json:"format"`
	Version     int    `json:"version"`
	Description string `json:"description"`
	From        string `json:"from"`
	To          string `json:"to"`
	ExportedAt  string `json:"exported_at"`
	First       int64  `json:"first"`
	Last        int64  `json:"last"`
	Through     int64  `json:"through"`
	PrevHash    string `json:"prev_hash"`
	Entries     int64  `json:"entries"`
	Checkpoints int    `json:"checkpoints"`
	Keys        int    `json:"keys"`
}

type bundleKey struct {
	Type  string `json:"type"`
	KeyID string `json:"key_id"`
	VKey  string `json:"vkey"`
}

type bundleCheckpoint struct {
	Type  string `json:"type"`
	Size  int64  `json:"size"`
	KeyID string `json:"key_id,omitempty"`
	Note  string `json:"note"`
}

type bundleEntry struct {
	Type       string `json:"type"`
	Seq        int64  `json:"seq"`
	At         string `json:"at"`
	ActorKind  string `json:"actor_kind"`
	ActorID    string `json:"actor_id"`
	Action     string `json:"action"`
	TargetKind string `json:"target_kind"`
	TargetID   string `json:"target_id"`
	Details    string `json:"details"`
	PrevHash   string `json:"prev_hash"`
	Hash       string `json:"hash"`
}

type bundleEnd struct {
	Type        string `json:"type"`
	Entries     int64  `json:"entries"`
	Checkpoints int    `json:"checkpoints"`
}

// bundleTime is how a bundle writes times: UTC, microseconds always shown
// (the precision the entry hash covers).
const bundleTime = "2006-01-02T15:04:05.000000Z07:00"

// BundleSummary says what ExportBundle wrote.
type BundleSummary struct {
	From, To time.Time
	// First and Last are the entries written in [From, To]; Through is the
	// last entry in the bundle: the size of the checkpoint that covers the
	// range, or Last when none does yet.
	First, Last, Through int64
	// Entries counts the entry records written (the range and the context
	// after it).
	Entries int64
	// Checkpoints counts the signed checkpoints written; KeyIDs names the
	// keys that signed them ("name+keyid"), as recorded in the database.
	Checkpoints int
	KeyIDs      []string
	// Uncovered counts the entries of the range that no signed checkpoint
	// covers yet: the bundle cannot prove them unaltered.
	Uncovered int64
}

// ExportBundle writes to w the evidence bundle of the entries written from
// from to to (both included): see BundleFormat. It reads one snapshot of
// the store and streams the entries, so the range may be large. An empty
// or inverted range is invalid; a range without entries is not found.
// ExportBundle does not judge the log: a tampered log is exported as it
// stands, and VerifyBundle names what is wrong with it.
func (l *Log) ExportBundle(ctx context.Context, from, to time.Time, w io.Writer) (BundleSummary, error) {
	from, to = from.UTC(), to.UTC()
	switch {
	case to.Before(from):
		return BundleSummary{}, errs.Invalid("to", "%s is before --from %s", to.Format(time.RFC3339), from.Format(time.RFC3339))
	case !to.After(from):
		return BundleSummary{}, errs.Invalid("to", "the range from %s to %s is empty", from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	sum := BundleSummary{From: from, To: to}
	err := l.db.ReadTx(ctx, func(tx *sql.Tx) error {
		return exportBundle(ctx, tx, l.now(), &sum, w)
	})
	if err != nil {
		if _, ok := errs.As(err); ok {
			return BundleSummary{}, err
		}
		return BundleSummary{}, storeError(fmt.Errorf("export audit bundle: %w", err))
	}
	return sum, nil
}

func exportBundle(ctx context.Context, tx *sql.Tx, now time.Time, sum *BundleSummary, w io.Writer) error {
	// at is stored in microseconds: the bounds are rounded inwards, so an
	// entry is in the bundle only if it lies in [from, to].
	fromMicro := sum.From.Add(time.Microsecond - 1).UnixMicro()
	var first, last sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT MIN(seq), MAX(seq) FROM audit_entries WHERE at >= $1 AND at <= $2`,
		fromMicro, sum.To.UnixMicro()).Scan(&first, &last); err != nil {
		return fmt.Errorf("find the entries of the range: %w", err)
	}
	if !first.Valid {
		return errs.New(errs.CodeNotFound, "no audit entries were written between %s and %s",
			sum.From.Format(time.RFC3339), sum.To.Format(time.RFC3339))
	}
	sum.First, sum.Last = first.Int64, last.Int64

	prev := GenesisHash
	if sum.First > 1 {
		r, err := rowAt(ctx, tx, sum.First-1)
		if err != nil {
			return err
		}
		if r != nil {
			prev = r.Hash
		} else if r, err = rowAt(ctx, tx, sum.First); err == nil && r != nil {
			prev = r.PrevHash // the entry before is gone: the bundle says what the first one names
		}
	}

	var cover sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT MIN(size) FROM audit_checkpoints WHERE size >= $1`, sum.Last).Scan(&cover); err != nil {
		return fmt.Errorf("find the covering checkpoint: %w", err)
	}
	sum.Through = sum.Last
	if cover.Valid {
		sum.Through = cover.Int64
	}

	verifiers, err := recordedVerifiers(ctx, tx)
	if err != nil {
		return err
	}
	rows, err := tx.QueryContext(ctx, `SELECT size, note FROM audit_checkpoints WHERE size >= $1 AND size <= $2 ORDER BY size`,
		sum.First-1, sum.Through)
	if err != nil {
		return fmt.Errorf("read audit checkpoints: %w", err)
	}
	var checkpoints []bundleCheckpoint
	var keys []bundleKey
	seen := map[string]bool{}
	for rows.Next() {
		cp := bundleCheckpoint{Type: "checkpoint"}
		if err := rows.Scan(&cp.Size, &cp.Note); err != nil {
			rows.Close()
			return fmt.Errorf("read audit checkpoints: %w", err)
		}
		// The key that signed it, among those the database recorded; a
		// checkpoint no recorded key opens is exported all the same, for
		// the verifier to refuse.
		if _, v, err := OpenCheckpoint([]byte(cp.Note), verifiers...); err == nil {
			cp.KeyID = fmt.Sprintf("%08x", v.KeyID())
			if vkey := v.String(); !seen[vkey] {
				seen[vkey] = true
				keys = append(keys, bundleKey{Type: "key", KeyID: cp.KeyID, VKey: vkey})
				sum.KeyIDs = append(sum.KeyIDs, v.Name()+"+"+cp.KeyID)
			}
		}
		checkpoints = append(checkpoints, cp)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read audit checkpoints: %w", err)
	}
	sum.Checkpoints = len(checkpoints)
	if !cover.Valid {
		sum.Uncovered = sum.Last - sum.First + 1
		for _, cp := range checkpoints {
			sum.Uncovered = min(sum.Uncovered, sum.Last-cp.Size)
		}
	}

	bw := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(bundleHeader{Type: "header", Format: BundleFormat, Version: BundleVersion, Description: bundleDescription,
		From: sum.From.Format(time.RFC3339Nano), To: sum.To.Format(time.RFC3339Nano), ExportedAt: now.UTC().Format(bundleTime),
		First: sum.First, Last: sum.Last, Through: sum.Through, PrevHash: prev.String(),
		Entries: sum.Through - sum.First + 1, Checkpoints: len(checkpoints), Keys: len(keys)}); err != nil {
		return fmt.Errorf("write audit bundle: %w", err)
	}
	for _, k := range keys {
		if err := enc.Encode(k); err != nil {
			return fmt.Errorf("write audit bundle: %w", err)
		}
	}
	for _, cp := range checkpoints {
		if err := enc.Encode(cp); err != nil {
			return fmt.Errorf("write audit bundle: %w", err)
		}
	}
	entries, err := tx.QueryContext(ctx, `SELECT `+entryColumns+` FROM audit_entries WHERE seq >= $1 AND seq <= $2 ORDER BY seq`,
		sum.First, sum.Through)
	if err != nil {
		return fmt.Errorf("read audit entries: %w", err)
	}
	defer entries.Close()
	for entries.Next() {
		// The raw columns, not scanEntry's: a tampered row (a hash of the
		// wrong length) is exported as it stands.
		var s Stored
		var at int64
		var details string
		var prevHash, hash []byte
		if err := entries.Scan(&s.Seq, &at, &s.Actor.Kind, &s.Actor.ID, &s.Action, &s.Target.Kind, &s.Target.ID,
			&details, &prevHash, &hash); err != nil {
			return fmt.Errorf("read audit entries: %w", err)
		}
		if err := enc.Encode(bundleEntry{Type: "entry", Seq: s.Seq, At: time.UnixMicro(at).UTC().Format(bundleTime),
			ActorKind: s.Actor.Kind, ActorID: s.Actor.ID, Action: s.Action, TargetKind: s.Target.Kind, TargetID: s.Target.ID,
			Details: details, PrevHash: hex.EncodeToString(prevHash), Hash: hex.EncodeToString(hash)}); err != nil {
			return fmt.Errorf("write audit bundle: %w", err)
		}
		sum.Entries++
	}
	if err := entries.Err(); err != nil {
		return fmt.Errorf("read audit entries: %w", err)
	}
	if err := enc.Encode(bundleEnd{Type: "end", Entries: sum.Entries, Checkpoints: len(checkpoints)}); err != nil {
		return fmt.Errorf("write audit bundle: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write audit bundle: %w", err)
	}
	return nil
}
