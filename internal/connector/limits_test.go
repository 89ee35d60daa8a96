package connector_test

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/steward-dev/steward/internal/connector"
	"github.com/steward-dev/steward/internal/connector/httpsystem"
	"github.com/steward-dev/steward/internal/errs"
)

// TestDatasetLimits replays dataset files built to exhaust the parser's
// memory: deep nesting (block, sequence and flow) and an alias bomb. Each
// is refused before the YAML parser reads it, with the file and the limit
// named, allocating little more than the file itself.
func TestDatasetLimits(t *testing.T) {
	var block strings.Builder
	for i := 0; block.Len() < 200<<10; i++ {
		block.WriteString(strings.Repeat(" ", i%400) + "k:\n")
	}
	bomb := "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
	for i, prev := 'b', 'a'; i <= 'i'; i, prev = i+1, i {
		bomb += string(i) + ": &" + string(i) + " [" + strings.TrimSuffix(strings.Repeat("*"+string(prev)+",", 9), ",") + "]\n"
	}
	cases := []struct {
		name, text, want string
	}{
		{"flow nesting", "connector: shop\ntables: " + strings.Repeat("[", 100_000) + strings.Repeat("]", 100_000) + "\n", "nested deeper than 32"},
		{"flow maps", "connector: shop\ntables: " + strings.Repeat("{a: ", 50_000) + strings.Repeat("}", 50_000) + "\n", "nested deeper than 32"},
		{"sequence dashes", "connector: shop\ntables:\n" + strings.Repeat("- ", 100_000) + "x\n", "nested deeper than 32"},
		{"block indentation", block.String(), "nested deeper than 32"},
		{"alias bomb", bomb, "anchors and aliases"},
		{"a merge key", "base: &base {name: t}\ntables:\n  - <<: *base\n", "anchors and aliases"},
		// A quote in a block scalar's text is no quote: it must not hide
		// the nesting that follows from the scan.
		{"nesting after a block scalar with a quote", "legal_reason: |\n  \"unclosed\n  it's [text\ntables: " +
			strings.Repeat("[", 1000) + strings.Repeat("]", 1000) + "\n", "nested deeper than 32"},
		{"tagged flow nesting", "tables: " + strings.Repeat("!!seq [", 1000) + strings.Repeat("]", 1000) + "\n", "tags"},
		{"a quote that runs on", "legal_reason: \"two\n  lines\"\n", "must end on its line"},
		// A plain text's next line may start with a quote or a bracket
		// that is text to a parser: the scan must not hide what follows.
		{"a plain text's next line opens a quote", "legal_reason: kept\n  \"for years\ntables:\n" + block.String(), "must end on its line"},
		{"a plain text's next line opens a bracket", "legal_reason: kept\n  [for years\ntables:\n" + block.String(), "nested deeper than 32"},
		{"an alias after a block scalar", "legal_reason: >-\n  'text\nconnector: *a\n", "anchors and aliases"},
		{"too large", "connector: shop\n# " + strings.Repeat("x", connector.MaxDatasetBytes) + "\n", "larger than 1048576 bytes"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			data := []byte(c.text)
			for _, parse := range []struct {
				name string
				fn   func() error
			}{
				{"connector.Parse", func() error { _, err := connector.Parse("evil.yaml", data); return err }},
				{"httpsystem.Parse", func() error { _, err := httpsystem.Parse("evil.yaml", data); return err }},
				{"httpsystem.IsHTTP", func() error {
					if httpsystem.IsHTTP(data) {
						t.Error("IsHTTP took the file")
					}
					return errs.New(errs.CodeInvalid, "evil.yaml: %s", c.want)
				}},
			} {
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				err := parse.fn()
				runtime.ReadMemStats(&after)
				if !errs.Is(err, errs.CodeInvalid) || !strings.Contains(err.Error(), "evil.yaml") || !strings.Contains(err.Error(), c.want) {
					t.Fatalf("%s = %v, want invalid naming the file and %q", parse.name, err, c.want)
				}
				alloc := after.TotalAlloc - before.TotalAlloc
				if alloc > 1<<20 {
					t.Fatalf("%s allocated %d bytes for a file of %d", parse.name, alloc, len(data))
				}
				t.Logf("%s: refused a file of %d bytes, allocating %d", parse.name, len(data), alloc)
			}
		})
	}
	t.Run("ReadFile stops at the limit", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "huge.yaml")
		if err := os.WriteFile(path, []byte("connector: shop\n#"+strings.Repeat("x", 32*connector.MaxDatasetBytes)), 0o600); err != nil {
			t.Fatal(err)
		}
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		_, err := connector.ParseFile(path)
		runtime.ReadMemStats(&after)
		if !errs.Is(err, errs.CodeInvalid) || !strings.Contains(err.Error(), "huge.yaml") {
			t.Fatalf("ParseFile = %v", err)
		}
		// A file read whole would cost at least its 32 MiB; reading up to the
		// limit costs a few times the limit (buffer growth; more under -race,
		// and TotalAlloc counts the process's other goroutines too).
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8*connector.MaxDatasetBytes {
			t.Fatalf("ParseFile allocated %d bytes for a file of %d", alloc, 32*connector.MaxDatasetBytes)
		}
	})
	t.Run("real files pass", func(t *testing.T) {
		for _, text := range []string{
			"tables:\n  - name: t\n    columns: [{name: a, erase: \"null\"}]\n    legal_reason: we don't keep *anything*; see & and ' here\n",
			"a: 'it''s [not] {nested}'\nb: \"say \\\"[[[[\\\"\"\nc: x # [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\n",
			"legal_reason: |\n  *emphasis* & [notes] {x} 'quote\n    \"more\n\n  - [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\nconnector: shop\n",
		} {
			if err := connector.CheckLimits("ok.yaml", []byte(text)); err != nil {
				t.Errorf("CheckLimits(%q) = %v", text, err)
			}
		}
		if _, err := connector.ParseFile("testdata/shop.yaml"); err != nil {
			t.Fatal(err)
		}
	})
}
