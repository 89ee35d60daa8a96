package clientaddr_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/steward-dev/steward/internal/web/clientaddr"
)

func TestOf(t *testing.T) {
	trusted, err := clientaddr.Parse([]string{"10.0.0.0/8", "2001:db8:ffff::1"})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name     string
		resolver *clientaddr.Resolver
		remote   string
		headers  map[string][]string
		want     string
	}{
		{name: "no proxy trusted", resolver: nil, remote: "203.0.113.7:5555", want: "203.0.113.7"},
		{name: "spoofed header from an untrusted peer is ignored", resolver: trusted, remote: "203.0.113.7:5555",
			headers: map[string][]string{"X-Forwarded-For": {"198.51.100.1"}}, want: "203.0.113.7"},
		{name: "spoofed Forwarded from an untrusted peer is ignored", resolver: trusted, remote: "203.0.113.7:5555",
			headers: map[string][]string{"Forwarded": {"for=198.51.100.1"}}, want: "203.0.113.7"},
		{name: "nil resolver ignores headers", resolver: nil, remote: "10.1.1.1:5555",
			headers: map[string][]string{"X-Forwarded-For": {"198.51.100.1"}}, want: "10.1.1.1"},
		{name: "trusted proxy", resolver: trusted, remote: "10.1.1.1:5555",
			headers: map[string][]string{"X-Forwarded-For": {"198.51.100.1"}}, want: "198.51.100.1"},
		{name: "right-most untrusted: the client's own entries are not believed", resolver: trusted, remote: "10.1.1.1:5555",
			headers: map[string][]string{"X-Forwarded-For": {"1.1.1.1, 198.51.100.1, 10.2.2.2"}}, want: "198.51.100.1"},
		{name: "several headers are one list", resolver: trusted, remote: "10.1.1.1:5555",
			headers: map[string][]string{"X-Forwarded-For": {"1.1.1.1", "198.51.100.1"}}, want: "198.51.100.1"},
		{name: "entries with ports", resolver: trusted, remote: "10.1.1.1:5555",
			headers: map[string][]string{"X-Forwarded-For": {"[2001:db8::7]:443"}}, want: "2001:db8::7"},
		{name: "garbage stops at the last trusted hop", resolver: trusted, remote: "10.1.1.1:5555",
			headers: map[string][]string{"X-Forwarded-For": {"198.51.100.1, nonsense"}}, want: "10.1.1.1"},
		{name: "all trusted: the left-most", resolver: trusted, remote: "10.1.1.1:5555",
			headers: map[string][]string{"X-Forwarded-For": {"10.3.3.3, 10.2.2.2"}}, want: "10.3.3.3"},
		{name: "trusted proxy without a header", resolver: trusted, remote: "10.1.1.1:5555", want: "10.1.1.1"},
		{name: "Forwarded", resolver: trusted, remote: "10.1.1.1:5555",
			headers: map[string][]string{"Forwarded": {`for=1.1.1.1, for="[2001:db8::9]:80";proto=https, for=10.2.2.2`}}, want: "2001:db8::9"},
		{name: "Forwarded unknown", resolver: trusted, remote: "10.1.1.1:5555",
			headers: map[string][]string{"Forwarded": {`for=unknown`}}, want: "10.1.1.1"},
		{name: "a single trusted address", resolver: trusted, remote: "[2001:db8:ffff::1]:443",
			headers: map[string][]string{"X-Forwarded-For": {"198.51.100.1"}}, want: "198.51.100.1"},
		{name: "IPv4-mapped peer", resolver: trusted, remote: "[::ffff:10.1.1.1]:443",
			headers: map[string][]string{"X-Forwarded-For": {"198.51.100.1"}}, want: "198.51.100.1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = c.remote
			for k, vs := range c.headers {
				for _, v := range vs {
					r.Header.Add(k, v)
				}
			}
			if got := c.resolver.Of(r); got != c.want {
				t.Fatalf("Of = %q, want %q", got, c.want)
			}
		})
	}
}

func TestParse(t *testing.T) {
	for _, bad := range []string{"10.0.0.0/33", "proxy.example", "10.0.0.1/"} {
		if _, err := clientaddr.Parse([]string{bad}); err == nil {
			t.Errorf("Parse(%q) accepted it", bad)
		}
	}
	if _, err := clientaddr.Parse([]string{" 10.0.0.0/8 ", "", "::1"}); err != nil {
		t.Fatal(err)
	}
}
