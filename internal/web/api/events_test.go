package api

import (
	"bytes"
	"encoding/json"
	"testing"
)

// TestAppendResultsMatchesEncodingJSON: the hand-written ingest answer is
// the same JSON that encoding/json writes, escapes included.
func TestAppendResultsMatchesEncodingJSON(t *testing.T) {
	cases := [][]eventResult{
		{},
		{{ID: "0192f1c2-7a3b-8c4d-9e5f-0a1b2c3d4e5f", Seq: 1, Receipt: "eyJh.eyJi.c2ln"}},
		{{ID: "a", Seq: 9007199254740993, Duplicate: true, Receipt: "x.y.z"}, {ID: "b:c@d+e=f", Seq: 2}},
		{{ID: `quote"back\slash`, Receipt: "tab\tnew\nline"}, {ID: "<&>", Receipt: "ünïcödé \u2028"}},
	}
	for _, results := range cases {
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(struct {
			Results []eventResult `json:"results"`
		}{results}); err != nil {
			t.Fatal(err)
		}
		got := appendResults(nil, results)
		var a, b any
		if err := json.Unmarshal(got, &a); err != nil {
			t.Fatalf("%s: %v", got, err)
		}
		_ = json.Unmarshal(want.Bytes(), &b)
		if gotJSON, wantJSON := mustJSON(t, a), mustJSON(t, b); gotJSON != wantJSON {
			t.Errorf("appendResults = %s, want %s", got, want.Bytes())
		}
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
