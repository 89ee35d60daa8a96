package api

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/steward-dev/steward/internal/consent"
)

// TestDecideAnswerHead: through net/http, an answer declares its length
// whether net/http does it (a short answer, within its 2 KiB buffer) or the
// handler (a batch), is never chunked, and carries its type and no-store;
// Sec-GPC is read whatever its spelling; a pooled request's memory does not
// leak into the next answer.
func TestDecideAnswerHead(t *testing.T) {
	deps, _ := fuzzDeps(t)
	if _, err := deps.Consent.PutPurpose(context.Background(), consent.Purpose{Key: "ads", Names: map[string]string{"en": "Ads"},
		LegalBasis: consent.BasisLegitimateInterest, SaleOrSharing: true, Position: 3}, true); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(deps.HandleDecide())
	defer srv.Close()
	question := `{"device":"dev-1","purpose":"ads","jurisdiction":"US-CA"}`
	for _, c := range []struct {
		name      string
		questions int
		gpc       string
		reason    consent.Reason
		allowed   bool
	}{
		{"one", 1, "", consent.ReasonLegitimateInterest, true},
		{"batch", 100, "", consent.ReasonLegitimateInterest, true},
		{"gpc", 1, "Sec-GPC", consent.ReasonGPCOptOut, false},
		{"one again", 1, "", consent.ReasonLegitimateInterest, true},
		{"gpc lower case", 1, "sec-gpc", consent.ReasonGPCOptOut, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			body := `{"questions":[` + strings.Repeat(question+",", c.questions-1) + question + `]}`
			req, err := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			if c.gpc != "" {
				req.Header[c.gpc] = []string{"1"}
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			raw, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, raw)
			}
			if resp.ContentLength != int64(len(raw)) || resp.Header.Get("Content-Length") != strconv.Itoa(len(raw)) || len(resp.TransferEncoding) > 0 {
				t.Errorf("length %d (header %q, transfer encoding %v) for an answer of %d bytes",
					resp.ContentLength, resp.Header.Get("Content-Length"), resp.TransferEncoding, len(raw))
			}
			if c.questions > 1 && len(raw) <= chunkingThreshold {
				t.Errorf("the batch's answer, %d bytes, does not test a length beyond net/http's buffer", len(raw))
			}
			if ct, cc := resp.Header.Get("Content-Type"), resp.Header.Get("Cache-Control"); ct != "application/json" || cc != "no-store" {
				t.Errorf("Content-Type %q, Cache-Control %q", ct, cc)
			}
			var out struct {
				Answers []consent.Answer `json:"answers"`
			}
			if err := json.Unmarshal(raw, &out); err != nil {
				t.Fatalf("%v: %s", err, raw)
			}
			if len(out.Answers) != c.questions {
				t.Fatalf("%d answers to %d questions", len(out.Answers), c.questions)
			}
			for i, a := range out.Answers {
				if a.Reason != c.reason || a.Allowed != c.allowed {
					t.Fatalf("answer %d = %+v, want %s (allowed %v)", i, a, c.reason, c.allowed)
				}
			}
		})
	}
}
