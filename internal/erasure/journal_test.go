package erasure_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/backup/target"
	"github.com/steward-dev/steward/internal/erasure"
	"github.com/steward-dev/steward/internal/errs"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newKey(t testing.TB) ed25519.PrivateKey {
	t.Helper()
	_, key, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// journalAt opens a journal in dir (a new temporary one when empty).
func journalAt(t testing.TB, dir string, key ed25519.PrivateKey, opts erasure.Options) (*erasure.Journal, string) {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	tg, err := target.OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	return erasure.Open(tg, key, opts), dir
}

func erased(subject string, at time.Time) erasure.Entry {
	return erasure.Entry{Subject: subject, At: at, Source: erasure.SourceAPI, Vault: &erasure.VaultErased{Fields: 2, Tokens: 1, KeyDestroyed: true}}
}

// MustAppend appends every entry, advancing the clock a second before each.
func mustAppend(t *testing.T, j *erasure.Journal, c *clock, entries ...erasure.Entry) {
	t.Helper()
	for _, e := range entries {
		c.Advance(time.Second)
		if err := j.Append(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
}

func names(entries []erasure.Entry) []string {
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i] = e.Name
	}
	return out
}

func TestAppendSinceHead(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Date(2026, 12, 7, 6, 0, 0, 0, time.UTC)}
	j, _ := journalAt(t, "", newKey(t), erasure.Options{Now: c.Now, Writer: "w1"})
	if head, err := j.Head(ctx); err != nil || !head.IsZero() {
		t.Fatalf("head of an empty journal = %v, %v", head, err)
	}
	mustAppend(t, j, c, erased("sub-1", c.Now()), erased("sub-2", c.Now()))
	backupAt := c.Now().Add(time.Millisecond)
	if _, err := j.Mark(ctx, "backup-1"); err != nil {
		t.Fatal(err)
	}
	mustAppend(t, j, c, erasure.Entry{Subject: "sub-3", At: c.Now(), Source: erasure.SourceRequest, RequestID: "req_1",
		Ledger: &erasure.LedgerErased{Events: 4}, Systems: []erasure.SystemErased{{Name: "shop", Kind: "sql", Rows: 3}}})

	all, err := j.Since(ctx, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 3 || all[0].Subject != "sub-1" || all[1].Subject != "sub-2" || all[2].Subject != "sub-3" {
		t.Fatalf("since the start: %+v", all)
	}
	for i, e := range all {
		if e.Writer != "w1" || e.Kind != erasure.KindErasure || e.Hash == "" || !strings.HasPrefix(e.Name, erasure.Prefix) {
			t.Fatalf("entry %d: %+v", i, e)
		}
	}
	if all[0].Seq != 1 || all[1].Seq != 2 || all[2].Seq != 4 || all[2].Prev == "" || all[0].Prev != "" {
		t.Fatalf("chain: %+v", all)
	}
	if got := all[2]; got.RequestID != "req_1" || got.Ledger.Events != 4 || got.Systems[0].Rows != 3 {
		t.Fatalf("entry read back: %+v", got)
	}
	after, err := j.Since(ctx, backupAt)
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != 1 || after[0].Subject != "sub-3" {
		t.Fatalf("since the backup: %v, want sub-3 alone (marks are not erasures)", names(after))
	}
	head, err := j.Head(ctx)
	if err != nil || !head.Equal(all[2].Written) {
		t.Fatalf("head = %v, %v; want %v", head, err, all[2].Written)
	}
}

// A stable writer continues its chain after a restart; a new process
// without one starts its own, and both verify together.
func TestWritersChains(t *testing.T) {
	ctx := context.Background()
	key := newKey(t)
	c := &clock{t: time.Date(2026, 12, 7, 6, 0, 0, 0, time.UTC)}
	j1, dir := journalAt(t, "", key, erasure.Options{Now: c.Now, Writer: "w1"})
	mustAppend(t, j1, c, erased("sub-1", c.Now()), erased("sub-2", c.Now()))
	j1again, _ := journalAt(t, dir, key, erasure.Options{Now: c.Now, Writer: "w1"})
	other, _ := journalAt(t, dir, key, erasure.Options{Now: c.Now})
	mustAppend(t, other, c, erased("sub-3", c.Now()))
	mustAppend(t, j1again, c, erased("sub-4", c.Now()))
	all, err := j1.Since(ctx, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 4 || all[3].Writer != "w1" || all[3].Seq != 3 || all[2].Writer != other.Writer() || all[2].Seq != 1 {
		t.Fatalf("entries: %+v", all)
	}
}

// Two journals on one target never write the same name, even in the same
// nanosecond.
func TestReplicasDoNotCollide(t *testing.T) {
	key := newKey(t)
	at := time.Date(2026, 12, 7, 6, 0, 0, 0, time.UTC)
	still := func() time.Time { return at }
	j1, dir := journalAt(t, "", key, erasure.Options{Now: still})
	j2, _ := journalAt(t, dir, key, erasure.Options{Now: still})
	var wg sync.WaitGroup
	for _, j := range []*erasure.Journal{j1, j2} {
		wg.Go(func() {
			for range 5 {
				if err := j.Append(context.Background(), erased("sub-1", at)); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	all, err := j1.Since(context.Background(), time.Time{})
	if err != nil || len(all) != 10 {
		t.Fatalf("got %d entries, %v; want 10", len(all), err)
	}
}

func TestAppendRefusesWhatIsNotAnID(t *testing.T) {
	c := &clock{t: time.Date(2026, 12, 7, 6, 0, 0, 0, time.UTC)}
	j, dir := journalAt(t, "", newKey(t), erasure.Options{Now: c.Now})
	for name, e := range map[string]erasure.Entry{
		"an email as subject":        {Subject: "ada synthetic@example.org", At: c.Now(), Source: erasure.SourceAPI},
		"a name as system":           {Subject: "sub-1", At: c.Now(), Source: erasure.SourceAPI, Systems: []erasure.SystemErased{{Name: "Ada Synthetic", Kind: "sql"}}},
		"no subject nor request":     {At: c.Now(), Source: erasure.SourceAPI},
		"an unknown source":          {Subject: "sub-1", At: c.Now(), Source: "someone"},
		"no time":                    {Subject: "sub-1", Source: erasure.SourceAPI},
		"a mark naming a subject":    {Kind: erasure.KindMark, Subject: "sub-1", At: c.Now()},
		"a label with free text":     {Kind: erasure.KindMark, Label: "Ada's backup", At: c.Now()},
		"an erasure with a label":    {Subject: "sub-1", At: c.Now(), Source: erasure.SourceAPI, Label: "x"},
		"an unknown kind of system":  {Subject: "sub-1", At: c.Now(), Source: erasure.SourceAPI, Systems: []erasure.SystemErased{{Name: "crm", Kind: "ftp"}}},
		"a request id with a space ": {RequestID: "req 1", At: c.Now(), Source: erasure.SourceRequest},
	} {
		t.Run(name, func(t *testing.T) {
			if err := j.Append(context.Background(), e); !errs.Is(err, errs.CodeInvalid) {
				t.Fatalf("Append = %v, want invalid", err)
			}
		})
	}
	if files, _ := os.ReadDir(filepath.Join(dir, "erasures")); len(files) != 0 {
		t.Fatalf("refused entries left %d files", len(files))
	}
}

// rewrite replaces a stored object's bytes (the target made it read-only).
func rewrite(t *testing.T, dir, name string, change func([]byte) []byte) {
	t.Helper()
	path := filepath.Join(dir, filepath.FromSlash(name))
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(path, 0o600)
	if err := os.WriteFile(path, change(raw), 0o400); err != nil {
		t.Fatal(err)
	}
}

// resign changes the signed entry with edit and signs it again with key.
func resign(t *testing.T, key ed25519.PrivateKey, keyID string, edit func(map[string]any)) func([]byte) []byte {
	return func(raw []byte) []byte {
		var env struct {
			Entry json.RawMessage `json:"entry"`
			Sig   []byte          `json:"sig"`
		}
		if err := json.Unmarshal(raw, &env); err != nil {
			t.Fatal(err)
		}
		var e map[string]any
		json.Unmarshal(env.Entry, &e)
		edit(e)
		if keyID != "" {
			e["key"] = keyID
		}
		env.Entry, _ = json.Marshal(e)
		env.Sig = ed25519.Sign(key, env.Entry)
		out, _ := json.Marshal(env)
		return out
	}
}

// Every change to the journal after the fact is refused, naming the entry.
func TestTamperingIsRefused(t *testing.T) {
	ctx := context.Background()
	intruder := newKey(t)
	intruderID := erasure.KeyID(intruder.Public().(ed25519.PublicKey))
	cases := []struct {
		name string
		// tamper changes the journal in dir, whose entries are names (three
		// of writer w1, oldest first), and returns the entry that must be
		// named and a part of the problem.
		tamper  func(t *testing.T, dir string, names []string) (string, string)
		trusted bool // the intruder's key is trusted
	}{
		{"an edited byte", func(t *testing.T, dir string, names []string) (string, string) {
			rewrite(t, dir, names[1], func(b []byte) []byte { return bytes.Replace(b, []byte(`"fields":2`), []byte(`"fields":0`), 1) })
			return names[1], "signature does not verify"
		}, false},
		{"an edited subject", func(t *testing.T, dir string, names []string) (string, string) {
			rewrite(t, dir, names[0], func(b []byte) []byte { return bytes.Replace(b, []byte(`sub-1`), []byte(`sub-9`), 1) })
			return names[0], "signature does not verify"
		}, false},
		{"re-signed by another key", func(t *testing.T, dir string, names []string) (string, string) {
			rewrite(t, dir, names[1], resign(t, intruder, intruderID, func(e map[string]any) { e["subject"] = "sub-9" }))
			return names[1], "not trusted"
		}, false},
		{"re-signed by another key under the journal's key id", func(t *testing.T, dir string, names []string) (string, string) {
			rewrite(t, dir, names[1], resign(t, intruder, "", func(e map[string]any) { e["subject"] = "sub-9" }))
			return names[1], "signature does not verify"
		}, false},
		{"the middle entry of a writer removed", func(t *testing.T, dir string, names []string) (string, string) {
			os.Remove(filepath.Join(dir, filepath.FromSlash(names[1])))
			return names[2], "entry 2 of writer w1 before it is missing"
		}, false},
		{"the first entry of a writer removed", func(t *testing.T, dir string, names []string) (string, string) {
			os.Remove(filepath.Join(dir, filepath.FromSlash(names[0])))
			return names[1], "entry 1 of writer w1 before it is missing"
		}, false},
		{"an entry renamed to another time", func(t *testing.T, dir string, names []string) (string, string) {
			moved := strings.Replace(names[2], "2026", "2027", 1)
			os.Rename(filepath.Join(dir, filepath.FromSlash(names[2])), filepath.Join(dir, filepath.FromSlash(moved)))
			return moved, "renamed"
		}, false},
		{"a trusted key's entry taken out of its chain", func(t *testing.T, dir string, names []string) (string, string) {
			// Even a trusted signer cannot drop an entry without the chain
			// showing it: entry 3 re-signed to follow entry 1.
			var prev string
			rewrite(t, dir, names[0], func(b []byte) []byte { prev = hashOfObject(t, b); return b })
			os.Remove(filepath.Join(dir, filepath.FromSlash(names[1])))
			rewrite(t, dir, names[2], resign(t, intruder, intruderID, func(e map[string]any) { e["prev"] = prev }))
			return names[2], "entry 2 of writer w1 before it is missing"
		}, true},
		{"a stranger's object among the entries", func(t *testing.T, dir string, names []string) (string, string) {
			os.WriteFile(filepath.Join(dir, "erasures", "notes.json"), []byte(`a note left by someone`), 0o400)
			return "erasures/notes.json", "not a signed entry"
		}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := &clock{t: time.Date(2026, 12, 7, 6, 0, 0, 0, time.UTC)}
			opts := erasure.Options{Now: c.Now, Writer: "w1"}
			if tc.trusted {
				opts.Trusted = []ed25519.PublicKey{intruder.Public().(ed25519.PublicKey)}
			}
			j, dir := journalAt(t, "", newKey(t), opts)
			mustAppend(t, j, c, erased("sub-1", c.Now()), erased("sub-2", c.Now()), erased("sub-3", c.Now()))
			all, err := j.Since(ctx, time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			named, problem := tc.tamper(t, dir, names(all))
			_, err = j.Since(ctx, time.Time{})
			var ve *erasure.VerifyError
			if !errors.As(err, &ve) {
				t.Fatalf("Since after tampering = %v, want a VerifyError", err)
			}
			if ve.Name != named || !strings.Contains(ve.Problem, problem) {
				t.Fatalf("refused %s (%s), want %s (%s)", ve.Name, ve.Problem, named, problem)
			}
			if err := j.Export(ctx, c.Now(), &bytes.Buffer{}); err == nil {
				t.Fatal("a tampered journal was exported")
			}
		})
	}
}

func hashOfObject(t *testing.T, raw []byte) string {
	t.Helper()
	var env struct {
		Entry json.RawMessage `json:"entry"`
	}
	if err := json.Unmarshal(raw, &env); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(env.Entry)
	return hex.EncodeToString(sum[:])
}

func TestExportCarriesTheJournalUpToItsTime(t *testing.T) {
	ctx := context.Background()
	key := newKey(t)
	c := &clock{t: time.Date(2026, 12, 7, 6, 0, 0, 0, time.UTC)}
	j, dir := journalAt(t, "", key, erasure.Options{Now: c.Now, Writer: "w1"})
	mustAppend(t, j, c, erased("sub-1", c.Now()), erased("sub-2", c.Now()))
	upTo := c.Now()
	mustAppend(t, j, c, erased("sub-3", c.Now()))
	var buf bytes.Buffer
	if err := j.Export(ctx, upTo, &buf); err != nil {
		t.Fatal(err)
	}
	export := buf.Bytes()
	carried, err := j.ReadExport(bytes.NewReader(export))
	if err != nil {
		t.Fatal(err)
	}
	if len(carried) != 2 || carried[1].Subject != "sub-2" {
		t.Fatalf("export holds %v, want sub-1 and sub-2", names(carried))
	}
	if err := j.Contains(ctx, carried); err != nil {
		t.Fatalf("the journal does not contain its own export: %v", err)
	}
	// Another server that trusts the key reads it; one that does not refuses it.
	stranger, _ := journalAt(t, "", newKey(t), erasure.Options{})
	if _, err := stranger.ReadExport(bytes.NewReader(export)); err == nil {
		t.Fatal("an export signed by an untrusted key was read")
	}
	friend, _ := journalAt(t, "", newKey(t), erasure.Options{Trusted: []ed25519.PublicKey{key.Public().(ed25519.PublicKey)}})
	if _, err := friend.ReadExport(bytes.NewReader(export)); err != nil {
		t.Fatalf("a server that trusts the key: %v", err)
	}
	lines := bytes.SplitAfter(export, []byte("\n"))
	for name, broken := range map[string][]byte{
		"truncated":      bytes.Join(lines[:2], nil),
		"an edited byte": bytes.Replace(export, []byte(`sub-2`), []byte(`sub-7`), 1),
		"reordered":      bytes.Join([][]byte{lines[0], lines[2], lines[1]}, nil),
		"not an export":  []byte(`{"format":"zip"}`),
	} {
		if _, err := j.ReadExport(bytes.NewReader(broken)); err == nil {
			t.Errorf("%s export was read", name)
		}
	}
	// The journal lost every entry (a removed newest entry leaves no trace
	// in the journal): the backup's copy names what is missing.
	os.RemoveAll(filepath.Join(dir, "erasures"))
	var ve *erasure.VerifyError
	if err := j.Contains(ctx, carried); !errors.As(err, &ve) || ve.Name != carried[0].Name {
		t.Fatalf("Contains after the loss = %v, want %s named", err, carried[0].Name)
	}
}
