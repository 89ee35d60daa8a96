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
	case u.Scheme == "http" && !s.policy.HostAllowed(host):
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
		if refused := s.policy.Check(host, a); refused != nil {
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
