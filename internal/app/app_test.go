package app_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/app/apptest"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/testenv/netswitch"
)

func do(t *testing.T, method, url, key, body string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 20 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestDatabaseUnreachable: /readyz 503, writes 503 with Retry-After,
// decisions still answered from the index.
func TestDatabaseUnreachable(t *testing.T) {
	pgURL := dbtest.PostgresURL(t)
	prox := netswitch.Start(t, "127.0.0.1:5432")
	viaProxy := strings.Replace(pgURL, "127.0.0.1:5432", prox.Addr(), 1)
	srv := apptest.StartWith(t, db.Postgres, apptest.Options{DatabaseURL: viaProxy})
	grant := `{"events":[{"id":"before","property":"demo","device":"d1","purpose":"analytics","action":"grant","source":"banner","notice_version":"2026-11"}]}`
	if resp, body := do(t, "POST", srv.URL+"/v1/consent/events", srv.Keys.Ingest, grant); resp.StatusCode != 200 {
		t.Fatalf("append before the cut: %d %s", resp.StatusCode, body)
	}
	question := `{"questions":[{"device":"d1","purpose":"analytics","jurisdiction":"DE"}]}`
	if resp, body := do(t, "POST", srv.URL+"/v1/decisions", srv.Keys.Decide, question); resp.StatusCode != 200 || !strings.Contains(body, `"allowed":true`) {
		t.Fatalf("decision before the cut: %d %s", resp.StatusCode, body)
	}

	prox.Down()

	if resp, body := do(t, "GET", srv.URL+"/readyz", "", ""); resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("readyz with the database gone: %d %s", resp.StatusCode, body)
	}
	write := strings.Replace(grant, `"before"`, `"after"`, 1)
	resp, body := do(t, "POST", srv.URL+"/v1/consent/events", srv.Keys.Ingest, write)
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" ||
		resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("write with the database gone: %d Retry-After=%q %s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	if resp, body := do(t, "POST", srv.URL+"/v1/decisions", srv.Keys.Decide, question); resp.StatusCode != 200 || !strings.Contains(body, `"allowed":true`) {
		t.Fatalf("decision with the database gone: %d %s", resp.StatusCode, body)
	}
}

func TestReadyAndLive(t *testing.T) {
	for _, dialect := range []db.Dialect{db.SQLite, db.Postgres} {
		t.Run(string(dialect), func(t *testing.T) {
			srv := apptest.Start(t, dialect)
			for _, path := range []string{"/livez", "/readyz"} {
				if resp, body := do(t, "GET", srv.URL+path, "", ""); resp.StatusCode != 200 {
					t.Fatalf("%s: %d %s", path, resp.StatusCode, body)
				}
			}
		})
	}
}
