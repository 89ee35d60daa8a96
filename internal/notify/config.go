package notify

import (
	"crypto/x509"
	"log/slog"
	"net"
	"net/mail"
	"strings"
	"time"
)

// TLSMode is how a Mailer protects its connection to the mail server.
type TLSMode string

// The TLS modes. The empty mode means TLSStartTLS.
const (
	// TLSStartTLS connects in clear and upgrades with STARTTLS before
	// anything else; a server that does not offer it is refused.
	TLSStartTLS TLSMode = "starttls"
	// TLSImplicit speaks TLS from the first byte (submissions, port 465).
	TLSImplicit TLSMode = "tls"
	// TLSNone never encrypts: for a relay on this machine, or in tests.
	TLSNone TLSMode = "none"
)

// Defaults applied by NewMailer to fields left zero.
const (
	DefaultTimeout = 15 * time.Second
	maxTimeout     = 5 * time.Minute
)

// MailConfig is how to reach the company's SMTP server. The fields down to
// AllowInsecure are operator settings (see the package comment for their
// proposed names); the rest are set by code.
type MailConfig struct {
	Host string
	// Port defaults to 587 for starttls, 465 for tls and 25 for none.
	Port int
	// TLS defaults to starttls.
	TLS      TLSMode
	Username string
	Password string
	// From is the sender, with an optional display name:
	// "Example Shop <privacy@shop.example>". It is also the envelope
	// sender, so bounces go there.
	From string
	// HELOName is the name given in EHLO; empty means the machine's host
	// name. Some servers want a name that resolves to the sending address.
	HELOName string
	// Timeout bounds connecting (through TLS and AUTH), then each later
	// step of the exchange (default 15s).
	Timeout time.Duration
	// AllowInsecure permits TLS "none" towards a host that is not loopback.
	AllowInsecure bool
	// AllowPlainAuth permits sending Username and Password without TLS
	// (TLS "none") to a loopback host, for a local relay that offers no
	// TLS. Without it, credentials only travel over TLS; to any other host
	// they never travel in clear.
	AllowPlainAuth bool

	// RootCAs verifies the server's certificate; nil means the system roots.
	// Tests set it to trust mailtest's certificate.
	RootCAs *x509.CertPool
	// Now dates messages; nil means time.Now.
	Now func() time.Time
	// Logger receives operational warnings, never addresses or bodies;
	// nil discards them.
	Logger *slog.Logger
}

// withDefaults returns c with the zero fields that have a default filled in.
func (c MailConfig) withDefaults() MailConfig {
	c.Host = strings.TrimSpace(c.Host)
	if c.TLS == "" {
		c.TLS = TLSStartTLS
	}
	if c.Port == 0 {
		switch c.TLS {
		case TLSImplicit:
			c.Port = 465
		case TLSNone:
			c.Port = 25
		default:
			c.Port = 587
		}
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	return c
}

// Validate returns the problems of c after defaults, keyed by field: host,
// port, tls, username, password, from, helo, timeout. It is empty when c is
// usable.
func (c MailConfig) Validate() map[string]string {
	c = c.withDefaults()
	problems := map[string]string{}
	switch {
	case c.Host == "":
		problems["host"] = "is required"
	case !validHost(c.Host):
		problems["host"] = "must be a host name or an IP address, without scheme or port"
	}
	if c.Port < 1 || c.Port > 65535 {
		problems["port"] = "must be between 1 and 65535"
	}
	switch c.TLS {
	case TLSStartTLS, TLSImplicit:
	case TLSNone:
		credentials := c.Username != "" || c.Password != ""
		switch {
		case problems["host"] != "":
		case !isLoopback(c.Host) && !c.AllowInsecure:
			problems["tls"] = "none is only allowed for a loopback host (localhost, 127.0.0.1, ::1) unless insecure mail is explicitly allowed"
		case !isLoopback(c.Host) && credentials:
			problems["password"] = "would cross the network unencrypted: use tls starttls or tls"
		case credentials && !c.AllowPlainAuth:
			// Loopback traffic is readable by anyone who can capture on
			// this machine (a container's neighbours, a debugging proxy):
			// sending the password in clear there is an explicit choice.
			problems["password"] = "would travel without TLS: use tls starttls or tls, or allow plain authentication to a loopback relay explicitly (--smtp-allow-plain-auth)"
		}
	default:
		problems["tls"] = "must be starttls, tls or none"
	}
	if c.Username != "" && c.Password == "" && problems["password"] == "" {
		problems["password"] = "is required with a username"
	}
	if c.Password != "" && c.Username == "" {
		problems["username"] = "is required with a password"
	}
	// SASL PLAIN separates its fields with NUL, and SMTP commands end at a
	// line break: either would let a credential rewrite the exchange.
	if strings.ContainsAny(c.Username, "\x00\r\n") {
		problems["username"] = "must not contain NUL or line breaks"
	}
	if strings.ContainsAny(c.Password, "\x00\r\n") {
		problems["password"] = "must not contain NUL or line breaks"
	}
	if c.From == "" {
		problems["from"] = "is required"
	} else if _, err := parseFrom(c.From); err != nil {
		problems["from"] = `must be one address, optionally with a name: "Example Shop <privacy@shop.example>"`
	}
	if c.HELOName != "" && !validHELO(c.HELOName) {
		problems["helo"] = "must be a host name or an address literal such as [192.0.2.1]"
	}
	if c.Timeout < time.Second || c.Timeout > maxTimeout {
		problems["timeout"] = "must be between 1s and 5m"
	}
	return problems
}

// parseFrom parses a sender: a single address, with or without a name.
func parseFrom(from string) (*mail.Address, error) {
	if strings.ContainsAny(from, "\r\n") {
		return nil, errLineBreak
	}
	return mail.ParseAddress(from)
}

// validHost accepts an IP address or a DNS name, and nothing that would
// change where go-mail connects ("unix://..." names a socket there).
func validHost(host string) bool {
	if net.ParseIP(host) != nil {
		return true
	}
	return validDomain(host)
}

func validDomain(name string) bool {
	name = strings.TrimSuffix(name, ".")
	if name == "" || len(name) > 253 {
		return false
	}
	for label := range strings.SplitSeq(name, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				return false
			}
		}
	}
	return true
}

func validHELO(name string) bool {
	if strings.HasPrefix(name, "[") && strings.HasSuffix(name, "]") {
		literal := strings.TrimPrefix(name[1:len(name)-1], "IPv6:")
		return net.ParseIP(literal) != nil
	}
	return validDomain(name)
}

// isLoopback reports whether host names this machine without asking DNS:
// "localhost" (RFC 6761 reserves it for loopback) or a loopback address.
func isLoopback(host string) bool {
	if strings.EqualFold(strings.TrimSuffix(host, "."), "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
