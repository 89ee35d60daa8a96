package httpx

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestReadBodyLimit: the limit holds however the length is told: declared
// too large (refused before reading), sent chunked (MaxBytesReader), or
// declared within the limit by a body that yields more (a request made by
// hand, or a middleware that replaced the body), which readAll stops.
func TestReadBodyLimit(t *testing.T) {
	const limit = 64
	within := strings.Repeat("a", limit)
	over := strings.Repeat("b", limit+1)
	for _, c := range []struct {
		name          string
		body          io.Reader
		contentLength int64
		want          string
		tooLarge      bool
	}{
		{"declared, within", strings.NewReader(within), limit, within, false},
		{"declared, empty", strings.NewReader(""), 0, "", false},
		{"declared, over", strings.NewReader(over), limit + 1, "", true},
		{"chunked, within", io.MultiReader(strings.NewReader(within)), -1, within, false},
		{"chunked, over", io.MultiReader(strings.NewReader(over)), -1, "", true},
		{"declared short, yields more", strings.NewReader(over + over), 10, "", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/", nil)
			r.Body, r.ContentLength = io.NopCloser(c.body), c.contentLength
			got, err := ReadBodyInto(httptest.NewRecorder(), r, limit, make([]byte, 0, 8))
			if c.tooLarge {
				if err == nil || Status(err) != http.StatusRequestEntityTooLarge {
					t.Fatalf("read %d bytes, err %v; want 413", len(got), err)
				}
				return
			}
			if err != nil || string(got) != c.want {
				t.Fatalf("got %q, %v; want %q", got, err, c.want)
			}
		})
	}
}
