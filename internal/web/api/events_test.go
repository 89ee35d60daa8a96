package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
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

// TestAppendEventsRefusesTinyEventsUndecoded replays the memory attack of
// issue 11 at the handler: a 2 MiB body of ~700,000 empty events took
// +365 MiB to decode before the 1,000-event check. It is now refused at
// the 1,001st event, before the consent core is asked anything (Deps has
// none here), within a few MiB.
func TestAppendEventsRefusesTinyEventsUndecoded(t *testing.T) {
	body := `{"events":[` + strings.Repeat(`{},`, 699000) + `{}]}`
	if len(body) > batchMax {
		t.Fatalf("body of %d bytes exceeds the limit", len(body))
	}
	h := (&Deps{}).HandleAppendEvents()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1/consent/events", strings.NewReader(body)))
	runtime.ReadMemStats(&after)
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), `"field":"events"`) {
		t.Fatalf("answer %d %s, want 400 naming events", rec.Code, rec.Body)
	}
	// The body itself (2 MiB, read once) plus at most 1,000 decoded events.
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 12<<20 {
		t.Fatalf("one request allocated %d MiB", grew>>20)
	}
}
