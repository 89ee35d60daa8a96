package web_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/steward-dev/steward/internal/app/apptest"
	"github.com/steward-dev/steward/internal/db"
)

// TestMetricsOnAnInternalAddress: with --metrics-listen, /metrics (request
// volumes, routes, internals) is served on that address only; the public
// listener answers 404 as for any unknown path, and the internal one
// serves nothing else.
func TestMetricsOnAnInternalAddress(t *testing.T) {
	srv := apptest.StartWith(t, db.SQLite, apptest.Options{MetricsListen: true})
	get := func(url string) (int, string) {
		t.Helper()
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode, string(body)
	}
	if code, body := get(srv.URL + "/metrics"); code != http.StatusNotFound || strings.Contains(body, "steward_http_requests_total") {
		t.Fatalf("public /metrics: %d %.200s", code, body)
	}
	if code, body := get(srv.MetricsURL + "/metrics"); code != http.StatusOK || !strings.Contains(body, "steward_http_requests_total") {
		t.Fatalf("internal /metrics: %d %.200s", code, body)
	}
	for _, path := range []string{"/readyz", "/v1/purposes", "/admin", "/privacy"} {
		if code, _ := get(srv.MetricsURL + path); code != http.StatusNotFound {
			t.Errorf("the metrics listener serves %s: %d", path, code)
		}
	}
}
