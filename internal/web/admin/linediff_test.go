package admin

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// render writes a diff as "+line", "-line", " line" and "…N" for a gap.
func renderDiff(d []diffLine) string {
	var b strings.Builder
	for _, l := range d {
		switch l.Op {
		case diffAdded:
			b.WriteString("+")
		case diffRemoved:
			b.WriteString("-")
		case diffGap:
			b.WriteString("…")
		default:
			b.WriteString(" ")
		}
		b.WriteString(l.Text + "\n")
	}
	return b.String()
}

func TestLineDiff(t *testing.T) {
	for _, tc := range []struct {
		name, before, after, want string
	}{
		{"same", "a\nb\n", "a\nb", " a\n b\n"},
		{"nothing before", "", "a\nb", "+a\n+b\n"},
		{"all removed", "a\nb", "", "-a\n-b\n"},
		{"one line changed", "a\nb\nc", "a\nB\nc", " a\n-b\n+B\n c\n"},
		{"line inserted", "a\nc", "a\nb\nc", " a\n+b\n c\n"},
		{"line removed", "a\nb\nc", "a\nc", " a\n-b\n c\n"},
		{"moved line", "x\na\nb\nc\ny", "x\nb\nc\na\ny", " x\n-a\n b\n c\n+a\n y\n"},
		{"CRLF is a line break", "a\r\nb", "a\nb", " a\n b\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := renderDiff(lineDiff(tc.before, tc.after)); got != tc.want {
				t.Errorf("lineDiff(%q, %q) =\n%s\nwant\n%s", tc.before, tc.after, got, tc.want)
			}
		})
	}
}

// TestLineDiffIsShortest: on random texts over a small alphabet (many
// equal lines, many ties), the kept and removed lines rebuild the old text,
// the kept and added lines the new one, and the number of lines removed or
// added is the fewest possible (n+m-2·LCS, by the textbook table).
func TestLineDiffIsShortest(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	random := func() []string {
		out := make([]string, rng.IntN(12))
		for i := range out {
			out[i] = string(rune('a' + rng.IntN(3)))
		}
		return out
	}
	for i := range 2000 {
		a, b := random(), random()
		d := lineDiff(strings.Join(a, "\n"), strings.Join(b, "\n"))
		var gotA, gotB []string
		edits := 0
		for _, l := range d {
			if l.Op != diffAdded {
				gotA = append(gotA, l.Text)
			}
			if l.Op != diffRemoved {
				gotB = append(gotB, l.Text)
			}
			if l.Op != diffSame {
				edits++
			}
		}
		if !slices.Equal(gotA, a) || !slices.Equal(gotB, b) {
			t.Fatalf("case %d: %q → %q gave %+v", i, a, b, d)
		}
		if want := len(a) + len(b) - 2*lcsLength(a, b); edits != want {
			t.Fatalf("case %d: %q → %q: %d edits, want %d", i, a, b, edits, want)
		}
	}
}

func lcsLength(a, b []string) int {
	table := make([][]int, len(a)+1)
	for i := range table {
		table[i] = make([]int, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				table[i][j] = table[i+1][j+1] + 1
			} else {
				table[i][j] = max(table[i+1][j], table[i][j+1])
			}
		}
	}
	return table[0][0]
}

// TestLineDiffTooLarge: past the table's bound the diff is still correct
// (every old line removed, every new one added), only coarser.
func TestLineDiffTooLarge(t *testing.T) {
	var before, after []string
	for i := range 3000 {
		before, after = append(before, fmt.Sprintf("old %d", i)), append(after, fmt.Sprintf("new %d", i))
	}
	d := lineDiff("keep\n"+strings.Join(before, "\n"), "keep\n"+strings.Join(after, "\n"))
	if len(d) != 6001 || d[0].Op != diffSame || d[1].Op != diffRemoved || d[3001].Op != diffAdded {
		t.Fatalf("got %d lines, first %+v", len(d), d[:2])
	}
}

func TestCollapse(t *testing.T) {
	var lines []string
	for i := range 20 {
		lines = append(lines, fmt.Sprint(i))
	}
	after := strings.Replace(strings.Join(lines, "\n"), "\n10\n", "\nten\n", 1)
	got := renderDiff(collapse(lineDiff(strings.Join(lines, "\n"), after), 2))
	want := "…8\n 8\n 9\n-10\n+ten\n 11\n 12\n…7\n"
	if got != want {
		t.Errorf("collapse =\n%s\nwant\n%s", got, want)
	}
	if !changed(lineDiff("a", "b")) || changed(lineDiff("a", "a")) {
		t.Error("changed is wrong")
	}
}

// BenchmarkLineDiff diffs a notice of 2,000 lines of 80 characters with 20
// lines changed along it.
func BenchmarkLineDiff(b *testing.B) {
	var before, after []string
	for i := range 2000 {
		l := fmt.Sprintf("%04d %s", i, strings.Repeat("x", 75))
		before = append(before, l)
		if i%100 == 50 {
			l = "changed " + l
		}
		after = append(after, l)
	}
	old, draft := strings.Join(before, "\n"), strings.Join(after, "\n")
	b.ReportAllocs()
	for b.Loop() {
		lineDiff(old, draft)
	}
}

// BenchmarkLineDiffRewrite diffs two notices of 2,000 lines that share
// none: the search gives up at its bound and says all removed, all added.
func BenchmarkLineDiffRewrite(b *testing.B) {
	var before, after []string
	for i := range 2000 {
		before, after = append(before, fmt.Sprintf("old %04d", i)), append(after, fmt.Sprintf("new %04d", i))
	}
	old, draft := strings.Join(before, "\n"), strings.Join(after, "\n")
	b.ReportAllocs()
	for b.Loop() {
		lineDiff(old, draft)
	}
}
