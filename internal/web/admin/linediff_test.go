package admin

import (
	"fmt"
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
