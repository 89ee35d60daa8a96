package httpx

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/steward-dev/steward/internal/errs"
)

// FuzzDecodeBatch checks the streaming decoder of the batch routes (consent
// events, decisions) without a store, fast: it never panics; it refuses
// with an invalid error that names a field whenever the body is well-formed
// JSON; it never returns more than max elements; and what it accepts,
// encoding/json decodes to the same elements.
func FuzzDecodeBatch(f *testing.F) {
	for _, seed := range []string{
		`{"items":[{"id":"a"},{"id":"b","size":2,"at":"2026-11-28T12:00:00Z"}]}`, `{"items":[]}`, `{"items":null}`, `{}`, `null`,
		`{"items":[{},{},{},{}]}`, `{"items":{}}`, `[]`, `{"items":[],"batch":1}`, `{"items":[],"items":[]}`,
		`{"items":[{"colour":"red"}]}`, `{"items":[{"id":1}]}`, `{"items":[{"at":"yesterday"}]}`, `{"items":[{"id":"a",}]}`,
		`{"items":[`, `{"items":[]} {}`, ``, `{"":1}`, `{"items":[{"a\"b":1}]}`, `{"items":[{"size":1e400}]}`, `{"items":[{"ID":"x"}]}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		const max = 3
		got, err := DecodeBatch[item](body, "items", max)
		if err != nil {
			e, ok := errs.As(err)
			if got != nil || !ok || e.Code != errs.CodeInvalid || e.Message == "" {
				t.Fatalf("refusal %#v is not an invalid error", err)
			}
			if json.Valid(body) && len(e.Fields) == 0 {
				t.Fatalf("well-formed JSON %q refused without naming a field: %v", body, err)
			}
			for field, problem := range e.Fields {
				if field == "" || problem == "" {
					t.Fatalf("problem %q of field %q", problem, field)
				}
			}
			return
		}
		if len(got) > max {
			t.Fatalf("%d elements accepted, at most %d", len(got), max)
		}
		var whole struct {
			Items []item `json:"items"`
		}
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&whole); err != nil && !bytes.Equal(bytes.TrimSpace(body), []byte("null")) {
			t.Fatalf("accepted %q, which encoding/json refuses: %v", body, err)
		}
		if len(got) != len(whole.Items) || (len(got) > 0 && !reflect.DeepEqual(got, whole.Items)) {
			t.Fatalf("DecodeBatch gave %+v, encoding/json %+v", got, whole.Items)
		}
	})
}

// FuzzUnmarshal checks the strict decoder of every other JSON body: it
// never panics, refuses with invalid errors, and never decodes a body of
// more than MaxValues elements and members.
func FuzzUnmarshal(f *testing.F) {
	for _, seed := range []string{`{"id":"a","size":1}`, `{"id":"a"} {}`, `{"x":1}`, `[`, `{"at":"2026-11-28T12:00:00.5+01:00"}`, `"s"`, `{"id":"\u0000"}`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var v item
		err := Unmarshal(body, &v)
		if err != nil {
			if e, ok := errs.As(err); !ok || e.Code != errs.CodeInvalid {
				t.Fatalf("refusal %#v is not an invalid error", err)
			}
			return
		}
		if countValues(body, MaxValues) > MaxValues {
			t.Fatalf("decoded a body of more than %d values", MaxValues)
		}
	})
}
