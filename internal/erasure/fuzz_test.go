package erasure_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/erasure"
)

// FuzzReadExport checks ReadExport, which reads the journal a backup
// carries, on fuzzed exports: it never panics; a refusal is one line; and
// nothing is accepted but entries the journal's key signed, in order, as
// many as the header announces, each valid.
func FuzzReadExport(f *testing.F) {
	ctx := context.Background()
	// A fixed key and clock make the same export every run, so that the
	// committed corpus keeps its signatures.
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
	c := &clock{t: time.Date(2026, 12, 7, 6, 0, 0, 0, time.UTC)}
	j, _ := journalAt(f, "", key, erasure.Options{Now: c.Now, Writer: "w1"})
	for _, e := range []erasure.Entry{
		erased("sub-1", c.Now()),
		{RequestID: "req-9", At: c.Now(), Source: erasure.SourceRequest, Ledger: &erasure.LedgerErased{Events: 4, Devices: 1},
			Systems: []erasure.SystemErased{{Name: "shop", Kind: "sql", Rows: 3}, {Name: "crm", Kind: "http", Rows: 1}}},
	} {
		c.Advance(time.Second)
		if err := j.Append(ctx, e); err != nil {
			f.Fatal(err)
		}
	}
	c.Advance(time.Second)
	if _, err := j.Mark(ctx, "20261207T060003Z-0001"); err != nil {
		f.Fatal(err)
	}
	c.Advance(time.Second)
	var buf bytes.Buffer
	if err := j.Export(ctx, c.Now(), &buf); err != nil {
		f.Fatal(err)
	}
	export := buf.String()
	signed, err := j.ReadExport(strings.NewReader(export))
	if err != nil || len(signed) != 3 {
		f.Fatalf("the seed export: %d entries, %v", len(signed), err)
	}
	f.Add(export)
	lines := strings.SplitAfter(export, "\n")
	f.Add(lines[0])
	f.Add(lines[0] + lines[2] + lines[1])
	f.Add(strings.Replace(export, `"entries":3`, `"entries":2`, 1))
	f.Add(strings.Replace(export, "sub-1", "sub-2", 1))
	for _, seed := range []string{``, `{}`, `{"format":"steward-erasure-journal/1","entries":0}`, `{"format":"steward-erasure-journal/1"} {"name":"x"}`, `[`} {
		f.Add(seed)
	}

	f.Fuzz(func(t *testing.T, in string) {
		entries, err := j.ReadExport(strings.NewReader(in))
		if err != nil {
			if entries != nil || strings.Contains(err.Error(), "\n") || err.Error() == "" {
				t.Fatalf("refusal with entries %v, or not one line: %q", entries, err)
			}
			return
		}
		names := make([]string, 0, len(entries))
		for _, e := range entries {
			found := slices.ContainsFunc(signed, func(s erasure.Entry) bool { return s.Name == e.Name && s.Hash == e.Hash })
			if !found || e.Writer != "w1" || e.Seq < 1 || e.Key != erasure.KeyID(key.Public().(ed25519.PublicKey)) {
				t.Fatalf("accepted an entry the journal never signed: %+v", e)
			}
			names = append(names, e.Name)
		}
		if !slices.IsSorted(names) || len(slices.Compact(slices.Clone(names))) != len(names) {
			t.Fatalf("accepted entries out of order or twice: %v", names)
		}
	})
}
