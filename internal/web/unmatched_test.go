package web_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/steward-dev/steward/internal/app/apptest"
	"github.com/steward-dev/steward/internal/db"
)

// TestUnmatchedRoutesAnswerProblems: paths no route serves get a
// problem+json 404, and known paths with another method a 405 with Allow,
// both with the security headers.
func TestUnmatchedRoutesAnswerProblems(t *testing.T) {
	srv := apptest.Start(t, db.SQLite)
	cases := []struct {
		method, path string
		status       int
		allow        string
	}{
		{"GET", "/nope", 404, ""},
		{"GET", "/v1/nope/deeper", 404, ""},
		{"DELETE", "/v1/decisions", 405, "POST"},
		{"PATCH", "/v1/purposes/analytics", 405, "GET, PUT"},
	}
	for _, c := range cases {
		t.Run(c.method+" "+c.path, func(t *testing.T) {
			req, _ := http.NewRequest(c.method, srv.URL+c.path, nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != c.status || resp.Header.Get("Content-Type") != "application/problem+json" {
				t.Fatalf("%d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
			}
			if resp.Header.Get("Allow") != c.allow {
				t.Fatalf("Allow = %q, want %q", resp.Header.Get("Allow"), c.allow)
			}
			if resp.Header.Get("Content-Security-Policy") == "" || !strings.Contains(string(body), `"status":`) {
				t.Fatalf("missing security headers or problem body: %v %s", resp.Header, body)
			}
		})
	}
}
