package apptest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
)

// LedgerIDs lists the id of every event in the ledger of the Steward at url
// (this package's server or a child process), through the API with an admin
// key: what a fault rehearsal checks every acknowledged event against.
func LedgerIDs(tb testing.TB, url, admin string) map[string]bool {
	tb.Helper()
	present := map[string]bool{}
	after := int64(0)
	for {
		req, err := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/v1/consent/events?after=%d&limit=10000", url, after), nil)
		if err != nil {
			tb.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+admin)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			tb.Fatal(err)
		}
		var page struct {
			Items []struct {
				ID string `json:"id"`
			} `json:"items"`
			Next int64 `json:"next"`
		}
		err = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			tb.Fatalf("list events: %d %v", resp.StatusCode, err)
		}
		for _, e := range page.Items {
			present[e.ID] = true
		}
		if len(page.Items) == 0 {
			return present
		}
		after = page.Next
	}
}
