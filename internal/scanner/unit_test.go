package scanner

import (
	"strings"
	"testing"
	"time"
)

func TestCookieDB(t *testing.T) {
	db, err := OpenCookieDB()
	if err != nil {
		t.Fatal(err)
	}
	if db.Len() < 2000 {
		t.Errorf("%d entries, want the whole database", db.Len())
	}
	for _, tc := range []struct{ name, platform, category string }{
		{"_ga", "Google Analytics", "Analytics"},
		{"_ga_ABC123", "Google Analytics", "Analytics"}, // wildcard _ga_
		{"_fbp", "Facebook", "Marketing"},
		{"no_such_cookie_anywhere", "", ""},
	} {
		e, ok := db.Lookup(tc.name)
		if ok != (tc.platform != "") || e.Platform != tc.platform || e.Category != tc.category {
			t.Errorf("Lookup(%q) = %q %q %v, want %q %q", tc.name, e.Platform, e.Category, ok, tc.platform, tc.category)
		}
	}
	if e, ok := db.LookupHost("stats.g.doubleclick.net"); !ok || !strings.Contains(e.Platform, "DoubleClick") {
		t.Errorf("LookupHost(doubleclick) = %+v %v", e, ok)
	}
	if _, ok := db.LookupHost("localhost"); ok {
		t.Error("localhost is a known tracker host")
	}
	if _, err := ParseCookieDB(strings.NewReader("ID,Platform\n1,x\n")); err == nil {
		t.Error("a CSV without the columns parsed")
	}
}

func TestTarget(t *testing.T) {
	target := Target{Property: "shop", Domains: []string{"shop.example", "*.cdn.example", "127.0.0.1"}, Start: []string{"https://shop.example/"},
		Cookie:   ConsentCookie{Name: "stw_consent", NoticeVersion: "2026-11 a|b"},
		Purposes: []Purpose{{Key: "necessary", Necessary: true}, {Key: "analytics"}, {Key: "marketing"}}}
	for host, want := range map[string]bool{
		"shop.example": true, "www.shop.example": true, "img.cdn.example": true, "cdn.example": true, ".shop.example": true,
		"127.0.0.1": true, "1127.0.0.1": false, "evilshop.example": false, "shop.example.evil": false, "localhost": false, "": false,
	} {
		if got := target.FirstParty(host); got != want {
			t.Errorf("FirstParty(%q) = %v", host, got)
		}
	}
	var states []string
	for _, s := range target.States() {
		states = append(states, s.String())
		if back, ok := ParseState(s.String()); !ok || back != s {
			t.Errorf("ParseState(%q) = %v %v", s, back, ok)
		}
	}
	if got := strings.Join(states, " "); got != "none reject accept only:analytics only:marketing" {
		t.Errorf("states %s", got)
	}
	at := time.Unix(1796000000, 0)
	for _, tc := range []struct {
		state State
		want  string
	}{
		{State{Kind: StateNone}, ""},
		{State{Kind: StateReject}, "2026-11%20a%7Cb|tpaigw|dev|i|analytics:0/marketing:0"},
		{State{Kind: StateAccept}, "2026-11%20a%7Cb|tpaigw|dev|i|analytics:1/marketing:1"},
		{State{Kind: StateOnly, Purpose: "marketing"}, "2026-11%20a%7Cb|tpaigw|dev|i|analytics:0/marketing:1"},
	} {
		if got := target.cookieValue(tc.state, at, "dev"); got != tc.want {
			t.Errorf("cookieValue(%s) = %q, want %q", tc.state, got, tc.want)
		}
	}
	for _, bad := range [][]string{{"https://elsewhere.example/"}, {"https://user:pw@shop.example/"}, {"ftp://shop.example/"}, nil} {
		tt := target
		tt.Start = bad
		if err := tt.Validate(); err == nil {
			t.Errorf("start %v validated", bad)
		}
	}
}

func TestWildcardMatch(t *testing.T) {
	for _, tc := range []struct {
		pattern, name string
		want          bool
	}{
		{"_ga", "_ga", true}, {"_ga", "_gat", false}, {"_ga_*", "_ga_X1", true}, {"_ga_*", "_ga", false},
		{"*_id", "tp_id", true}, {"a*b*c", "aXbYc", true}, {"a*b*c", "acb", false}, {"ab*b", "ab", false}, {"x.y", "xzy", false},
	} {
		if got := wildcardMatch(tc.pattern, tc.name); got != tc.want {
			t.Errorf("wildcardMatch(%q, %q) = %v", tc.pattern, tc.name, got)
		}
	}
}
