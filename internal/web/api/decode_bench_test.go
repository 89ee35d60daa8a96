package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/web/httpx"
)

// BenchmarkDecodeEvents compares the streaming decoder of the events route
// with decoding the whole body at once (as before, without its bound), for the banner's one
// event and for a full batch.
func BenchmarkDecodeEvents(b *testing.B) {
	one := `{"id":"0192f1c2-7a3b-8c4d-9e5f-0a1b2c3d4e5f","property":"demo","device":"3f0c2a4e-1d7b-4c55-9a0e-6b1f2d3c4e5f",` +
		`"purpose":"analytics","action":"grant","source":"banner","notice_version":"2026-11","jurisdiction":"DE","gpc":false,"dnt":false}`
	for _, n := range []int{1, 1000} {
		body := []byte(`{"events":[` + strings.TrimSuffix(strings.Repeat(one+",", n), ",") + `]}`)
		b.Run(fmt.Sprintf("hand/%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := decodeEvents(body); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("stream/%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := httpx.DecodeBatch[eventInput](body, "events", consent.MaxBatch); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("whole/%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var in struct {
					Events []eventInput `json:"events"`
				}
				dec := json.NewDecoder(bytes.NewReader(body)) // as httpx.Unmarshal did
				dec.DisallowUnknownFields()
				if err := dec.Decode(&in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
