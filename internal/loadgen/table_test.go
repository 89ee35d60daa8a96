package loadgen

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestWriteTable(t *testing.T) {
	rows := []Row{
		{
			Name: "decide",
			Result: Result{
				Requests: 123456, Errors: 0, Duration: 10 * time.Second, RequestsPerSecond: 12345.6,
				P50: 812 * time.Microsecond, P90: 1234 * time.Microsecond, P99: 5 * time.Millisecond, Max: 1500 * time.Millisecond,
			},
			Extra: map[string]string{"questions/s": "61728.0"},
		},
		{
			Name: "ingest (batch=100)",
			Result: Result{Requests: 42, Errors: 2, Duration: 2500 * time.Millisecond, RequestsPerSecond: 16, P50: 950 * time.Nanosecond, Max: 2 * time.Second,
				CPU: 4 * time.Millisecond},
			Extra: map[string]string{"events/s": "1600"},
		},
	}
	var buf bytes.Buffer
	if err := WriteTable(&buf, rows); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	t.Logf("\n%s", out)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("got %d lines, want header + 2 rows", len(lines))
	}
	tests := []struct {
		line int
		want []string
	}{
		{0, []string{"name", "requests", "errors", "duration", "req/s", "p50", "p90", "p99", "max", "cpu/req", "events/s", "questions/s"}},
		{1, []string{"decide", "123456", "0", "10.0s", "12345.6", "812µs", "1.23ms", "5.00ms", "1.50s", "-", "-", "61728.0"}},
		{2, []string{"ingest", "(batch=100)", "42", "2", "2.50s", "16.0", "950ns", "0", "0", "2.00s", "100µs", "1600", "-"}},
	}
	for _, tt := range tests {
		if got := strings.Fields(lines[tt.line]); strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("line %d fields = %q, want %q", tt.line, got, tt.want)
		}
	}
	// Aligned: every line has the same width and right-aligned columns end
	// at the same position.
	w := utf8.RuneCountInString(lines[0])
	for i, l := range lines {
		if utf8.RuneCountInString(l) != w {
			t.Errorf("line %d is %d wide, want %d", i, utf8.RuneCountInString(l), w)
		}
	}
	if end := strings.Index(lines[0], "requests") + len("requests"); lines[1][end-len("123456"):end] != "123456" {
		t.Errorf("requests column not right-aligned:\n%s", out)
	}
}

func TestWriteTableEmptyAndWriteError(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteTable(&buf, nil); err != nil {
		t.Fatal(err)
	}
	if got := strings.Fields(buf.String()); len(got) != len(tableColumns) {
		t.Errorf("empty table = %q, want just the header", buf.String())
	}
	if err := WriteTable(failWriter{}, nil); err == nil {
		t.Error("write error not returned")
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }
