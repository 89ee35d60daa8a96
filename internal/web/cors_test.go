package web_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/steward-dev/steward/internal/app/apptest"
	"github.com/steward-dev/steward/internal/db"
)

// TestEventsCORS: pages of a property may read the answer to their events
// (the receipts); other origins may not, and preflights follow the domains.
func TestEventsCORS(t *testing.T) {
	srv := apptest.Start(t, db.SQLite)
	post := func(origin, id string) *http.Response {
		body := `{"events":[{"id":"` + id + `","property":"demo","device":"dev-cors","purpose":"analytics","action":"grant","source":"banner","notice_version":"2026-11"}]}`
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/consent/events?key="+srv.Keys.Ingest, strings.NewReader(body))
		req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
		req.Header.Set("Origin", origin)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	cases := []struct{ origin, want string }{
		{"https://shop.example", "https://shop.example"},
		{"http://localhost:3000", "http://localhost:3000"},
		{"https://evil.example", ""},
		{"https://shop.example.evil.example", ""},
	}
	for i, c := range cases {
		resp := post(c.origin, "cors-"+string(rune('a'+i)))
		if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != c.want {
			t.Errorf("origin %s: %d, ACAO %q, want %q", c.origin, resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"), c.want)
		}
	}
	preflight := func(origin string) int {
		req, _ := http.NewRequest(http.MethodOptions, srv.URL+"/v1/consent/events", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := preflight("https://shop.example"); got != http.StatusNoContent {
		t.Errorf("preflight from a property's domain: %d", got)
	}
	if got := preflight("https://evil.example"); got != http.StatusForbidden {
		t.Errorf("preflight from elsewhere: %d", got)
	}
}
