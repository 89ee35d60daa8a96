package api

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/web/httpx"
)

var questionBodies = []string{
	`{"questions":[{"device":"bench-1","purpose":"analytics","vendor":"metrics-co","jurisdiction":"DE"}]}`,
	" {\n \"questions\" : [ { \"subject\" : \"s-1\" , \"purpose\":\"marketing\",\"channel\":\"email\",\"property\":\"demo\",\"gpc\":true},{\"device\":\"d\",\"purpose\":\"p\",\"gpc\":false} ] } \r\n",
	`{"questions":[]}`,
	`{"questions":[{}]}`,
	// What the hand-written reader leaves to encoding/json:
	`{"questions":null}`,
	`null`,
	``,
	`{}`,
	`{"questions":[{"Device":"d","purpose":"p"}]}`,
	`{"questions":[{"device":"d\u0041","purpose":"p"}]}`,
	`{"questions":[{"device":"dé","purpose":"p"}]}`,
	"{\"questions\":[{\"device\":\"d\xff\",\"purpose\":\"p\"}]}",
	`{"questions":[{"device":"a","device":"b","purpose":"p"}]}`,
	`{"questions":[{"device":null,"purpose":"p"}]}`,
	`{"questions":[{"device":"d","purpose":"p","extra":1}]}`,
	`{"questions":[{"device":"d","purpose":"p","gpc":"true"}]}`,
	`{"questions":[{"device":"d","purpose":"p","gpc":truex}]}`,
	`{"questions":[{"device":"d","purpose":"p"}],"questions":[]}`,
	`{"questions":[{"device":"d","purpose":"p"}]}{}`,
	`{"questions":[{"device":"d","purpose":"p"},]}`,
	`{"questions":[{"device":"d","purpose":"p"}]`,
	`{"questions":[{"device":"d" "purpose":"p"}]}`,
	`{"questions":[{"device":1,"purpose":"p"}]}`,
	`{"questions":[["device"]]}`,
	`{"other":[]}`,
}

// TestParseQuestionsAgreesWithDecodeBatch: whatever body the hand-written
// reader takes, it reads as encoding/json does; and the route's decoder
// answers every body, taken or not, as DecodeBatch does.
func TestParseQuestionsAgreesWithDecodeBatch(t *testing.T) {
	many := `{"questions":[` + strings.TrimSuffix(strings.Repeat(`{"device":"d","purpose":"p"},`, MaxQuestions+1), ",") + `]}`
	full := `{"questions":[` + strings.TrimSuffix(strings.Repeat(`{"device":"d","purpose":"p"},`, MaxQuestions), ",") + `]}`
	taken := 0
	for i, body := range append(questionBodies, many, full) {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			if agreeOnQuestions(t, []byte(body)) {
				taken++
			}
		})
	}
	if taken != 5 { // the first four and the full batch
		t.Errorf("the hand-written reader took %d bodies, want 5", taken)
	}
}

// agreeOnQuestions checks body and reports whether parseQuestions took it.
func agreeOnQuestions(t *testing.T, body []byte) bool {
	t.Helper()
	want, wantErr := httpx.DecodeBatch[consent.Question](body, "questions", MaxQuestions)
	pooled := make([]consent.Question, 3, 16)
	pooled[0].Subject = "left over from another request"
	got, ok := parseQuestions(body, pooled)
	if ok {
		if wantErr != nil {
			t.Fatalf("%q: the reader took a body encoding/json refuses (%v)", body, wantErr)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: read %+v, encoding/json %+v", body, got, want)
		}
	}
	got, err := decodeQuestions(body, pooled)
	if !reflect.DeepEqual(got, want) || fmt.Sprint(err) != fmt.Sprint(wantErr) {
		t.Fatalf("%q: decodeQuestions = %+v, %v; DecodeBatch = %+v, %v", body, got, err, want, wantErr)
	}
	return ok
}

func FuzzParseQuestions(f *testing.F) {
	for _, body := range questionBodies {
		f.Add([]byte(body))
	}
	f.Fuzz(func(t *testing.T, body []byte) { agreeOnQuestions(t, body) })
}

// BenchmarkDecodeQuestions compares the hand-written reader with
// DecodeBatch for one question and for a batch of 100.
func BenchmarkDecodeQuestions(b *testing.B) {
	one := `{"device":"bench-4711","purpose":"analytics","vendor":"metrics-co","jurisdiction":"DE"}`
	for _, n := range []int{1, 100} {
		body := []byte(`{"questions":[` + strings.TrimSuffix(strings.Repeat(one+",", n), ",") + `]}`)
		b.Run(fmt.Sprintf("hand/%d", n), func(b *testing.B) {
			b.ReportAllocs()
			var into []consent.Question
			for b.Loop() {
				q, err := decodeQuestions(body, into)
				if err != nil || len(q) != n {
					b.Fatal(err)
				}
				into = q
			}
		})
		b.Run(fmt.Sprintf("encoding-json/%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := httpx.DecodeBatch[consent.Question](body, "questions", MaxQuestions); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

var eventBodies = []string{
	`{"events":[{"id":"0192f1c2-7a3b-8c4d-9e5f-0a1b2c3d4e5f","property":"demo","device":"3f0c2a4e-1d7b-4c55-9a0e-6b1f2d3c4e5f","purpose":"analytics","action":"grant","source":"banner","notice_version":"2026-11"}]}`,
	`{"events":[{"id":"e1","property":"demo","subject":"s","purpose":"ads","vendor":"v","action":"deny","source":"api","notice_version":"1","jurisdiction":"DE","gpc":true,"dnt":false,"tc_string":"CP","gpp_string":"DBA"},{"id":"e2"}]}`,
	`{"events":[]}`,
	`{"events":[{"id":"e3","property":"demo","subject":"s","purpose":"newsletter","channel":"sms","action":"withdraw","source":"preferences","notice_version":"1"}]}`,
	// Left to encoding/json:
	`{"events":[{"id":"e1","at":"2026-11-28T12:00:00Z"}]}`,
	`{"events":[{"id":"e1","at":"yesterday"}]}`,
	`{"events":[{"id":"e1","ID":"e2"}]}`,
	`{"events":[{"id":"e\"1"}]}`,
	`{"events":[{"id":"e1","gpc":1}]}`,
	`{"events":[{"id":"e1","unknown":"x"}]}`,
	`{"questions":[]}`,
}

// TestDecodeEventsAgreesWithDecodeBatch is TestParseQuestionsAgreesWithDecodeBatch
// for the events route.
func TestDecodeEventsAgreesWithDecodeBatch(t *testing.T) {
	many := `{"events":[` + strings.TrimSuffix(strings.Repeat(`{"id":"e"},`, consent.MaxBatch+1), ",") + `]}`
	taken := 0
	for i, body := range append(eventBodies, many) {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			want, wantErr := httpx.DecodeBatch[eventInput]([]byte(body), "events", consent.MaxBatch)
			if got, ok := readPlainBatch([]byte(body), "events", consent.MaxBatch, nil, setEventField); ok {
				taken++
				if wantErr != nil || !reflect.DeepEqual(got, want) {
					t.Fatalf("%q: read %+v; encoding/json %+v, %v", body, got, want, wantErr)
				}
			}
			got, err := decodeEvents([]byte(body))
			if !reflect.DeepEqual(got, want) || fmt.Sprint(err) != fmt.Sprint(wantErr) {
				t.Fatalf("%q: decodeEvents = %+v, %v; DecodeBatch = %+v, %v", body, got, err, want, wantErr)
			}
		})
	}
	if taken != 4 {
		t.Errorf("the hand-written reader took %d bodies, want 4", taken)
	}
}
