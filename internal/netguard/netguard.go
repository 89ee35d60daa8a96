// Package netguard keeps Steward's outgoing HTTP requests (webhook
// deliveries, HTTP connectors) out of its own network: a Policy says which
// addresses a request may connect to, and a Dialer resolves a host once,
// drops the refused addresses and connects to a checked one, so that a DNS
// answer that changes between check and connection (DNS rebinding) has
// nothing left to change.
//
//	policy, err := netguard.NewPolicy(cfg.WebhookAllowHosts)
//	client := &http.Client{Transport: netguard.Transport(&netguard.Dialer{Policy: policy}, timeout)}
package netguard

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Resolver resolves host names to addresses (*net.Resolver).
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Policy decides which addresses outgoing requests may connect to.
type Policy struct {
	// hosts are allow-listed host names and address literals, lower case:
	// any address they resolve to is allowed (but metadata).
	hosts map[string]bool
	// ranges are allow-listed address ranges.
	ranges []netip.Prefix
}

// NewPolicy returns the policy that allows, besides public addresses, the
// host names, addresses and ranges of allow (the --webhook-allow-hosts
// list); metadata addresses stay refused whatever it says.
func NewPolicy(allow []string) (*Policy, error) {
	p := &Policy{hosts: map[string]bool{}}
	for _, entry := range allow {
		entry = strings.ToLower(strings.TrimSpace(entry))
		entry = strings.TrimSuffix(strings.TrimPrefix(entry, "["), "]")
		switch {
		case entry == "":
			continue
		case strings.Contains(entry, "/"):
			prefix, err := netip.ParsePrefix(entry)
			if err != nil {
				return nil, fmt.Errorf("allowed host %q: not an address range", entry)
			}
			p.ranges = append(p.ranges, prefix.Masked())
		default:
			if addr, err := netip.ParseAddr(entry); err == nil {
				addr = addr.Unmap()
				p.ranges = append(p.ranges, netip.PrefixFrom(addr, addr.BitLen()))
				p.hosts[addr.String()] = true
				continue
			}
			if !validHostName(entry) {
				return nil, fmt.Errorf("allowed host %q: not a host name, address or range", entry)
			}
			p.hosts[strings.TrimSuffix(entry, ".")] = true
		}
	}
	return p, nil
}

func validHostName(h string) bool {
	h = strings.TrimSuffix(h, ".")
	if h == "" || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// HostAllowed reports whether host (as in a URL) is allow-listed by name
// or, for an address literal, by range; such hosts may also use http.
func (p *Policy) HostAllowed(host string) bool {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if p.hosts[host] {
		return true
	}
	if addr, err := netip.ParseAddr(host); err == nil {
		return p.inRange(addr.Unmap())
	}
	return false
}

func (p *Policy) inRange(addr netip.Addr) bool {
	for _, r := range p.ranges {
		if r.Contains(addr) {
			return true
		}
	}
	return false
}

// Check returns nil when a connection for host may go to addr, or the
// refusal (a *RefusedError, so compare it with nil before making it an
// error).
func (p *Policy) Check(host string, addr netip.Addr) *RefusedError {
	addr = addr.Unmap().WithZone("")
	kind := ForbiddenKind(addr)
	switch {
	case kind == "":
		return nil
	case kind == kindMetadata:
		// No receiver lives there, whatever the allow-list says: it is
		// where cloud credentials are handed out.
		return &RefusedError{host: host, addr: addr, kind: kind}
	case p.HostAllowed(host) || p.inRange(addr):
		return nil
	}
	return &RefusedError{host: host, addr: addr, kind: kind}
}

const kindMetadata = "cloud metadata"

// metadataAddrs are the instance metadata services of the clouds:
// AWS, GCP, Azure, OpenStack (169.254.169.254), AWS over IPv6, Alibaba.
var metadataAddrs = [...]netip.Addr{
	netip.AddrFrom4([4]byte{169, 254, 169, 254}),
	netip.MustParseAddr("fd00:ec2::254"),
	netip.AddrFrom4([4]byte{100, 100, 100, 200}),
}

// specialRanges are forbidden ranges that netip's predicates do not name.
var specialRanges = [...]struct {
	prefix netip.Prefix
	kind   string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "unspecified"},
	{netip.MustParsePrefix("100.64.0.0/10"), "shared (CGNAT)"},
	{netip.MustParsePrefix("192.0.0.0/24"), "reserved"},
	{netip.MustParsePrefix("198.18.0.0/15"), "reserved"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved"},
	{netip.MustParsePrefix("::/96"), "reserved"},
	{netip.MustParsePrefix("64:ff9b:1::/48"), "reserved"},
	{netip.MustParsePrefix("fec0::/10"), "private"},
}

// Ranges of IPv6 addresses that carry an IPv4 address: NAT64 (the last
// four bytes) and 6to4 (bytes 2 to 5).
var (
	nat64     = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour = netip.MustParsePrefix("2002::/16")
)

// ForbiddenKind names why addr is not a public unicast address, or
// returns "" for one that is. Addresses that embed an IPv4 address (NAT64,
// 6to4) are judged by it.
func ForbiddenKind(addr netip.Addr) string {
	addr = addr.Unmap()
	for _, m := range metadataAddrs {
		if addr == m {
			return kindMetadata
		}
	}
	switch {
	case !addr.IsValid():
		return "invalid"
	case addr.IsUnspecified():
		return "unspecified"
	case addr.IsLoopback():
		return "loopback"
	case addr.IsPrivate():
		return "private"
	case addr.IsLinkLocalUnicast(), addr.IsLinkLocalMulticast():
		return "link-local"
	case addr.IsMulticast(), addr.IsInterfaceLocalMulticast():
		return "multicast"
	case addr == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return "broadcast"
	}
	for _, r := range specialRanges {
		if r.prefix.Contains(addr) {
			return r.kind
		}
	}
	if addr.Is6() {
		b := addr.As16()
		switch {
		case nat64.Contains(addr):
			return ForbiddenKind(netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}))
		case sixToFour.Contains(addr):
			return ForbiddenKind(netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]}))
		}
	}
	return ""
}

// RefusedError is a connection the policy refused. Its message names the
// host and the address, never the URL (which may hold a token).
type RefusedError struct {
	host string
	addr netip.Addr
	kind string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("%s resolves to %s, a %s address", e.host, e.addr, e.kind)
}

// Dialer connects only to addresses its Policy allows.
type Dialer struct {
	Policy *Policy
	// Resolver resolves host names; net.DefaultResolver when nil.
	Resolver Resolver
	// Timeout bounds one connection attempt; 30 seconds when zero.
	Timeout time.Duration
}

// Lookup returns the addresses of host: the address itself for a literal,
// else what the resolver answers, unchecked.
func (d *Dialer) Lookup(ctx context.Context, host string) ([]netip.Addr, error) {
	if addr, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")); err == nil {
		return []netip.Addr{addr}, nil
	}
	var r Resolver = net.DefaultResolver
	if d.Resolver != nil {
		r = d.Resolver
	}
	addrs, err := r.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil, err
	}
	if len(addrs) == 0 {
		return nil, &net.DNSError{Err: "no address", Name: host, IsNotFound: true}
	}
	return addrs, nil
}

// DialContext resolves the host of address itself, drops the addresses the
// policy refuses and connects to a checked address, never resolving again.
// When every address is refused, the error is a *RefusedError.
func (d *Dialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	host, portText, err := net.SplitHostPort(address)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", address, err)
	}
	port, err := strconv.ParseUint(portText, 10, 16)
	if err != nil {
		return nil, fmt.Errorf("dial %s: bad port", host)
	}
	addrs, err := d.Lookup(ctx, host)
	if err != nil {
		return nil, err
	}
	timeout := d.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	dialer := net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	var (
		refused *RefusedError
		lastErr error
	)
	for _, a := range addrs {
		if r := d.Policy.Check(host, a); r != nil {
			refused = r
			continue
		}
		conn, err := dialer.DialContext(ctx, network, netip.AddrPortFrom(a.Unmap(), uint16(port)).String())
		if err == nil {
			return conn, nil
		}
		lastErr = err
	}
	if lastErr != nil {
		return nil, lastErr
	}
	return nil, refused
}

// Transport returns an HTTP transport whose every connection goes through
// d, with no proxy from the environment (a proxy would dial for us,
// unchecked).
func Transport(d *Dialer, timeout time.Duration) *http.Transport {
	return &http.Transport{
		Proxy:                 nil,
		DialContext:           d.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   32,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   timeout,
		ExpectContinueTimeout: time.Second,
		TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12},
	}
}
