package netguard

import (
	"net/netip"
	"testing"
)

func TestForbiddenKind(t *testing.T) {
	cases := map[string]string{
		"93.184.215.14":       "",
		"2606:4700::1111":     "",
		"127.0.0.1":           "loopback",
		"10.0.0.1":            "private",
		"172.31.255.255":      "private",
		"172.32.0.1":          "",
		"192.168.0.1":         "private",
		"100.64.0.0":          "shared (CGNAT)",
		"100.127.255.255":     "shared (CGNAT)",
		"100.128.0.1":         "",
		"169.254.169.254":     "cloud metadata",
		"fd00:ec2::254":       "cloud metadata",
		"fc00::1":             "private",
		"fe80::1":             "link-local",
		"0.1.2.3":             "unspecified",
		"255.255.255.255":     "broadcast",
		"240.0.0.1":           "reserved",
		"::ffff:127.0.0.1":    "loopback",
		"64:ff9b::7f00:1":     "loopback",
		"64:ff9b::5db8:d70e":  "",
		"2002:7f00:1::":       "loopback",
		"::127.0.0.1":         "reserved",
		"ff05::1":             "multicast",
		"fe80::1%eth0":        "link-local",
		"192.0.0.170":         "reserved",
		"198.19.255.255":      "reserved",
		"fec0::1":             "private",
		"2001:db8::1":         "",
		"64:ff9b:1::10.0.0.1": "reserved",
	}
	for addr, want := range cases {
		if got := ForbiddenKind(netip.MustParseAddr(addr)); got != want {
			t.Errorf("ForbiddenKind(%s) = %q, want %q", addr, got, want)
		}
	}
}

func TestAllowHostsParse(t *testing.T) {
	if _, err := NewPolicy([]string{"127.0.0.1", "[::1]", "localhost", "10.0.0.0/8", "Hooks.Example.COM."}); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"10.0.0.0/33", "http://x", "a b", "x/y"} {
		if _, err := NewPolicy([]string{bad}); err == nil {
			t.Errorf("allow-list entry %q accepted", bad)
		}
	}
	p, _ := NewPolicy([]string{"Hooks.Example.COM."})
	if !p.HostAllowed("hooks.example.com") || !p.HostAllowed("HOOKS.example.com.") || p.HostAllowed("example.com") {
		t.Error("host names are not compared as DNS names")
	}
}
