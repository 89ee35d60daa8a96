package outbox

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/steward-dev/steward/internal/errs"
)

// Resolver resolves host names to addresses (*net.Resolver).
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// maxURLBytes bounds an endpoint URL.
const maxURLBytes = 2048

// addressPolicy decides which addresses deliveries may connect to.
type addressPolicy struct {
	// hosts are allow-listed host names and address literals, lower case:
	// any address they resolve to is allowed (but metadata).
	hosts map[string]bool
	// ranges are allow-listed address ranges.
	ranges []netip.Prefix
}

func newAddressPolicy(allow []string) (*addressPolicy, error) {
	p := &addressPolicy{hosts: map[string]bool{}}
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

// hostAllowed reports whether host (as in a URL) is allow-listed by name
// or, for an address literal, by range; such hosts may also use http.
func (p *addressPolicy) hostAllowed(host string) bool {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if p.hosts[host] {
		return true
	}
	if addr, err := netip.ParseAddr(host); err == nil {
		return p.inRange(addr.Unmap())
	}
	return false
}

func (p *addressPolicy) inRange(addr netip.Addr) bool {
	for _, r := range p.ranges {
		if r.Contains(addr) {
			return true
		}
	}
	return false
}

// check returns nil when a connection for host may go to addr, or the
// refusal.
func (p *addressPolicy) check(host string, addr netip.Addr) *refusedError {
	addr = addr.Unmap().WithZone("")
	kind := forbiddenKind(addr)
	switch {
	case kind == "":
		return nil
	case kind == kindMetadata:
		// No receiver lives there, whatever the allow-list says: it is
		// where cloud credentials are handed out.
		return &refusedError{host: host, addr: addr, kind: kind}
	case p.hostAllowed(host) || p.inRange(addr):
		return nil
	}
	return &refusedError{host: host, addr: addr, kind: kind}
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

// forbiddenKind names why addr is not a public unicast address, or
// returns "" for one that is. Addresses that embed an IPv4 address (NAT64,
// 6to4) are judged by it.
func forbiddenKind(addr netip.Addr) string {
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
			return forbiddenKind(netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}))
		case sixToFour.Contains(addr):
			return forbiddenKind(netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]}))
		}
	}
	return ""
}

// refusedError is a connection the policy refused. Its message names the
// host and the address, never the URL (which may hold a token).
type refusedError struct {
	host string
	addr netip.Addr
	kind string
}

func (e *refusedError) Error() string {
	return fmt.Sprintf("%s resolves to %s, a %s address", e.host, e.addr, e.kind)
}

// validateURL checks an endpoint URL as staff enter it: https (or http to
// an allow-listed host), no credentials or fragment, and a host that
// resolves to allowed addresses only.
func (s *Service) validateURL(ctx context.Context, raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", errs.Invalid("url", "must not be empty")
	}
	if len(raw) > maxURLBytes {
		return "", errs.Invalid("url", "at most %d bytes", maxURLBytes)
	}
	u, err := url.Parse(raw)
	if err != nil || u.Opaque != "" || u.Host == "" {
		return "", errs.Invalid("url", "must be an absolute URL such as https://hooks.example.com/steward")
	}
	u.Scheme = strings.ToLower(u.Scheme)
	host := u.Hostname()
	switch {
	case u.Scheme != "https" && u.Scheme != "http":
		return "", errs.Invalid("url", "must be an https URL")
	case u.Scheme == "http" && !s.policy.hostAllowed(host):
		return "", errs.Invalid("url", "must be https: the events and their signatures would travel in clear (http is only for allow-listed hosts)")
	case u.User != nil:
		return "", errs.Invalid("url", "must not hold a user name or password: the signature authenticates Steward")
	case u.Fragment != "" || strings.HasSuffix(raw, "#"):
		return "", errs.Invalid("url", "must not have a fragment (#...)")
	case host == "":
		return "", errs.Invalid("url", "has no host")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return "", errs.Invalid("url", "port %q is not a port number", p)
		}
	}
	addrs, err := s.resolve(ctx, host)
	if err != nil {
		return "", err
	}
	for _, a := range addrs {
		if refused := s.policy.check(host, a); refused != nil {
			return "", errs.Invalid("url", "%v: Steward does not send webhooks into its own network unless an operator allow-lists the host", refused)
		}
	}
	return u.String(), nil
}

// resolve returns the addresses of host: the address itself for a
// literal, else what the resolver answers. A host that does not exist is
// invalid input; a resolver that fails is unavailable.
func (s *Service) resolve(ctx context.Context, host string) ([]netip.Addr, error) {
	if addr, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")); err == nil {
		return []netip.Addr{addr}, nil
	}
	addrs, err := s.cfg.Resolver.LookupNetIP(ctx, "ip", host)
	var dnsErr *net.DNSError
	switch {
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		return nil, errs.Invalid("url", "host %s does not resolve", host)
	case err != nil:
		return nil, errs.Wrap(errs.CodeUnavailable, err, fmt.Sprintf("resolve %s", host))
	case len(addrs) == 0:
		return nil, errs.Invalid("url", "host %s has no address", host)
	}
	return addrs, nil
}

// dialContext is the deliveries' dialer. It resolves the host itself,
// drops the addresses the policy refuses and connects to a checked
// address, never resolving again: a DNS answer that changes between the
// check and the connection (DNS rebinding) has nothing left to change.
func (s *Service) dialContext(ctx context.Context, network, address string) (net.Conn, error) {
	host, portText, err := net.SplitHostPort(address)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", address, err)
	}
	port, err := strconv.ParseUint(portText, 10, 16)
	if err != nil {
		return nil, fmt.Errorf("dial %s: bad port", host)
	}
	addrs, err := s.resolve(ctx, host)
	if err != nil {
		return nil, &net.DNSError{Err: "no usable address", Name: host, IsNotFound: errs.Is(err, errs.CodeInvalid)}
	}
	dialer := net.Dialer{Timeout: s.cfg.RequestTimeout, KeepAlive: 30 * time.Second}
	var (
		refused *refusedError
		lastErr error
	)
	for _, a := range addrs {
		if r := s.policy.check(host, a); r != nil {
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
