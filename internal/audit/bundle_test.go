package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/errs"
)

// bundleLog builds a log of 33 entries, entry n written at epoch + n-1
// seconds, with signed checkpoints at 10, 15, 20 and 30: entries 31 to 33
// are not covered yet.
func bundleLog(t testing.TB, store *db.DB) (*Log, *Signer) {
	t.Helper()
	ctx := context.Background()
	l := newLog(t, store)
	signer := newSigner(t, "a")
	c := openCheckpointer(t, CheckpointerConfig{DB: store, Signer: signer})
	written := 0
	for _, n := range []int{10, 5, 5, 10, 3} {
		offset := written
		bulkAppend(t, store, n, func(i int) Entry { return testEntry(offset + i) }, func(i int) time.Time { return secondClock(offset + i) })
		written += n
		if written < 33 {
			if _, err := c.Checkpoint(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	return l, signer
}

func mustExportBundle(t *testing.T, l *Log, from, to time.Time) (string, BundleSummary) {
	t.Helper()
	var buf bytes.Buffer
	sum, err := l.ExportBundle(context.Background(), from, to, &buf)
	if err != nil {
		t.Fatalf("ExportBundle: %v", err)
	}
	return buf.String(), sum
}

func verifyBundle(t *testing.T, bundle string, trusted ...*Verifier) BundleReport {
	t.Helper()
	r, err := VerifyBundle(strings.NewReader(bundle), trusted...)
	if err != nil {
		t.Fatalf("VerifyBundle: %v", err)
	}
	return r
}

func TestExportBundle(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		l, signer := bundleLog(t, store)
		cases := []struct {
			name                  string
			from, to              time.Time
			first, last, through  int64
			checkpoints           int
			uncovered             int64
			coveredThrough        int64
			wantInMessage         string
			wantEntries, verified int64
		}{
			{name: "a covered range", from: secondClock(11), to: secondClock(17), first: 12, last: 18, through: 20,
				checkpoints: 2, coveredThrough: 20, wantInMessage: "audit bundle OK: 7 entries (12 to 18)", wantEntries: 9},
			{name: "a range ending at a checkpoint, with the one before its first", from: secondClock(10), to: secondClock(14),
				first: 11, last: 15, through: 15, checkpoints: 2, coveredThrough: 15, wantInMessage: "2 signed checkpoints verify", wantEntries: 5},
			{name: "the whole log up to a checkpoint", from: epoch.Add(-time.Hour), to: secondClock(9), first: 1, last: 10, through: 10,
				checkpoints: 1, coveredThrough: 10, wantInMessage: "audit bundle OK", wantEntries: 10},
			{name: "a range after the last checkpoint", from: secondClock(30), to: secondClock(40), first: 31, last: 33, through: 33,
				checkpoints: 1, coveredThrough: 30, uncovered: 3, wantInMessage: "entries 31 to 33 are not covered by a signed checkpoint", wantEntries: 3},
			{name: "a range partly after the last checkpoint", from: secondClock(25), to: secondClock(40), first: 26, last: 33, through: 33,
				checkpoints: 1, coveredThrough: 30, uncovered: 3, wantInMessage: "NOT PROVEN", wantEntries: 8},
			{name: "bounds between microseconds", from: secondClock(11).Add(-time.Nanosecond), to: secondClock(12).Add(time.Nanosecond),
				first: 12, last: 13, through: 15, checkpoints: 1, coveredThrough: 15, wantInMessage: "audit bundle OK", wantEntries: 4},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				bundle, sum := mustExportBundle(t, l, c.from, c.to)
				if sum.First != c.first || sum.Last != c.last || sum.Through != c.through || sum.Entries != c.wantEntries || sum.Uncovered != c.uncovered {
					t.Errorf("summary %+v, want entries %d..%d through %d (%d records), %d uncovered", sum, c.first, c.last, c.through, c.wantEntries, c.uncovered)
				}
				if !slices.Equal(sum.KeyIDs, []string{fmtKeyID(signer)}) {
					t.Errorf("key ids %v, want %s", sum.KeyIDs, fmtKeyID(signer))
				}
				for _, trusted := range [][]*Verifier{{signer.Verifier()}, nil} {
					r := verifyBundle(t, bundle, trusted...)
					if !r.OK() || r.First != c.first || r.Last != c.last || r.Through != c.through || r.Verified != c.wantEntries ||
						r.Checkpoints != c.checkpoints || r.CoveredThrough != c.coveredThrough || r.Uncovered != c.uncovered ||
						r.Trusted != (trusted != nil) || r.Proven() != (c.uncovered == 0) {
						t.Errorf("trusted %v: report %+v\n%s", trusted != nil, r, r.Message())
					}
					if !strings.Contains(r.Message(), c.wantInMessage) || !strings.Contains(r.Message(), fmtKeyID(signer)) {
						t.Errorf("message %q, want %q and the key id", r.Message(), c.wantInMessage)
					}
					if len(r.Warnings) > 0 {
						t.Errorf("warnings: %v", r.Warnings)
					}
				}
			})
		}

		t.Run("refused ranges", func(t *testing.T) {
			for _, c := range []struct {
				name     string
				from, to time.Time
				code     errs.Code
			}{
				{"no entries", epoch.Add(time.Hour), epoch.Add(2 * time.Hour), errs.CodeNotFound},
				{"to before from", secondClock(5), secondClock(4), errs.CodeInvalid},
				{"empty", secondClock(5), secondClock(5), errs.CodeInvalid},
			} {
				var buf bytes.Buffer
				_, err := l.ExportBundle(context.Background(), c.from, c.to, &buf)
				if errs.CodeOf(err) != c.code || buf.Len() != 0 {
					t.Errorf("%s: err %v (code %s), %d bytes written; want code %s and nothing", c.name, err, errs.CodeOf(err), buf.Len(), c.code)
				}
			}
		})
	})
}

func fmtKeyID(s *Signer) string { return fmt.Sprintf("%s+%08x", s.Name(), s.KeyID()) }

// bundleLines splits a bundle into lines and finds records in it.
type bundleLines []string

func (b bundleLines) String() string { return strings.Join(b, "\n") + "\n" }

// find returns the index of the record of type typ whose field key is n.
func (b bundleLines) find(t *testing.T, typ, key string, n int64) int {
	t.Helper()
	for i, l := range b {
		var rec map[string]any
		if json.Unmarshal([]byte(l), &rec) == nil && rec["type"] == typ && rec[key] == float64(n) {
			return i
		}
	}
	t.Fatalf("no %s record with %s %d", typ, key, n)
	return -1
}

func (b bundleLines) entry(t *testing.T, seq int64) (int, bundleEntry) {
	t.Helper()
	i := b.find(t, "entry", "seq", seq)
	var e bundleEntry
	if err := json.Unmarshal([]byte(b[i]), &e); err != nil {
		t.Fatal(err)
	}
	return i, e
}

func entryLine(t *testing.T, s Stored) string {
	t.Helper()
	out, err := json.Marshal(bundleEntry{Type: "entry", Seq: s.Seq, At: s.At.Format(bundleTime), ActorKind: s.Actor.Kind, ActorID: s.Actor.ID,
		Action: s.Action, TargetKind: s.Target.Kind, TargetID: s.Target.ID, Details: s.Details.String(),
		PrevHash: s.PrevHash.String(), Hash: s.Hash.String()})
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func storedOf(t *testing.T, e bundleEntry) Stored {
	t.Helper()
	it, err := e.item(0)
	if err != nil {
		t.Fatal(err)
	}
	return it.Stored
}

// TestVerifyBundleNamesTheFault alters a bundle of entries 12 to 18 (with
// 19 and 20 up to checkpoint 20, and checkpoint 15 inside) as someone
// holding the file could, and checks that verification names the fault.
func TestVerifyBundleNamesTheFault(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		l, signer := bundleLog(t, store)
		bundle, _ := mustExportBundle(t, l, secondClock(11), secondClock(17))
		other := newSigner(t, "b") // the same name, another key
		otherKey, _ := json.Marshal(bundleKey{Type: "key", KeyID: fmt.Sprintf("%08x", other.KeyID()), VKey: other.VerifierKey()})

		cases := []struct {
			name    string
			alter   func(t *testing.T, b bundleLines) bundleLines
			trusted []*Verifier
			kind    Kind
			seq     int64
			want    string
		}{
			{name: "one changed byte in an entry's details", alter: func(t *testing.T, b bundleLines) bundleLines {
				i, _ := b.entry(t, 14)
				j := strings.Index(b[i], `ticket`)
				b[i] = b[i][:j] + "T" + b[i][j+1:]
				return b
			}, kind: Changed, seq: 14, want: "entry 14: hash does not match its content"},
			{name: "a removed entry", alter: func(t *testing.T, b bundleLines) bundleLines {
				i, _ := b.entry(t, 14)
				return slices.Delete(b, i, i+1)
			}, kind: Removed, seq: 14, want: "entry 14 missing"},
			{name: "the last entries and the end cut off", alter: func(t *testing.T, b bundleLines) bundleLines {
				return b[:len(b)-3]
			}, kind: Removed, seq: 19, want: "entries 19 to 20 missing"},
			{name: "two swapped entries", alter: func(t *testing.T, b bundleLines) bundleLines {
				i, _ := b.entry(t, 13)
				j, _ := b.entry(t, 16)
				b[i], b[j] = b[j], b[i]
				return b
			}, kind: Reordered, seq: 13, want: "entries 13 and 16 were swapped"},
			{name: "two adjacent entries swapped", alter: func(t *testing.T, b bundleLines) bundleLines {
				i, _ := b.entry(t, 17)
				b[i], b[i+1] = b[i+1], b[i]
				return b
			}, kind: Reordered, seq: 17, want: "entries 17 and 18 were swapped"},
			{name: "an inserted forged entry", alter: func(t *testing.T, b bundleLines) bundleLines {
				_, prev := b.entry(t, 13)
				i, _ := b.entry(t, 14)
				forged := forge(14, storedOf(t, prev).Hash, true)
				return slices.Insert(b, i, entryLine(t, forged))
			}, kind: Inserted, seq: 14, want: "entry 14: inserted"},
			{name: "an inserted forged entry, the entries after renumbered", alter: func(t *testing.T, b bundleLines) bundleLines {
				_, prev := b.entry(t, 13)
				i, _ := b.entry(t, 14)
				for j := i; j < len(b); j++ {
					b[j] = strings.Replace(b[j], fmt.Sprintf(`"seq":%d,`, 14+j-i), fmt.Sprintf(`"seq":%d,`, 15+j-i), 1)
				}
				return slices.Insert(b, i, entryLine(t, forge(14, storedOf(t, prev).Hash, true)))
			}, kind: Inserted, seq: 14, want: "entry 14: inserted"},
			{name: "an entry rewritten and the chain recomputed", alter: func(t *testing.T, b bundleLines) bundleLines {
				_, e := b.entry(t, 16)
				prev := storedOf(t, e).PrevHash
				for seq := int64(16); seq <= 20; seq++ {
					i, e := b.entry(t, seq)
					s := storedOf(t, e)
					if seq == 16 {
						s.Actor = Staff("someone-else")
					}
					s.PrevHash = prev
					s.Hash = s.ComputeHash()
					prev = s.Hash
					b[i] = entryLine(t, s)
				}
				return b
			}, kind: Diverged, seq: 20, want: "checkpoint 20: entry 20 has another hash than the checkpoint's root: one of entries 16 to 20 was altered"},
			{name: "an edited checkpoint", alter: func(t *testing.T, b bundleLines) bundleLines {
				i := b.find(t, "checkpoint", "size", 15)
				var c bundleCheckpoint
				json.Unmarshal([]byte(b[i]), &c)
				c.Note = strings.Replace(c.Note, "\n15\n", "\n16\n", 1)
				c.Size = 16
				out, _ := json.Marshal(c)
				b[i] = string(out)
				return b
			}, kind: BadCheckpoint, seq: 16, want: "checkpoint 16: signature does not verify: the signature does not match the checkpoint's text"},
			{name: "a checkpoint signed by another key, its key added", alter: func(t *testing.T, b bundleLines) bundleLines {
				i := b.find(t, "checkpoint", "size", 20)
				_, e := b.entry(t, 20)
				_, note, err := other.SignCheckpoint(20, storedOf(t, e).Hash)
				if err != nil {
					t.Fatal(err)
				}
				out, _ := json.Marshal(bundleCheckpoint{Type: "checkpoint", Size: 20, Note: string(note)})
				b[i] = string(out)
				return slices.Insert(b, 1, string(otherKey))
			}, trusted: []*Verifier{signer.Verifier()}, kind: BadCheckpoint, seq: 20,
				want: "checkpoint 20: signature does not verify: it is signed by key " + fmtKeyID(other) + ", which is not among the keys you gave"},
			{name: "a checkpoint signed by a key the bundle does not carry", alter: func(t *testing.T, b bundleLines) bundleLines {
				i := b.find(t, "checkpoint", "size", 15)
				_, e := b.entry(t, 15)
				_, note, _ := other.SignCheckpoint(15, storedOf(t, e).Hash)
				out, _ := json.Marshal(bundleCheckpoint{Type: "checkpoint", Size: 15, Note: string(note)})
				b[i] = string(out)
				return b
			}, kind: BadCheckpoint, seq: 15, want: "checkpoint 15: signature does not verify: it is signed by key " + fmtKeyID(other) + ", which is not among the bundle's keys"},
			{name: "a field the hash does not cover", alter: func(t *testing.T, b bundleLines) bundleLines {
				i, _ := b.entry(t, 12)
				b[i] = strings.Replace(b[i], `{"type":"entry",`, `{"type":"entry","note":"approved by the DPO",`, 1)
				return b
			}, kind: Malformed, seq: 12, want: `entry 12: the entry record at line`},
			// Found by FuzzVerifyBundle: encoding/json matched "actor_kInd"
			// to actor_kind, and a repeated name overwrites the first, so
			// a record could show a reader that matches names exactly
			// another actor than the one whose hash verified.
			{name: "a member name in another case", alter: func(t *testing.T, b bundleLines) bundleLines {
				i, _ := b.entry(t, 12)
				b[i] = strings.Replace(b[i], `"actor_kind":`, `"actor_kInd":`, 1)
				return b
			}, kind: Malformed, seq: 12, want: `unknown member "actor_kInd"`},
			{name: "a member shown to exact readers, overwritten for Steward", alter: func(t *testing.T, b bundleLines) bundleLines {
				i, e := b.entry(t, 12)
				actor := storedOf(t, e).Actor.ID
				b[i] = strings.Replace(b[i], `"actor_id":"`+actor+`"`, `"actor_id":"someone-else","ACTOR_ID":"`+actor+`"`, 1)
				return b
			}, kind: Malformed, seq: 12, want: `unknown member "ACTOR_ID"`},
			{name: "a member given twice", alter: func(t *testing.T, b bundleLines) bundleLines {
				i, e := b.entry(t, 12)
				actor := storedOf(t, e).Actor.ID
				b[i] = strings.Replace(b[i], `"actor_id":"`+actor+`"`, `"actor_id":"someone-else","actor_id":"`+actor+`"`, 1)
				return b
			}, kind: Malformed, seq: 12, want: `member "actor_id" given twice`},
			{name: "the header's previous hash", alter: func(t *testing.T, b bundleLines) bundleLines {
				var h bundleHeader
				json.Unmarshal([]byte(b[0]), &h)
				h.PrevHash = forgedHash.String()
				out, _ := json.Marshal(h)
				b[0] = string(out)
				return b
			}, kind: Changed, seq: 12, want: "entry 12: its previous hash is not the header's prev_hash"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				altered := c.alter(t, bundleLines(strings.Split(strings.TrimSuffix(bundle, "\n"), "\n"))).String()
				r := verifyBundle(t, altered, c.trusted...)
				if r.OK() || r.Proven() {
					t.Fatalf("not detected: %s", r.Message())
				}
				p := r.Problems[0]
				if p.Kind != c.kind || p.Seq != c.seq || !strings.Contains(p.Text, c.want) {
					t.Fatalf("first problem %s at %d: %q\nwant %s at %d: %q\n%s", p.Kind, p.Seq, p.Text, c.kind, c.seq, c.want, r.Message())
				}
				if !strings.Contains(r.Message(), c.want) {
					t.Errorf("message does not name the fault:\n%s", r.Message())
				}
			})
		}
	})
}

func TestVerifyBundleRefusesWhatIsNotABundle(t *testing.T) {
	for _, c := range []struct{ name, input, want string }{
		{"empty", "", "empty"},
		{"not JSON", "hello\n", "not the header"},
		{"another format", `{"type":"header","format":"something.else","version":1}` + "\n", "not the header"},
		{"a later version", `{"type":"header","format":"steward.audit.bundle","version":2}` + "\n", "version 2 is not supported"},
		// A line longer than any record was a read error, not a refusal
		// of the bundle naming it (found by reading VerifyBundle for
		// FuzzVerifyBundle's property).
		{"a first line over 1 MiB", strings.Repeat("x", maxBundleLine+1), "line 1 is longer than"},
		{"a later line over 1 MiB", "hello\n" + strings.Repeat("x", maxBundleLine+1), "not the header"},
		{"a record over 1 MiB", `{"type":"header","format":"steward.audit.bundle","version":1,"from":"2026-01-01T00:00:00Z",` +
			`"to":"2026-01-01T00:00:00Z","exported_at":"2026-01-01T00:00:00Z","first":1,"last":1,"through":1,"prev_hash":"` +
			strings.Repeat("0", 64) + `"}` + "\n" + strings.Repeat("x", maxBundleLine+1), "line 2 is longer than"},
	} {
		_, err := VerifyBundle(strings.NewReader(c.input))
		if errs.CodeOf(err) != errs.CodeInvalid || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an invalid-input error saying %q", c.name, err, c.want)
		}
	}
}

// BenchmarkBundle exports a range of 100,000 entries (of a 100,000-entry
// log with one checkpoint at its end) and verifies the bundle offline;
// each op is one export or one verification of the whole range.
//
//	go test -run XXX -bench Bundle -benchtime 3x ./internal/audit/
func BenchmarkBundle(b *testing.B) {
	const n = 100_000
	for _, dialect := range []db.Dialect{db.SQLite, db.Postgres} {
		b.Run(string(dialect), func(b *testing.B) {
			ctx := context.Background()
			store := dbtest.Open(b, dialect)
			bulkAppend(b, store, n, millionEntry, secondClock)
			signer := newSigner(b, "a")
			c := openCheckpointer(b, CheckpointerConfig{DB: store, Signer: signer})
			if _, err := c.Checkpoint(ctx); err != nil {
				b.Fatal(err)
			}
			l := newLog(b, store)
			var bundle bytes.Buffer
			b.Run("export", func(b *testing.B) {
				for b.Loop() {
					bundle.Reset()
					if _, err := l.ExportBundle(ctx, secondClock(0), secondClock(n), &bundle); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
				b.ReportMetric(float64(bundle.Len()), "bytes")
			})
			b.Run("verify", func(b *testing.B) {
				for b.Loop() {
					r, err := VerifyBundle(bytes.NewReader(bundle.Bytes()), signer.Verifier())
					if err != nil || !r.Proven() || r.Verified != n {
						b.Fatalf("%v %s", err, r.Message())
					}
				}
				b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
			})
		})
	}
}
