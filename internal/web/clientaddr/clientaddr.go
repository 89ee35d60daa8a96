// Package clientaddr finds the address of the client behind a request, the
// one every rate limit and lockout counts by. Behind a reverse proxy the
// connection comes from the proxy; the operator names the proxies
// (--trusted-proxies) and only their forwarding headers are believed:
//
//	addrs, err := clientaddr.Parse([]string{"10.0.0.0/8"})
//	ip := addrs.Of(r) // r.RemoteAddr, or what a trusted proxy says it is
//
// From a trusted peer the address is the right-most X-Forwarded-For entry
// that is not itself a trusted proxy (entries to its left were written by
// the client and may be anything), or else the same in the Forwarded
// header's for= parameters (RFC 7239). From any other peer the headers are
// ignored.
package clientaddr

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Resolver finds client addresses. The nil Resolver trusts no proxy.
type Resolver struct {
	trusted []netip.Prefix
}

// Parse returns a resolver trusting the proxies in list: CIDR ranges
// ("10.0.0.0/8", "fd00::/8") or single addresses.
func Parse(list []string) (*Resolver, error) {
	r := &Resolver{}
	for _, s := range list {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		p, err := ParsePrefix(s)
		if err != nil {
			return nil, err
		}
		r.trusted = append(r.trusted, p)
	}
	return r, nil
}

// ParsePrefix reads one trusted proxy: a CIDR range or a single address.
func ParsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("trusted proxy %q: not a CIDR range such as 10.0.0.0/8", s)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("trusted proxy %q: not an address or CIDR range", s)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

func (r *Resolver) isTrusted(a netip.Addr) bool {
	if r == nil {
		return false
	}
	a = a.Unmap()
	for _, p := range r.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Of returns the client address of req, without a port.
func (r *Resolver) Of(req *http.Request) string {
	peer, ok := parseHostPort(req.RemoteAddr)
	if !ok {
		return hostOnly(req.RemoteAddr)
	}
	if !r.isTrusted(peer) {
		return peer.String()
	}
	var hops []string
	if values := req.Header.Values("X-Forwarded-For"); len(values) > 0 {
		for _, v := range values {
			hops = append(hops, strings.Split(v, ",")...)
		}
	} else {
		hops = forwardedFor(req.Header.Values("Forwarded"))
	}
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		a, ok := parseHostPort(strings.TrimSpace(hops[i]))
		if !ok {
			// Not an address (garbage, "unknown", an obfuscated name): the
			// last trusted hop is all that is known.
			break
		}
		client = a
		if !r.isTrusted(a) {
			break
		}
	}
	return client.String()
}

// forwardedFor returns the for= values of Forwarded headers, in order.
func forwardedFor(values []string) []string {
	var out []string
	for _, v := range values {
		for _, element := range strings.Split(v, ",") {
			found := "unknown"
			for _, pair := range strings.Split(element, ";") {
				name, value, ok := strings.Cut(strings.TrimSpace(pair), "=")
				if ok && strings.EqualFold(name, "for") {
					found = strings.Trim(value, `"`)
				}
			}
			out = append(out, found)
		}
	}
	return out
}

// parseHostPort reads "192.0.2.1", "192.0.2.1:1234", "2001:db8::1" or
// "[2001:db8::1]:1234".
func parseHostPort(s string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().WithZone(""), true
	}
	host, _, err := net.SplitHostPort(s)
	if err != nil {
		host = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap().WithZone(""), true
}

func hostOnly(remote string) string {
	if host, _, err := net.SplitHostPort(remote); err == nil {
		return host
	}
	return remote
}
