package consent

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/receipt"
)

// VerifyOptions says what to check the ledger against besides itself.
type VerifyOptions struct {
	// CheckpointFile is the ledger checkpoint file kept outside the
	// database: every checkpoint in it must verify and agree with the chain,
	// which reveals a chain rewritten or cut back.
	CheckpointFile string
	// Verifiers are the keys checkpoints must be signed with, and Keys
	// public keys that may sign them under any origin ending in "/ledger"
	// (the server's public URL, which its configuration may change). Without
	// any, signatures are not checked (a warning says so), only what the
	// checkpoints say.
	Verifiers []*audit.Verifier
	Keys      []ed25519.PublicKey
	// ReceiptKeys, when set (a JWKS, as /.well-known/jwks.json serves it),
	// checks each stored receipt's signature and that it says what its row
	// says. That finds a row edited even after the latest checkpoint with
	// the chain recomputed behind it, at the cost of a signature check per
	// event.
	ReceiptKeys []byte
	// PageSize is how many events are read at a time; 0 means 10000.
	PageSize int
}

// verifiersFor returns the verifiers a checkpoint note may be signed by.
func (o VerifyOptions) verifiersFor(note []byte) []*audit.Verifier {
	origin, _, _ := strings.Cut(string(note), "\n")
	if len(o.Keys) == 0 || !strings.HasSuffix(origin, "/ledger") {
		return o.Verifiers
	}
	out := append([]*audit.Verifier(nil), o.Verifiers...)
	for _, pub := range o.Keys {
		// The signed-note key ID: SHA-256(name || 0x0A || 0x01 || key)[:4].
		h := sha256.New()
		h.Write([]byte(origin))
		h.Write([]byte{'\n', 0x01})
		h.Write(pub)
		vkey := fmt.Sprintf("%s+%x+%s", origin, h.Sum(nil)[:4], base64.StdEncoding.EncodeToString(append([]byte{0x01}, pub...)))
		if v, err := audit.NewVerifier(vkey); err == nil {
			out = append(out, v)
		}
	}
	return out
}

// VerifyReport is the outcome of Verify.
type VerifyReport struct {
	// Head is the seq of the last chain entry, as ledger_head names it.
	Head int64
	// Verified is how many chain entries, from the first, were found
	// intact; Legacy how many events precede the chain (written before it
	// began) and so are covered by no hash.
	Verified, Legacy int64
	// Problem is the first fault of the chain, nil when there is none.
	Problem *Problem
	// CheckpointProblems are checkpoints that do not verify or that the
	// chain contradicts.
	CheckpointProblems []Problem
	// Checkpoints is how many were checked; Latest is the highest seq one
	// signed; Uncovered how many verified entries no checkpoint covers.
	Checkpoints       int
	Latest, Uncovered int64
	Warnings          []string
}

// OK reports whether the ledger verified without any problem.
func (r *VerifyReport) OK() bool { return r.Problem == nil && len(r.CheckpointProblems) == 0 }

// Message returns the outcome in one line, as `steward ledger verify`
// prints it.
func (r *VerifyReport) Message() string {
	var b strings.Builder
	if r.OK() {
		fmt.Fprintf(&b, "consent ledger OK: %d chain entries verified up to entry %d", r.Verified, r.Head)
	} else {
		b.WriteString("consent ledger FAILED verification: ")
		var parts []string
		if r.Problem != nil {
			parts = append(parts, r.Problem.String())
		}
		if len(r.CheckpointProblems) > 0 {
			parts = append(parts, r.CheckpointProblems[0].String())
			if n := len(r.CheckpointProblems) - 1; n > 0 {
				parts = append(parts, fmt.Sprintf("%d more checkpoint problems", n))
			}
		}
		b.WriteString(strings.Join(parts, "; "))
		fmt.Fprintf(&b, " (%d chain entries verified)", r.Verified)
	}
	if r.Checkpoints == 0 {
		b.WriteString("; no signed checkpoint checked")
	} else {
		fmt.Fprintf(&b, "; %d signed checkpoints checked, latest at entry %d", r.Checkpoints, r.Latest)
	}
	fmt.Fprintf(&b, "; %d entries covered by no checkpoint", r.Uncovered)
	if r.Legacy > 0 {
		fmt.Fprintf(&b, "; %d events predate the chain", r.Legacy)
	}
	if len(r.Warnings) > 0 {
		fmt.Fprintf(&b, "; warning: %s", r.Warnings[0])
		if len(r.Warnings) > 1 {
			fmt.Fprintf(&b, " and %d more", len(r.Warnings)-1)
		}
	}
	return b.String()
}

// ErrVerifyFailed is returned by VerifyCommand when the ledger does not
// verify.
var ErrVerifyFailed = errors.New("the consent ledger does not verify")

// VerifyCommand runs `steward ledger verify`: it verifies the ledger, writes
// the one-line outcome to w and returns ErrVerifyFailed when it does not
// verify.
func VerifyCommand(ctx context.Context, q db.Querier, opts VerifyOptions, w io.Writer) error {
	r, err := Verify(ctx, q, opts)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintln(w, r.Message()); err != nil {
		return err
	}
	if !r.OK() {
		return ErrVerifyFailed
	}
	return nil
}

// Verify walks the whole chain and reports its first changed, removed,
// inserted or reordered entry (by seq and event id), erased events no
// erasure accounts for, and every checkpoint (in the file and the
// database) that does not verify or that the chain contradicts.
func Verify(ctx context.Context, q db.Querier, opts VerifyOptions) (*VerifyReport, error) {
	head, err := readHead(ctx, q)
	if err != nil {
		return nil, db.Classify(err)
	}
	r := &VerifyReport{Head: head.chainSeq}
	if err := q.QueryRowContext(ctx, `SELECT count(*) FROM consent_events WHERE seq <= $1`, head.chainFrom).Scan(&r.Legacy); err != nil {
		return nil, db.Classify(fmt.Errorf("count events: %w", err))
	}
	checkpoints, err := readCheckpoints(ctx, q, opts, r)
	if err != nil {
		return nil, err
	}
	bySeq := map[int64][]ledgerCheckpoint{}
	for _, cp := range checkpoints {
		bySeq[cp.seq] = append(bySeq[cp.seq], cp)
		r.Latest = max(r.Latest, cp.seq)
	}
	page := opts.PageSize
	if page <= 0 {
		page = 10000
	}
	seen := map[int64]bool{}
	w := newWalker(head.chainFrom, nil)
	if opts.ReceiptKeys != nil {
		w.receipt = func(r *chainRow) string { return receiptDiffers(r, opts.ReceiptKeys) }
	}
	w.at = func(seq int64, hash []byte) {
		for _, cp := range bySeq[seq] {
			seen[seq] = true
			if !bytes.Equal(cp.hash, hash) {
				r.CheckpointProblems = append(r.CheckpointProblems, Problem{Kind: ProblemCheckpoint, Seq: seq,
					Detail: fmt.Sprintf("checkpoint of %s (%s) signed another hash: the chain was rewritten",
						cp.at.Format("2006-01-02T15:04:05Z"), cp.source)})
			}
		}
	}
	for w.problem == nil {
		rows, more, err := readChain(ctx, q, w.prevSeq, head.seq, page, false)
		if err != nil {
			return nil, db.Classify(err)
		}
		if w.pending != nil && len(rows) > 0 && rows[0].seq() == w.pending.seq() {
			rows = rows[1:] // the entry in doubt is read again: the walker is still before it
		}
		for i := range rows {
			if !w.step(&rows[i]) {
				break
			}
		}
		if !more {
			break
		}
	}
	w.finish(head)
	w.checkErasures()
	r.Problem, r.Verified = w.problem, w.verified
	for _, cp := range checkpoints {
		switch {
		case seen[cp.seq]:
		case cp.seq > w.prevSeq && w.problem == nil:
			r.CheckpointProblems = append(r.CheckpointProblems, Problem{Kind: ProblemRemoved, Seq: cp.seq,
				Detail: fmt.Sprintf("a checkpoint (%s) was signed at entry %d, but the chain ends at %d: the ledger was cut back",
					cp.source, cp.seq, w.prevSeq)})
		case cp.seq <= w.prevSeq:
			r.CheckpointProblems = append(r.CheckpointProblems, Problem{Kind: ProblemRemoved, Seq: cp.seq,
				Detail: fmt.Sprintf("a checkpoint (%s) was signed at this entry, which is gone", cp.source)})
		}
	}
	sort.SliceStable(r.CheckpointProblems, func(i, j int) bool { return r.CheckpointProblems[i].Seq < r.CheckpointProblems[j].Seq })
	// Count the verified entries after the latest checkpoint.
	if w.problem == nil {
		if err := q.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM consent_events WHERE seq > $1 AND seq <= $2)
			+ (SELECT count(*) FROM consent_erasures WHERE seq > $1 AND seq <= $2)`, max(r.Latest, head.chainFrom), head.chainSeq).
			Scan(&r.Uncovered); err != nil {
			return nil, db.Classify(fmt.Errorf("count entries: %w", err))
		}
	}
	return r, nil
}

// readCheckpoints reads the checkpoints of the file and the database,
// recording those that do not verify.
func readCheckpoints(ctx context.Context, q db.Querier, opts VerifyOptions, r *VerifyReport) ([]ledgerCheckpoint, error) {
	if len(opts.Verifiers) == 0 && len(opts.Keys) == 0 {
		r.Warnings = append(r.Warnings, "no verifier key: checkpoint signatures were not checked")
	}
	var out []ledgerCheckpoint
	bad := func(source string, err error) {
		r.CheckpointProblems = append(r.CheckpointProblems, Problem{Kind: ProblemCheckpoint,
			Detail: fmt.Sprintf("the checkpoint at %s does not verify: %v", source, err)})
	}
	if opts.CheckpointFile != "" {
		notes, lines, warnings, err := fileNotes(opts.CheckpointFile, 0)
		if err != nil {
			return nil, err
		}
		r.Warnings = append(r.Warnings, warnings...)
		for i, note := range notes {
			source := fmt.Sprintf("%s line %d", opts.CheckpointFile, lines[i])
			cp, err := openCheckpoint(note, opts.verifiersFor(note))
			if err != nil {
				bad(source, err)
				continue
			}
			cp.source = source
			out = append(out, cp)
		}
	}
	stored, err := db.QueryAll(ctx, q, `SELECT seq, note FROM ledger_checkpoints ORDER BY seq`, nil,
		func(scan func(...any) error) (ledgerCheckpoint, error) {
			var cp ledgerCheckpoint
			var note string
			err := scan(&cp.seq, &note)
			cp.note = []byte(note)
			return cp, err
		})
	if err != nil {
		return nil, db.Classify(fmt.Errorf("read ledger checkpoints: %w", err))
	}
	for _, s := range stored {
		source := fmt.Sprintf("database seq %d", s.seq)
		cp, err := openCheckpoint(s.note, opts.verifiersFor(s.note))
		if err == nil && cp.seq != s.seq {
			err = fmt.Errorf("it is stored as %d but signed for %d", s.seq, cp.seq)
		}
		if err != nil {
			bad(source, err)
			continue
		}
		cp.source = source
		out = append(out, cp)
	}
	r.Checkpoints = len(out)
	return out, nil
}

// receiptDiffers checks a row's stored receipt against its signature and
// the row, and says what differs ("" when nothing does).
func receiptDiffers(r *chainRow, jwks []byte) string {
	got, err := receipt.Verify(r.receipt.String, jwks)
	if err != nil {
		return "its stored receipt does not verify"
	}
	e := &r.event
	l := got.Steward
	var differs []string
	for _, c := range []struct {
		name string
		same bool
	}{
		{"event id", l.EventID == e.ID},
		{"property", l.Property == e.Property},
		{"subject or device", got.PIIPrincipalID == principal(e)},
		{"purpose", l.Purpose == e.Purpose},
		{"vendor", l.Vendor == e.Vendor},
		{"action", l.Action == string(e.Action)},
		{"source", l.Source == string(e.Source)},
		{"notice version", l.NoticeVersion == e.NoticeVersion},
		{"gpc", l.GPC == e.GPC},
		{"jurisdiction", got.Jurisdiction == e.Jurisdiction},
		{"time", got.ConsentTimestamp == e.At.Unix()},
	} {
		if !c.same {
			differs = append(differs, c.name)
		}
	}
	if len(differs) == 0 {
		return ""
	}
	return "its " + strings.Join(differs, ", ") + " differ from its signed receipt"
}
