// Package httpx is Steward's HTTP edge: one codec (decode validates,
// encode writes), RFC 9457 problem details naming the fields at fault, and
// the one table that maps error codes to HTTP statuses.
//
//	in, err := httpx.Decode[createPurpose](w, r, 1<<20)
//	if err != nil { httpx.Error(w, r, log, err); return }
//	httpx.Encode(w, http.StatusCreated, out)
package httpx

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/steward-dev/steward/internal/errs"
)

// Validator is implemented by request types that check themselves after
// decoding; it returns problems by field.
type Validator interface {
	Valid(ctx context.Context) map[string]string
}

// Decode reads a JSON body of at most limit bytes into a T, refusing
// unknown fields, trailing data and wrong types, then runs Valid when T has it.
func Decode[T any](w http.ResponseWriter, r *http.Request, limit int64) (T, error) {
	var v T
	body, err := ReadBody(w, r, limit)
	if err != nil {
		return v, err
	}
	if err := Unmarshal(body, &v); err != nil {
		return v, err
	}
	if val, ok := any(&v).(Validator); ok {
		if problems := val.Valid(r.Context()); len(problems) > 0 {
			return v, errs.Fields(problems)
		}
	}
	return v, nil
}

// ReadBody reads a request body of at most limit bytes labelled as JSON.
func ReadBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	return ReadBodyInto(w, r, limit, nil)
}

// ReadBodyInto is ReadBody reading into buf[:0], grown as needed: a hot
// route reads into a pooled buffer. The body is buf's storage when it fits.
func ReadBodyInto(w http.ResponseWriter, r *http.Request, limit int64, buf []byte) ([]byte, error) {
	// "application/json", what clients send, needs no parsing (which
	// allocates the parameters' map).
	if ct := r.Header.Get("Content-Type"); ct != "" && ct != "application/json" {
		mt, _, err := mime.ParseMediaType(ct)
		// text/plain is what navigator.sendBeacon can send without a CORS
		// preflight; x-www-form-urlencoded is curl's default for -d. The body is
		// parsed as JSON whatever the label.
		if err != nil || (mt != "application/json" && mt != "text/plain" && mt != "application/x-www-form-urlencoded" &&
			!strings.HasSuffix(mt, "+json")) {
			return nil, errs.New(errs.CodeInvalid, "the body must be JSON (Content-Type: application/json)")
		}
	}
	if r.ContentLength > limit {
		// Declared too large: refused before a byte is read.
		return nil, &errs.Error{Code: errs.CodeInvalid, Message: fmt.Sprintf("the body is larger than %d bytes", limit), Err: errTooLarge}
	}
	if r.ContentLength > 0 && int64(cap(buf)) < r.ContentLength+1 {
		buf = make([]byte, 0, r.ContentLength+1) // +1 to see the end without growing
	}
	// A body of unknown length (chunked) goes through MaxBytesReader, which
	// also has the server close the connection once the limit is passed;
	// a declared length is what net/http's reader yields at most, and
	// readAll stops past limit all the same, without MaxBytesReader's
	// allocation on every request of the hot routes.
	var src io.Reader = r.Body
	if r.ContentLength < 0 {
		src = http.MaxBytesReader(w, r.Body, limit)
	}
	body, err := readAll(src, buf[:0], limit)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) || errors.Is(err, errTooLarge) {
			return nil, &errs.Error{Code: errs.CodeInvalid, Message: fmt.Sprintf("the body is larger than %d bytes", limit), Err: errTooLarge}
		}
		return nil, errs.Wrap(errs.CodeInvalid, err, "could not read the body")
	}
	return body, nil
}

// readAll is io.ReadAll appending to b, refusing (errTooLarge) once more
// than limit bytes were read.
func readAll(r io.Reader, b []byte, limit int64) ([]byte, error) {
	if cap(b) == 0 {
		b = make([]byte, 0, 512)
	}
	for {
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if int64(len(b)) > limit {
			return nil, errTooLarge
		}
		if err != nil {
			if err == io.EOF {
				err = nil
			}
			return b, err
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)] // grow
		}
	}
}

// DecodeBatch decodes body, a JSON object whose one field is the array
// named field, element by element into a slice of at most max elements. It
// refuses the batch when it meets element max+1, before decoding it: the
// memory a body takes decoded is bounded by max, however many tiny elements
// ("{},{},...") the body limit lets in. Problems name the element at fault:
// "events[3].at". A null body, or a missing or null array, gives an empty
// slice.
func DecodeBatch[T any](body []byte, field string, max int) ([]T, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	tok, err := dec.Token()
	if err != nil {
		return nil, jsonProblem(err)
	}
	if tok == nil {
		return nil, endOfBody(dec)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, errs.Invalid("body", "must be an object")
	}
	var items []T
	seen := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, jsonProblem(err)
		}
		if name, _ := tok.(string); name != field {
			return nil, unknownField(name)
		}
		if seen {
			return nil, errs.Invalid(field, "given twice")
		}
		seen = true
		if items, err = decodeElements[T](dec, field, max); err != nil {
			return nil, err
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, jsonProblem(err)
	}
	return items, endOfBody(dec)
}

// endOfBody refuses anything after the body's JSON value.
func endOfBody(dec *json.Decoder) error {
	if _, err := dec.Token(); err != io.EOF {
		return errs.New(errs.CodeInvalid, "the body holds more than one JSON value")
	}
	return nil
}

// decodeElements decodes the array (or null) that comes next in dec.
func decodeElements[T any](dec *json.Decoder, field string, max int) ([]T, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, jsonProblem(err)
	}
	if tok == nil {
		return nil, nil
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return nil, errs.Invalid(field, "must be an array")
	}
	var items []T
	for i := 0; dec.More(); i++ {
		if i == max {
			return nil, errs.Invalid(field, "at most %d %s per request", max, field)
		}
		items = append(items, *new(T))
		if err := dec.Decode(&items[i]); err != nil {
			return nil, inElement(jsonProblem(err), fmt.Sprintf("%s[%d]", field, i))
		}
	}
	if _, err := dec.Token(); err != nil { // the closing bracket
		return nil, jsonProblem(err)
	}
	return items, nil
}

// inElement names the problems of err, an error decoding one element, by
// the element's path.
func inElement(err error, path string) error {
	e, ok := errs.As(err)
	if !ok || len(e.Fields) == 0 {
		message := err.Error()
		if ok {
			message = e.Message
		}
		return errs.Invalid(path, "%s", strings.TrimPrefix(message, "malformed JSON: "))
	}
	problems := map[string]string{}
	for f, p := range e.Fields {
		problems[path+"."+f] = p
	}
	return errs.Fields(problems)
}

// Time is a time.Time that refuses, naming itself, anything but an RFC 3339
// string.
type Time struct{ time.Time }

// UnmarshalJSON implements json.Unmarshaler.
func (t *Time) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return errTime
	}
	parsed, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return errTime
	}
	t.Time = parsed
	return nil
}

var errTime = errors.New("must be an RFC 3339 time such as 2026-11-28T12:00:00Z")

var errTooLarge = errors.New("request body too large")

// ErrMethodNotAllowed, wrapped in an error, makes it a 405.
var ErrMethodNotAllowed = errors.New("method not allowed")

// ErrTooManyRequests, wrapped in an error, makes it a 429 (a rate limit
// such as the reveal limit), with Retry-After.
var ErrTooManyRequests = errors.New("too many requests")

// MaxValues bounds the array elements and object members of a body that
// Unmarshal decodes. Decoding can take far more memory than the body (each
// "{}," of three bytes a whole struct, each short map entry a map slot), so
// the bound on decoded memory is this count, not the body limit; no request
// of the API comes near it. Batches of many small elements use DecodeBatch.
const MaxValues = 10000

// Unmarshal decodes JSON strictly into v with errors that name the field.
func Unmarshal(body []byte, v any) error {
	if countValues(body, MaxValues) > MaxValues {
		return errs.New(errs.CodeInvalid, "the body holds more than %d array elements and object members", MaxValues)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonProblem(err)
	}
	if dec.More() {
		return errs.New(errs.CodeInvalid, "the body holds more than one JSON value")
	}
	return nil
}

func jsonProblem(err error) error {
	var syntax *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.Is(err, errTime):
		// encoding/json gives no field for an Unmarshaler's error; "at" is
		// the one time field of the API's inputs.
		return errs.Invalid("at", "%s", errTime.Error())
	case errors.Is(err, io.EOF):
		return errs.New(errs.CodeInvalid, "the body is empty; send a JSON object")
	case errors.As(err, &syntax):
		return errs.New(errs.CodeInvalid, "malformed JSON at byte %d", syntax.Offset)
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			field = "body"
		}
		return errs.Invalid(field, "must be %s, not %s", jsonType(typeErr.Type.Kind().String()), typeErr.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		quoted := strings.TrimPrefix(err.Error(), "json: unknown field ")
		name, uerr := strconv.Unquote(quoted)
		if uerr != nil {
			name = strings.Trim(quoted, `"`)
		}
		return unknownField(name)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errs.New(errs.CodeInvalid, "malformed JSON: the body ends too early")
	default:
		return errs.Wrap(errs.CodeInvalid, err, "malformed JSON")
	}
}

// unknownField names an unknown member of a body. A member named "" is
// named as JSON spells it, so that the problem still names a field.
func unknownField(name string) error {
	if name == "" {
		name = `""`
	}
	return errs.Invalid(name, "unknown field")
}

func jsonType(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "slice", "array":
		return "an array"
	case "map", "struct":
		return "an object"
	default:
		return "a number"
	}
}

// Encode writes v as JSON with status.
func Encode(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		http.Error(w, `{"title":"internal error"}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// Problem is an RFC 9457 problem details document.
type Problem struct {
	Type   string         `json:"type"`
	Title  string         `json:"title"`
	Status int            `json:"status"`
	Detail string         `json:"detail,omitempty"`
	Code   errs.Code      `json:"code"`
	Errors []FieldProblem `json:"errors,omitempty"`
}

// FieldProblem names one field at fault.
type FieldProblem struct {
	Field  string `json:"field"`
	Detail string `json:"detail"`
}

// statusOf is the one table from error codes to HTTP statuses.
var statusOf = map[errs.Code]int{
	errs.CodeInvalid:      http.StatusBadRequest,
	errs.CodeNotFound:     http.StatusNotFound,
	errs.CodeConflict:     http.StatusConflict,
	errs.CodeUnauthorized: http.StatusUnauthorized,
	errs.CodeForbidden:    http.StatusForbidden,
	errs.CodeUnavailable:  http.StatusServiceUnavailable,
	errs.CodeInternal:     http.StatusInternalServerError,
}

// Status returns the HTTP status for err.
func Status(err error) int {
	if errors.Is(err, errTooLarge) {
		return http.StatusRequestEntityTooLarge
	}
	if errors.Is(err, ErrMethodNotAllowed) {
		return http.StatusMethodNotAllowed
	}
	if errors.Is(err, ErrTooManyRequests) {
		return http.StatusTooManyRequests
	}
	if errors.Is(err, context.Canceled) {
		return 499 // the client went away; nobody reads the answer
	}
	return statusOf[errs.CodeOf(err)]
}

// Error writes err as problem+json. Internal errors are logged (without
// request data) and answered with a generic message.
func Error(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	status := Status(err)
	p := Problem{Type: "about:blank", Status: status, Title: http.StatusText(status), Code: errs.CodeOf(err)}
	if e, ok := errs.As(err); ok && e.Code != errs.CodeInternal {
		p.Detail = e.Message
		fields := make([]string, 0, len(e.Fields))
		for f := range e.Fields {
			fields = append(fields, f)
		}
		sort.Strings(fields)
		for _, f := range fields {
			p.Errors = append(p.Errors, FieldProblem{Field: f, Detail: e.Fields[f]})
		}
	} else {
		p.Code = errs.CodeInternal
		p.Detail = "an internal error occurred; it has been logged"
		if log != nil {
			log.Error("request failed", "route", r.Pattern, "method", r.Method, "err", err)
		}
	}
	if status == 499 {
		return
	}
	switch status {
	case http.StatusServiceUnavailable:
		w.Header().Set("Retry-After", "5")
	case http.StatusTooManyRequests:
		w.Header().Set("Retry-After", "60")
	case http.StatusUnauthorized:
		w.Header().Set("WWW-Authenticate", `Bearer realm="steward"`)
	}
	body, _ := json.Marshal(p)
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// countValues counts the array elements and object members of JSON text,
// stopping once the count passes max. It only looks for the structure
// (brackets, braces, commas outside strings); malformed text is left to the
// decoder to refuse.
func countValues(body []byte, max int) int {
	n := 0
	inString, escaped, open := false, false, false
	for _, c := range body {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			continue
		}
		// The first value of a container counts when it starts, each further
		// one at its comma.
		if open && c != ']' && c != '}' {
			n++
		}
		open = false
		switch c {
		case '"':
			inString = true
		case '[', '{':
			open = true
		case ',':
			n++
		}
		if n > max {
			return n
		}
	}
	return n
}
