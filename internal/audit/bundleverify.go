package audit

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/steward-dev/steward/internal/errs"
)

// Malformed is the kind of a bundle record that cannot be read: not JSON,
// an unknown record, a record out of its place.
const Malformed Kind = "malformed"

// BundleProblem is a fault VerifyBundle found in a bundle.
type BundleProblem struct {
	Kind Kind
	// Seq is the entry at fault, or the checkpoint's size for checkpoint
	// problems (BadCheckpoint, Diverged); -1 when unknown.
	Seq int64
	// Line is the bundle's line at fault, 0 when the fault is an absence.
	Line int
	// Text says what is wrong, naming the entry or checkpoint:
	// "entry 1234: hash does not match its content".
	Text string
}

// String returns the problem's text.
func (p BundleProblem) String() string { return p.Text }

// BundleReport is the outcome of VerifyBundle.
type BundleReport struct {
	// The header's claims: the range asked for and when it was exported.
	From, To, ExportedAt time.Time
	// First and Last are the entries of the range, Through the last entry
	// in the bundle (the context up to the covering checkpoint).
	First, Last, Through int64
	// Entries counts the entry records read; Verified counts those, from
	// First, that were found intact and chained.
	Entries, Verified int64
	// Checkpoints counts the checkpoints whose signature verified and that
	// agree with the entries; CoveredThrough is the largest of them.
	Checkpoints    int
	CoveredThrough int64
	// SignedBy names the keys whose signatures verified ("name+keyid").
	SignedBy []string
	// Trusted says whether the keys came from the verifier (VerifyBundle's
	// trusted keys) rather than from the bundle itself.
	Trusted bool
	// Problems are the faults found: the first fault of the chain, then
	// the checkpoints that do not verify or disagree, then format faults.
	Problems []BundleProblem
	// Uncovered counts the entries of the range after CoveredThrough: no
	// signature vouches for them, so they could have been altered before
	// export. UncoveredFrom is the first of them.
	Uncovered, UncoveredFrom int64
	// Warnings are findings that are not faults of the evidence.
	Warnings []string
}

// OK reports whether the bundle holds no fault. Entries not covered by a
// checkpoint are not a fault of the bundle, but they are not proven
// either: see Proven.
func (r *BundleReport) OK() bool { return len(r.Problems) == 0 }

// Proven reports whether every entry of the range verified and is covered
// by a checkpoint signed with a key the verifier was given or the bundle
// carries (Trusted tells which).
func (r *BundleReport) Proven() bool { return r.OK() && r.Uncovered == 0 && r.Entries > 0 }

// Message returns the outcome in a few lines, as `steward audit verify
// --bundle` prints it.
func (r *BundleReport) Message() string {
	var b strings.Builder
	if r.OK() {
		if r.Uncovered > 0 {
			b.WriteString("audit bundle NOT PROVEN: ")
		} else {
			b.WriteString("audit bundle OK: ")
		}
	} else {
		fmt.Fprintf(&b, "audit bundle FAILED verification: %s", r.Problems[0])
		if n := len(r.Problems) - 1; n > 0 {
			fmt.Fprintf(&b, " (and %d more problems below)", n)
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "%d entries (%d to %d) written from %s to %s", r.Last-r.First+1, r.First, r.Last,
		r.From.Format(time.RFC3339), r.To.Format(time.RFC3339))
	if r.Through > r.Last {
		fmt.Fprintf(&b, ", and %d more up to checkpoint %d", r.Through-r.Last, r.Through)
	}
	fmt.Fprintf(&b, "; %d of %d entry records verified", r.Verified, r.Entries)
	b.WriteString("\n")
	switch {
	case r.Checkpoints == 0:
		b.WriteString("no signed checkpoint verifies")
	default:
		verb := "signed checkpoints verify and agree"
		if r.Checkpoints == 1 {
			verb = "signed checkpoint verifies and agrees"
		}
		fmt.Fprintf(&b, "%d %s, the latest at %d, signed by %s", r.Checkpoints, verb, r.CoveredThrough, strings.Join(r.SignedBy, ", "))
		if r.Trusted {
			b.WriteString(" (a key you gave)")
		} else {
			b.WriteString(" (keys carried in the bundle: compare them with the key the company publishes, or pass --key)")
		}
	}
	if r.Uncovered > 0 {
		if r.Uncovered == 1 {
			fmt.Fprintf(&b, "\nentry %d is not covered by a signed checkpoint: nothing proves it unaltered", r.UncoveredFrom)
		} else {
			fmt.Fprintf(&b, "\nentries %d to %d are not covered by a signed checkpoint: nothing proves them unaltered",
				r.UncoveredFrom, r.UncoveredFrom+r.Uncovered-1)
		}
	}
	for _, p := range r.Problems[min(1, len(r.Problems)):] {
		b.WriteString("\n" + p.Text)
	}
	for _, w := range r.Warnings {
		b.WriteString("\nwarning: " + w)
	}
	return b.String()
}

// bundleItem is an entry record as read, with where it was.
type bundleItem struct {
	Stored
	line int
	// intact is false when a hash is not 64 hex digits.
	intact bool
}

func (e *bundleItem) selfOK() bool { return e.intact && e.ComputeHash() == e.Hash }

// maxLookahead bounds the entries read after the first fault to diagnose
// it (a swap with an entry further on than this is named as out of place).
const maxLookahead = 100_000

// VerifyBundle checks an evidence bundle (see BundleFormat) offline: it
// recomputes every entry's hash and the chain from the header's previous
// hash, checks every checkpoint's signature and that it commits to the
// chain at its size, and names the first entry altered, inserted, removed
// or reordered, every checkpoint that does not verify, and the entries of
// the range that no checkpoint covers.
//
// Checkpoints are checked against trusted, the verifier keys the company
// publishes, when given; otherwise against the keys the bundle carries,
// which proves only that the bundle is consistent (whoever altered it could
// have re-signed it with a key of their own), and the report says so.
//
// An error means r is not a bundle that can be read (not one, another
// format version, an unreadable stream); every fault of a bundle is in
// the report.
func VerifyBundle(r io.Reader, trusted ...*Verifier) (BundleReport, error) {
	v := &bundleVerifier{trusted: trusted, anchors: map[int64]*bundleAnchor{}}
	v.report.Trusted = len(trusted) > 0
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxBundleLine)
	if !sc.Scan() {
		if err := sc.Err(); err != nil {
			return BundleReport{}, bundleReadError(1, err)
		}
		return BundleReport{}, errs.Invalid("bundle", "the file is empty, not an audit bundle")
	}
	if err := v.header(sc.Bytes()); err != nil {
		return BundleReport{}, err
	}
	line := 1
	for sc.Scan() {
		line++
		v.record(line, sc.Bytes())
	}
	if err := sc.Err(); err != nil {
		return BundleReport{}, bundleReadError(line+1, err)
	}
	v.finish(line)
	return v.report, nil
}

// maxBundleLine bounds one record of a bundle: the longest record, a
// checkpoint note or an entry with its details, is a few KiB.
const maxBundleLine = 1 << 20

// bundleReadError is the error of a bundle that could not be read at line:
// a line longer than any record is the bundle's fault (invalid, naming the
// bundle), anything else the reader's.
func bundleReadError(line int, err error) error {
	if errors.Is(err, bufio.ErrTooLong) {
		return errs.Invalid("bundle", "line %d is longer than %d bytes: not a record of an audit bundle", line, maxBundleLine)
	}
	return fmt.Errorf("read audit bundle at line %d: %w", line, err)
}

type bundleAnchor struct {
	cp     Checkpoint
	signer string // "name+keyid"
	line   int
	agrees bool
}

// bundleVerifier walks a bundle record by record.
type bundleVerifier struct {
	trusted []*Verifier
	report  BundleReport
	head    bundleHeader

	keys    []*Verifier
	phase   int // 0 keys, 1 checkpoints, 2 entries, 3 end
	anchors map[int64]*bundleAnchor
	ends    int
	end     bundleEnd
	// cpRecords counts the checkpoint records read.
	cpRecords int

	// The walk: next is the sequence number expected, hash the hash of the
	// last entry verified (the header's prev_hash at first), before the one
	// of the entry before it.
	next         int64
	hash, before Hash
	lastAgreeing int64
	// rest holds the first entry at fault and those after it, for diagnosis.
	fault *BundleProblem
	rest  []bundleItem
	// checkpoint and format problems, reported after the chain's.
	cpProblems, formatProblems []BundleProblem
}

func (v *bundleVerifier) header(line []byte) error {
	var h bundleHeader
	if err := strictJSON(line, &h); err != nil || h.Type != "header" || h.Format != BundleFormat {
		return errs.Invalid("bundle", "the first line is not the header of a Steward audit bundle (%s)", BundleFormat)
	}
	if h.Version != BundleVersion {
		return errs.Invalid("bundle", "bundle format version %d is not supported: this Steward reads version %d", h.Version, BundleVersion)
	}
	v.head = h
	r := &v.report
	var err error
	bad := func(field string) error {
		return errs.Invalid("bundle", "the header's %s is not valid: %v", field, err)
	}
	if r.From, err = time.Parse(time.RFC3339Nano, h.From); err != nil {
		return bad("from")
	}
	if r.To, err = time.Parse(time.RFC3339Nano, h.To); err != nil {
		return bad("to")
	}
	if r.ExportedAt, err = time.Parse(time.RFC3339Nano, h.ExportedAt); err != nil {
		return bad("exported_at")
	}
	if h.First < 1 || h.Last < h.First || h.Through < h.Last {
		err = fmt.Errorf("first %d, last %d, through %d", h.First, h.Last, h.Through)
		return bad("entry numbers")
	}
	prev, ok := parseHash(h.PrevHash)
	if !ok {
		err = errors.New("not 64 hex digits")
		return bad("prev_hash")
	}
	r.First, r.Last, r.Through = h.First, h.Last, h.Through
	v.next, v.hash, v.lastAgreeing = h.First, prev, h.First-1
	return nil
}

func (v *bundleVerifier) formatProblem(line int, format string, args ...any) {
	v.formatProblems = append(v.formatProblems, BundleProblem{Kind: Malformed, Seq: -1, Line: line,
		Text: fmt.Sprintf("line %d: ", line) + fmt.Sprintf(format, args...)})
}

// record reads one record after the header.
func (v *bundleVerifier) record(line int, raw []byte) {
	var kind struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(raw, &kind); err != nil {
		if v.phase == 2 {
			v.chainFault(BundleProblem{Kind: Malformed, Seq: v.next, Line: line,
				Text: fmt.Sprintf("entry %d: line %d, where it is expected, is not a bundle record: %v", v.next, line, err)})
			return
		}
		v.formatProblem(line, "not a bundle record: %v", err)
		return
	}
	if v.phase == 3 {
		v.formatProblem(line, "a %q record after the end record: the bundle was extended", kind.Type)
		return
	}
	switch kind.Type {
	case "key":
		if v.phase > 0 {
			v.formatProblem(line, "a key record after the checkpoints or entries: the bundle was rearranged")
			return
		}
		var k bundleKey
		if err := strictJSON(raw, &k); err != nil {
			v.formatProblem(line, "key record: %v", err)
			return
		}
		ver, err := NewVerifier(k.VKey)
		if err != nil {
			v.formatProblem(line, "key record: %v", err)
			return
		}
		if k.KeyID != fmt.Sprintf("%08x", ver.KeyID()) {
			v.formatProblem(line, "key record: key_id %q is not the key ID of its vkey", k.KeyID)
		}
		if v.report.Trusted && !slices.ContainsFunc(v.trusted, func(t *Verifier) bool { return t.String() == ver.String() }) {
			v.report.Warnings = append(v.report.Warnings, fmt.Sprintf("the bundle carries key %s+%08x, which is not among the keys you gave", ver.Name(), ver.KeyID()))
		}
		v.keys = append(v.keys, ver)
	case "checkpoint":
		if v.phase > 1 {
			v.formatProblem(line, "a checkpoint record after the entries: the bundle was rearranged")
			return
		}
		v.phase = 1
		v.cpRecords++
		var c bundleCheckpoint
		if err := strictJSON(raw, &c); err != nil {
			v.cpProblems = append(v.cpProblems, BundleProblem{Kind: BadCheckpoint, Seq: -1, Line: line,
				Text: fmt.Sprintf("the checkpoint at line %d cannot be read: %v", line, err)})
			return
		}
		v.checkpoint(line, c)
	case "entry":
		v.phase = 2
		var e bundleEntry
		if err := strictJSON(raw, &e); err != nil {
			v.chainFault(BundleProblem{Kind: Malformed, Seq: v.next, Line: line,
				Text: fmt.Sprintf("entry %d: the entry record at line %d cannot be read: %v", v.next, line, err)})
			return
		}
		item, err := e.item(line)
		if err != nil {
			v.chainFault(BundleProblem{Kind: Changed, Seq: e.Seq, Line: line, Text: fmt.Sprintf("entry %d: %v", e.Seq, err)})
			return
		}
		v.entry(item)
	case "end":
		v.phase = 3
		v.ends++
		if err := strictJSON(raw, &v.end); err != nil {
			v.formatProblem(line, "end record: %v", err)
		}
	default:
		v.formatProblem(line, "unknown record type %q", kind.Type)
	}
}

// checkpoint opens a checkpoint record with the trusted keys, or else the
// bundle's.
func (v *bundleVerifier) checkpoint(line int, c bundleCheckpoint) {
	verifiers := v.trusted
	if len(verifiers) == 0 {
		verifiers = v.keys
	}
	size := c.Size
	if i := strings.LastIndex(c.Note, "\n\n"); i >= 0 {
		if cp, err := ParseCheckpoint(c.Note[:i+1]); err == nil {
			size = cp.Size
		}
	}
	cp, signer, err := OpenCheckpoint([]byte(c.Note), verifiers...)
	if err != nil {
		why := err.Error()
		switch {
		case errors.Is(err, ErrInvalidSignature):
			why = "the signature does not match the checkpoint's text: the checkpoint was edited"
		case errors.Is(err, ErrUnverifiedNote):
			whose := "the bundle's keys"
			if v.report.Trusted {
				whose = "the keys you gave"
			}
			why = fmt.Sprintf("it is signed by key %s, which is not among %s", noteKeyIDs(c.Note), whose)
			if strings.Contains(err.Error(), "origin") {
				why = err.Error()
			}
		}
		v.cpProblems = append(v.cpProblems, BundleProblem{Kind: BadCheckpoint, Seq: size, Line: line,
			Text: fmt.Sprintf("checkpoint %d: signature does not verify: %s", size, why)})
		return
	}
	if cp.Size != c.Size {
		v.cpProblems = append(v.cpProblems, BundleProblem{Kind: BadCheckpoint, Seq: cp.Size, Line: line,
			Text: fmt.Sprintf("checkpoint %d: the record says size %d, the signed note %d: the record was edited", cp.Size, c.Size, cp.Size)})
		return
	}
	if _, dup := v.anchors[cp.Size]; dup {
		v.formatProblem(line, "a second checkpoint for size %d", cp.Size)
		return
	}
	if cp.Size < v.head.First-1 || cp.Size > v.head.Through {
		v.report.Warnings = append(v.report.Warnings, fmt.Sprintf("checkpoint %d (line %d) lies outside the bundle's entries and was not checked against them", cp.Size, line))
		return
	}
	v.anchors[cp.Size] = &bundleAnchor{cp: cp, signer: fmt.Sprintf("%s+%08x", signer.Name(), signer.KeyID()), line: line}
	if cp.Size == v.head.First-1 { // it signs the header's previous hash
		v.agree(cp.Size, v.hash)
	}
}

// noteKeyIDs returns the names and key IDs of a note's signature lines.
func noteKeyIDs(note string) string {
	var ids []string
	if i := strings.LastIndex(note, "\n\n"); i >= 0 {
		for _, l := range strings.Split(strings.TrimSuffix(note[i+2:], "\n"), "\n") {
			name, b64, _ := strings.Cut(strings.TrimPrefix(l, emDash), " ")
			if sig, err := base64.StdEncoding.DecodeString(b64); err == nil && len(sig) >= 4 {
				ids = append(ids, fmt.Sprintf("%s+%08x", name, binary.BigEndian.Uint32(sig)))
			}
		}
	}
	if len(ids) == 0 {
		return "(none readable)"
	}
	return strings.Join(ids, ", ")
}

// agree checks the checkpoint at size against the chain's hash there.
func (v *bundleVerifier) agree(size int64, hash Hash) {
	a, ok := v.anchors[size]
	if !ok {
		return
	}
	if a.cp.Root == hash {
		a.agrees = true
		v.lastAgreeing = size
		return
	}
	first := v.lastAgreeing + 1
	what := fmt.Sprintf("entry %d has another hash than the checkpoint's root", size)
	if size == v.head.First-1 {
		what = "the hash of the entry before the first (the header's prev_hash) is not the checkpoint's root"
	}
	which := fmt.Sprintf("one of entries %d to %d was altered and the hashes after it recomputed", first, size)
	switch {
	case size == v.head.First-1:
		which = "the header was edited"
	case first >= size:
		which = fmt.Sprintf("entry %d was altered and its hash recomputed", size)
	}
	v.cpProblems = append(v.cpProblems, BundleProblem{Kind: Diverged, Seq: size, Line: a.line,
		Text: fmt.Sprintf("checkpoint %d: %s: %s", size, what, which)})
}

// item converts an entry record for hashing.
func (e *bundleEntry) item(line int) (bundleItem, error) {
	at, err := time.Parse(time.RFC3339Nano, e.At)
	if err != nil {
		return bundleItem{}, fmt.Errorf("its time %q is not RFC 3339", e.At)
	}
	if !at.Equal(time.UnixMicro(at.UnixMicro())) {
		return bundleItem{}, fmt.Errorf("its time %q is finer than a microsecond, which the hash does not cover", e.At)
	}
	it := bundleItem{line: line, Stored: Stored{Seq: e.Seq, At: at.UTC()}}
	// Assigned, not written in an Entry literal: this entry is read back
	// for hashing, never appended, so the registry of actions (which reads
	// every Entry literal) has nothing to check here.
	it.Actor = Actor{Kind: e.ActorKind, ID: e.ActorID}
	it.Action = e.Action
	it.Target = Target{Kind: e.TargetKind, ID: e.TargetID}
	it.Details = storedDetails(e.Details)
	var ok1, ok2 bool
	it.PrevHash, ok1 = parseHash(e.PrevHash)
	it.Hash, ok2 = parseHash(e.Hash)
	it.intact = ok1 && ok2
	return it, nil
}

func parseHash(s string) (Hash, bool) {
	b, err := hex.DecodeString(s)
	if err != nil {
		return Hash{}, false
	}
	return hashFrom(b)
}

// entry walks one entry record.
func (v *bundleVerifier) entry(e bundleItem) {
	v.report.Entries++
	if v.fault != nil {
		if len(v.rest) < maxLookahead {
			v.rest = append(v.rest, e)
		}
		return
	}
	if e.Seq != v.next || e.PrevHash != v.hash || !e.selfOK() {
		v.rest = append(v.rest, e)
		v.fault = &BundleProblem{Seq: -1} // diagnosed at the end, with what follows
		return
	}
	v.before, v.hash = v.hash, e.Hash
	v.next++
	v.report.Verified++
	if e.Seq <= v.head.Last && (e.At.Before(v.report.From) || e.At.After(v.report.To)) {
		v.report.Warnings = append(v.report.Warnings, fmt.Sprintf("entry %d was written at %s, outside the range the header names", e.Seq, e.At.Format(bundleTime)))
	}
	v.agree(e.Seq, e.Hash)
}

// chainFault records a fault that needs no diagnosis, unless an earlier
// one stands.
func (v *bundleVerifier) chainFault(p BundleProblem) {
	v.report.Entries++
	if v.fault == nil {
		v.fault = &p
	}
}

// finish diagnoses the chain's first fault and checks what must be there.
func (v *bundleVerifier) finish(lines int) {
	r := &v.report
	var chain *BundleProblem
	switch {
	case v.fault != nil && len(v.rest) > 0 && v.fault.Seq == -1:
		p := v.diagnose()
		chain = &p
	case v.fault != nil:
		chain = v.fault
	case v.next <= v.head.Through:
		first, last := v.next, v.head.Through
		text := fmt.Sprintf("entry %d missing", first)
		if last > first {
			text = fmt.Sprintf("entries %d to %d missing", first, last)
		}
		chain = &BundleProblem{Kind: Removed, Seq: first, Text: text + fmt.Sprintf(": the bundle ends at entry %d", first-1)}
	case v.next-1 > v.head.Through:
		chain = &BundleProblem{Kind: Inserted, Seq: v.head.Through + 1,
			Text: fmt.Sprintf("entry %d: inserted: the header says the bundle ends at entry %d", v.head.Through+1, v.head.Through)}
	}
	if chain != nil {
		r.Problems = append(r.Problems, *chain)
	} else {
		// Every checkpoint lies within the verified entries, so each was
		// compared; the rest were beyond them.
		for size, a := range v.anchors {
			if size > v.next-1 && !a.agrees {
				v.cpProblems = append(v.cpProblems, BundleProblem{Kind: Diverged, Seq: size, Line: a.line,
					Text: fmt.Sprintf("checkpoint %d: the bundle holds entries up to %d only", size, v.next-1)})
			}
		}
	}
	slices.SortStableFunc(v.cpProblems, func(a, b BundleProblem) int { return cmp.Compare(a.Seq, b.Seq) })
	r.Problems = append(r.Problems, v.cpProblems...)
	switch {
	case v.ends == 0:
		v.formatProblems = append(v.formatProblems, BundleProblem{Kind: Malformed, Seq: -1,
			Text: fmt.Sprintf("the bundle ends at line %d without its end record: it was cut short", lines)})
	case v.ends > 1:
		v.formatProblem(lines, "more than one end record")
	case v.end.Entries != r.Entries || v.end.Checkpoints != v.cpRecords:
		v.formatProblems = append(v.formatProblems, BundleProblem{Kind: Malformed, Seq: -1,
			Text: fmt.Sprintf("the end record counts %d entries and %d checkpoints, the bundle holds %d and %d: records were added or removed",
				v.end.Entries, v.end.Checkpoints, r.Entries, v.cpRecords)})
	}
	r.Problems = append(r.Problems, v.formatProblems...)

	for size, a := range v.anchors {
		if a.agrees {
			r.Checkpoints++
			r.CoveredThrough = max(r.CoveredThrough, size)
			if !slices.Contains(r.SignedBy, a.signer) {
				r.SignedBy = append(r.SignedBy, a.signer)
			}
		}
	}
	slices.Sort(r.SignedBy)
	if chain == nil && r.CoveredThrough < r.Last {
		r.UncoveredFrom = max(r.CoveredThrough+1, r.First)
		r.Uncovered = r.Last - r.UncoveredFrom + 1
	}
}

// diagnose names the fault at v.rest[0], the first entry record that does
// not extend the verified chain. Entry hashes cover the sequence number,
// so an entry verifies only at the number it was written at; that, and
// the neighbours, tell a moved entry from a changed, inserted or missing
// one.
func (v *bundleVerifier) diagnose() BundleProblem {
	s, e := v.next, &v.rest[0]
	var next *bundleItem
	if len(v.rest) > 1 {
		next = &v.rest[1]
	}
	at := func(seq int64, kind Kind, format string, args ...any) BundleProblem {
		return BundleProblem{Kind: kind, Seq: seq, Line: e.line, Text: fmt.Sprintf(format, args...)}
	}
	switch {
	case e.Seq == s-1 && e.selfOK() && e.PrevHash == v.before:
		return at(e.Seq, Inserted, "entry %d: inserted: two entries are numbered %d; the first of them, which the chain went through, was not written by the log", e.Seq, e.Seq)
	case e.Seq < s:
		return at(e.Seq, Inserted, "entry %d: inserted: a second entry numbered %d stands at line %d", e.Seq, e.Seq, e.line)
	}
	if e.Seq != s { // the entry numbered s is elsewhere, or gone
		for i := 1; i < len(v.rest); i++ {
			if v.rest[i].Seq != s {
				continue
			}
			if e.Seq == s+int64(i) {
				return at(s, Reordered, "entries %d and %d were swapped: entry %d stands at line %d, where entry %d belongs", s, e.Seq, e.Seq, e.line, s)
			}
			return at(s, Reordered, "entry %d is out of place: it stands at line %d, after entry %d", s, v.rest[i].line, v.rest[i-1].Seq)
		}
		if e.Seq == s+1 {
			return at(s, Removed, "entry %d missing: entry %d follows entry %d", s, e.Seq, s-1)
		}
		return at(s, Removed, "entries %d to %d missing: entry %d follows entry %d", s, e.Seq-1, e.Seq, s-1)
	}
	nextVouches := next != nil && next.Seq == s && next.selfOK() && next.PrevHash == v.hash
	if !e.selfOK() {
		if nextVouches {
			return at(s, Inserted, "entry %d: inserted: the record at line %d is not an entry the log wrote, the entry %d after it is", s, e.line, s)
		}
		if !e.intact {
			return at(s, Changed, "entry %d: a hash is not 64 hexadecimal digits", s)
		}
		switch m := v.writtenAs(e); {
		case m == 0:
			if e.PrevHash != v.hash && next != nil && next.PrevHash == e.ComputeHash() {
				return at(s, Changed, "entry %d: its previous hash was altered", s)
			}
			return at(s, Changed, "entry %d: hash does not match its content", s)
		case m == s+1:
			return at(s, Removed, "entry %d missing: the entries after it were renumbered (the entry numbered %d was written as %d)", s, s, m)
		case m == s-1:
			return at(s-1, Inserted, "entry %d: inserted: the entries after it were renumbered (the entry numbered %d was written as %d)", s-1, s, m)
		default:
			return at(s, Reordered, "entry %d is out of place: the entry numbered %d was written as %d", s, s, m)
		}
	}
	// Consistent in itself, but it does not follow the entry before.
	switch {
	case nextVouches:
		return at(s, Inserted, "entry %d: inserted: the record at line %d does not follow entry %d, the entry %d after it does", s, e.line, s-1, s)
	case next != nil && next.PrevHash == e.Hash && s > v.head.First:
		return at(s-1, Changed, "entry %d: altered and its hash recomputed: entry %d names another hash for it", s-1, s)
	case next != nil && next.PrevHash == e.Hash:
		return at(s, Changed, "entry %d: its previous hash is not the header's prev_hash: the header or the entry was altered", s)
	}
	return at(s, Changed, "entry %d: replaced: its hash matches its content, but it does not follow entry %d", s, s-1)
}

// writtenAs returns the sequence number, other than e's own, at which e's
// hash verifies among the bundle's numbers; 0 if none.
func (v *bundleVerifier) writtenAs(e *bundleItem) int64 {
	for _, m := range []int64{e.Seq - 1, e.Seq + 1} {
		if m > 0 && e.hashAt(m) == e.Hash {
			return m
		}
	}
	for m := max(v.head.First-1, 1); m <= v.head.Through+1; m++ {
		if m != e.Seq && e.hashAt(m) == e.Hash {
			return m
		}
	}
	return 0
}

// strictJSON decodes one record, refusing fields the format does not have:
// a field outside the hashed ones could tell a reader anything.
func strictJSON(raw []byte, into any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(into); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("more than one JSON value on the line")
	}
	return exactMembers(raw, into)
}

// exactMembers refuses a record whose member names are not exactly those
// of into, a pointer to a record struct, each once. encoding/json matches
// names regardless of case and lets a repeated name overwrite the first:
// "actor_kind":"x","ACTOR_KIND":"y" verifies as y while a reader that
// matches names exactly (jq, most languages) shows x. The record Steward
// verifies must be the record everyone else reads.
func exactMembers(raw []byte, into any) error {
	names := map[string]bool{}
	t := reflect.TypeOf(into).Elem()
	for i := range t.NumField() {
		if name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ","); name != "" && name != "-" {
			names[name] = true
		}
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return errors.New("not a JSON object")
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		name, _ := tok.(string)
		switch {
		case !names[name]:
			return fmt.Errorf("unknown member %q (names are matched exactly)", name)
		case seen[name]:
			return fmt.Errorf("member %q given twice", name)
		}
		seen[name] = true
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return err
		}
	}
	return nil
}
