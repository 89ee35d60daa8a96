package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestServeMetricsListen runs serve --metrics-listen: /metrics answers on
// the internal address and is gone (404) from the public one.
func TestServeMetricsListen(t *testing.T) {
	t.Parallel()
	metrics := freeAddr(t)
	c := startChild(t, "--data-dir", migratedDataDir(t), "--metrics-listen", metrics)
	get := func(url string) (int, string) {
		t.Helper()
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if code, body := get(c.url + "/metrics"); code != http.StatusNotFound || strings.Contains(body, "steward_http_requests_total") {
		t.Fatalf("public /metrics: %d %.200s", code, body)
	}
	if code, body := get("http://" + metrics + "/metrics"); code != http.StatusOK || !strings.Contains(body, "steward_http_requests_total") {
		t.Fatalf("internal /metrics: %d %.200s", code, body)
	}
}
