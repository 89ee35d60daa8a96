package gpp

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/steward-dev/steward/internal/errs"
)

// rep returns n copies of v.
func rep(v, n int) []int {
	l := make([]int, n)
	for i := range l {
		l[i] = v
	}
	return l
}

// cycle returns the first n values of 2, 1, 0, 2, 1, 0, ... (the pattern
// iabgpp-es's tests use for the sensitive data lists).
func cycle(n int) []int {
	l := make([]int, n)
	for i := range l {
		l[i] = []int{2, 1, 0}[i%3]
	}
	return l
}

// checkErr asserts that err is an invalid-input error whose message starts
// with "gpp: ", is one line, contains want, and whose Fields name field.
func checkErr(t *testing.T, err error, field, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("want error on %s containing %q, got nil", field, want)
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "gpp: ") || strings.Contains(msg, "\n") {
		t.Errorf("error %q is not one line starting with \"gpp: \"", msg)
	}
	if !strings.Contains(msg, want) {
		t.Errorf("error %q does not contain %q", msg, want)
	}
	var e *errs.Error
	if !errors.As(err, &e) || e.Code != errs.CodeInvalid {
		t.Fatalf("error %q is not an errs.CodeInvalid error", msg)
	}
	if _, ok := e.Fields[field]; !ok {
		t.Errorf("error %q names fields %v, want %q", msg, e.Fields, field)
	}
}

// withoutRaw returns a deep copy of s whose sections forget their raw text
// where they carry decoded fields, so Encode must write them itself.
func withoutRaw(t testing.TB, s *String) *String {
	t.Helper()
	js, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var c String
	if err := json.Unmarshal(js, &c); err != nil {
		t.Fatal(err)
	}
	for i := range c.Sections {
		if _, n := c.Sections[i].typed(); n > 0 {
			c.Sections[i].Raw = ""
		}
	}
	return &c
}

// sameJSON reports whether a and b have the same JSON form.
func sameJSON(t testing.TB, a, b any) bool {
	t.Helper()
	ja, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	jb, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return string(ja) == string(jb)
}
