// Package errs defines the error codes shared by every Steward package.
//
// Domain packages return errors that carry a Code; the web layer maps each
// code to an HTTP status in one table. Field errors name the input at fault:
//
//	return errs.Invalid("purpose", "unknown purpose %q", key)
//
// A problem a person reads on a page, in their own language, is said by a
// key of the message catalog (internal/i18n, key "error."+key, in every
// language). A whole error takes its key with Keyed; its Message stays the
// service's English, which the English catalog entry repeats word for word.
// A field problem is keyed in one way only: a validator collects Problems
// and returns FieldsKeyed (or InvalidKeyed for one field). Its English text,
// in Fields for the API, the CLI and the logs, is the English catalog entry
// filled with the problem's arguments, so the words are written once:
//
//	problems := errs.Problems{}
//	problems.Add("name", "too_long", "max", 200) // "must be at most 200 characters"
//	if len(problems) > 0 {
//		return errs.FieldsKeyed(problems)
//	}
//
// Pages say FieldKeys in the reader's language and fall back to Fields only
// for a field without a key.
package errs

import (
	"errors"
	"fmt"
	"maps"
	"sort"
	"strings"

	"github.com/steward-dev/steward/internal/i18n"
)

// Code classifies an error for callers: it decides the HTTP status and the
// CLI exit message, never the wording.
type Code string

// The error codes. Anything else is internal.
const (
	CodeInvalid      Code = "invalid"
	CodeNotFound     Code = "not_found"
	CodeConflict     Code = "conflict"
	CodeUnauthorized Code = "unauthorized"
	CodeForbidden    Code = "forbidden"
	CodeUnavailable  Code = "unavailable"
	CodeInternal     Code = "internal"
)

// Error is an error with a code, a message safe to show to the caller, and
// optionally the fields at fault (field path → problem).
type Error struct {
	Code    Code
	Message string
	Fields  map[string]string
	Err     error // wrapped cause, never shown to callers
	// Key, when set, names the message in the message catalog
	// (internal/i18n, key "error."+Key) and Args fill its placeholders as
	// name, value pairs: pages say it in the reader's language. Message
	// stays the English text, for the API and the CLI.
	Key  string
	Args []any
	// FieldKeys name the catalog messages of the field problems that have
	// one (a subset of Fields, whose texts are their English).
	FieldKeys map[string]Problem
}

// Problem is a field problem as the message catalog says it: Key names the
// message ("error."+Key) and Args fill its placeholders as name, value
// pairs.
type Problem struct {
	Key  string
	Args []any
}

// English is the problem in English: the English catalog entry, filled.
func (p Problem) English() string {
	return i18n.Default().Printer(i18n.English).T("error."+p.Key, p.Args...)
}

// Problems collects the field problems a validator finds, by field path
// ("name.de", "domains[2]").
type Problems map[string]Problem

// Add sets field's problem: the catalog's "error."+key, its placeholders
// filled from args (name, value pairs). A later problem of the same field
// replaces an earlier one.
func (p Problems) Add(field, key string, args ...any) { p[field] = Problem{Key: key, Args: args} }

// Has reports whether field has a problem.
func (p Problems) Has(field string) bool {
	_, ok := p[field]
	return ok
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// New returns an error with code and a formatted message.
func New(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an error with code and message that wraps cause.
func Wrap(code Code, cause error, message string) *Error {
	return &Error{Code: code, Message: message, Err: cause}
}

// Invalid returns an invalid-input error naming one field.
func Invalid(field, format string, args ...any) *Error {
	msg := fmt.Sprintf(format, args...)
	return &Error{Code: CodeInvalid, Message: field + ": " + msg, Fields: map[string]string{field: msg}}
}

// WithCode returns a copy of e with another code: a field problem that
// means "not found", say.
func (e *Error) WithCode(code Code) *Error {
	c := *e
	c.Code = code
	return &c
}

// Keyed returns a copy of e whose message the catalog holds as
// "error."+key, with args as name, value pairs for its placeholders.
func (e *Error) Keyed(key string, args ...any) *Error {
	c := *e
	c.Key, c.Args = key, args
	return &c
}

// InvalidKeyed returns an invalid-input error naming one field, whose
// problem the catalog holds as "error."+key (see Problems.Add).
func InvalidKeyed(field, key string, args ...any) *Error {
	return FieldsKeyed(Problems{field: {Key: key, Args: args}})
}

// FieldsKeyed returns an invalid-input error for several keyed field
// problems at once: Fields and Message hold their English, FieldKeys the
// keys.
func FieldsKeyed(problems Problems) *Error {
	text := make(map[string]string, len(problems))
	for field, p := range problems {
		text[field] = p.English()
	}
	e := Fields(text)
	e.FieldKeys = maps.Clone(problems)
	return e
}

// Fields returns an invalid-input error for several fields at once.
func Fields(problems map[string]string) *Error {
	names := make([]string, 0, len(problems))
	for f := range problems {
		names = append(names, f)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, f := range names {
		parts[i] = f + ": " + problems[f]
	}
	msg := strings.Join(parts, "; ")
	if len(parts) > 1 {
		msg = "invalid input: " + msg
	}
	return &Error{Code: CodeInvalid, Message: msg, Fields: problems}
}

// NotFound returns a not-found error for a kind of thing and its key.
func NotFound(kind, key string) *Error {
	return &Error{Code: CodeNotFound, Message: fmt.Sprintf("%s %q not found", kind, key)}
}

// CodeOf returns the code of err, CodeInternal for errors without one.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// Is reports whether err carries code.
func Is(err error, code Code) bool { return err != nil && CodeOf(err) == code }

// As returns the *Error in err's chain, if any.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}
