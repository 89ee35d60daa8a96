package httpx

import (
	"runtime"
	"strings"
	"testing"

	"github.com/steward-dev/steward/internal/errs"
)

type item struct {
	ID   string `json:"id"`
	At   *Time  `json:"at"`
	Size int    `json:"size"`
}

func TestDecodeBatch(t *testing.T) {
	cases := []struct {
		name  string
		body  string
		n     int
		field string // the field a problem names; "" when accepted, "-" for a problem without fields
	}{
		{"two", `{"items":[{"id":"a"},{"id":"b","size":2}]}`, 2, ""},
		{"empty", `{"items":[]}`, 0, ""},
		{"null array", `{"items":null}`, 0, ""},
		{"missing array", `{}`, 0, ""},
		{"null body", `null`, 0, ""},
		{"at the limit", `{"items":[{},{},{}]}`, 3, ""},
		{"over the limit", `{"items":[{},{},{},{}]}`, 0, "items"},
		{"not an array", `{"items":{}}`, 0, "items"},
		{"not an object", `[]`, 0, "body"},
		{"unknown top-level field", `{"items":[],"batch":1}`, 0, "batch"},
		{"array twice", `{"items":[],"items":[]}`, 0, "items"},
		{"unknown element field", `{"items":[{"id":"a"},{"colour":"red"}]}`, 0, "items[1].colour"},
		{"wrong type", `{"items":[{"id":1}]}`, 0, "items[0].id"},
		{"bad time", `{"items":[{"at":"yesterday"}]}`, 0, "items[0].at"},
		{"malformed element", `{"items":[{"id":"a",}]}`, 0, "items[0]"},
		{"truncated", `{"items":[`, 0, "-"},
		{"trailing value", `{"items":[]} {}`, 0, "-"},
		{"empty body", ``, 0, "-"},
		// Found by FuzzAppendEvents: an empty member name gave a problem
		// naming the field "".
		{"empty top-level name", `{"":1}`, 0, `""`},
		{"empty top-level name, truncated", `{""`, 0, `""`},
		{"empty element name", `{"items":[{"":1}]}`, 0, `items[0].""`},
		{"quoted element name", `{"items":[{"a\"b":1}]}`, 0, `items[0].a"b`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := DecodeBatch[item]([]byte(c.body), "items", 3)
			switch c.field {
			case "":
				if err != nil || len(got) != c.n {
					t.Fatalf("got %d items, %v; want %d", len(got), err, c.n)
				}
			case "-":
				if !errs.Is(err, errs.CodeInvalid) {
					t.Fatalf("error %v, want invalid", err)
				}
			default:
				e, ok := errs.As(err)
				if !ok || e.Code != errs.CodeInvalid || e.Fields[c.field] == "" {
					t.Fatalf("error %+v does not name %s", err, c.field)
				}
			}
		})
	}
}

// TestDecodeBatchStopsAtLimit replays the memory attack of issue 11: a
// 2 MiB body of ~700,000 empty events was decoded whole (+365 MiB) before
// the 1,000-event check. Decoding now stops at element 1,001.
func TestDecodeBatchStopsAtLimit(t *testing.T) {
	body := []byte(`{"events":[` + strings.Repeat(`{},`, 700000) + `{}]}`)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := DecodeBatch[item](body, "events", 1000)
	runtime.ReadMemStats(&after)
	if e, ok := errs.As(err); !ok || e.Fields["events"] == "" {
		t.Fatalf("error %v does not name events", err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 4<<20 {
		t.Fatalf("decoding allocated %d bytes; want at most 4 MiB for 1,000 elements", grew)
	}
}

// TestUnmarshalBoundsValues: a body of many tiny values is refused before
// it is decoded, whatever the body limit let in.
func TestUnmarshalBoundsValues(t *testing.T) {
	type wide struct {
		Items []item          `json:"items"`
		Names map[string]bool `json:"names"`
	}
	many := `{"items":[` + strings.Repeat(`{},`, MaxValues) + `{}]}`
	var v wide
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	err := Unmarshal([]byte(many), &v)
	runtime.ReadMemStats(&after)
	if !errs.Is(err, errs.CodeInvalid) || len(v.Items) != 0 {
		t.Fatalf("error %v, %d items decoded; want a refusal before decoding", err, len(v.Items))
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
		t.Fatalf("refusing allocated %d bytes", grew)
	}
	manyKeys := `{"names":{` + strings.Repeat(`"a":true,`, MaxValues) + `"b":true}}`
	if err := Unmarshal([]byte(manyKeys), &v); !errs.Is(err, errs.CodeInvalid) {
		t.Fatalf("a map of %d entries: %v, want refused", MaxValues+1, err)
	}
	// Commas, brackets and braces inside strings are not structure.
	ok := `{"items":[{"id":"[,,{\"\\,"}],"names":{"x,y":true}}`
	if err := Unmarshal([]byte(ok), &v); err != nil || v.Items[0].ID != `[,,{"\,` {
		t.Fatalf("Unmarshal(%s) = %v, %+v", ok, err, v)
	}
	for body, want := range map[string]int{`{}`: 0, `[]`: 0, `[1]`: 1, `[1,2,[3,4]]`: 5, `{"a":[],"b":{"c":1}}`: 3, ` [ 1 , 2 ] `: 2, `"[1,2]"`: 0} {
		if got := countValues([]byte(body), 100); got != want {
			t.Errorf("countValues(%s) = %d, want %d", body, got, want)
		}
	}
}
