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

	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/netguard"
)

// Resolver resolves host names to addresses (*net.Resolver).
type Resolver = netguard.Resolver

// maxURLBytes bounds an endpoint URL.
const maxURLBytes = 2048

// validateURL checks an endpoint URL as staff enter it: https (or http to
// an allow-listed host), no credentials or fragment, and a host that
// resolves to allowed addresses only. What is wrong with it goes under
// "url" in problems; the error is for a resolver that fails.
func (s *Service) validateURL(ctx context.Context, raw string, problems errs.Problems) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		problems.Add("url", "not_empty")
		return "", nil
	}
	if len(raw) > maxURLBytes {
		problems.Add("url", "at_most_bytes", "max", maxURLBytes)
		return "", nil
	}
	u, err := url.Parse(raw)
	if err != nil || u.Opaque != "" || u.Host == "" {
		problems.Add("url", "webhook_url_absolute")
		return "", nil
	}
	u.Scheme = strings.ToLower(u.Scheme)
	host := u.Hostname()
	switch {
	case u.Scheme != "https" && u.Scheme != "http":
		problems.Add("url", "webhook_url_https")
	case u.Scheme == "http" && !s.policy.HostAllowed(host):
		problems.Add("url", "webhook_url_clear")
	case u.User != nil:
		problems.Add("url", "webhook_url_credentials")
	case u.Fragment != "" || strings.HasSuffix(raw, "#"):
		problems.Add("url", "webhook_url_fragment")
	case host == "":
		problems.Add("url", "webhook_url_no_host")
	}
	if problems.Has("url") {
		return "", nil
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			problems.Add("url", "webhook_url_port", "port", strconv.Quote(p))
			return "", nil
		}
	}
	addrs, err := s.resolve(ctx, host, problems)
	if err != nil || problems.Has("url") {
		return "", err
	}
	for _, a := range addrs {
		if refused := s.policy.Check(host, a); refused != nil {
			problems.Add("url", "webhook_url_refused", "refused", refused.Error())
			return "", nil
		}
	}
	return u.String(), nil
}

// resolve returns the addresses of host: the address itself for a
// literal, else what the resolver answers. A host that does not exist is
// invalid input, put under "url" in problems; a resolver that fails is
// unavailable.
func (s *Service) resolve(ctx context.Context, host string, problems errs.Problems) ([]netip.Addr, error) {
	if addr, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")); err == nil {
		return []netip.Addr{addr}, nil
	}
	addrs, err := s.cfg.Resolver.LookupNetIP(ctx, "ip", host)
	var dnsErr *net.DNSError
	switch {
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		problems.Add("url", "webhook_host_unresolved", "host", host)
		return nil, nil
	case err != nil:
		return nil, errs.Wrap(errs.CodeUnavailable, err, fmt.Sprintf("resolve %s", host))
	case len(addrs) == 0:
		problems.Add("url", "webhook_host_no_address", "host", host)
		return nil, nil
	}
	return addrs, nil
}
