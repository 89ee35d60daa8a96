package notify_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/notify"
)

func TestValidateNamesTheField(t *testing.T) {
	valid := notify.MailConfig{Host: "smtp.example.com", From: "Example Shop <privacy@shop.example>"}
	with := func(change func(*notify.MailConfig)) notify.MailConfig {
		c := valid
		change(&c)
		return c
	}
	cases := []struct {
		name string
		cfg  notify.MailConfig
		want []string // fields at fault, sorted; none for a valid config
	}{
		{"minimal", valid, nil},
		{"every setting", with(func(c *notify.MailConfig) {
			c.Port, c.TLS, c.Username, c.Password, c.HELOName, c.Timeout = 465, notify.TLSImplicit, "steward", "s3cret", "mail.shop.example", 30*time.Second
		}), nil},
		{"IPv6 host", with(func(c *notify.MailConfig) { c.Host = "2001:db8::25" }), nil},
		{"no host", with(func(c *notify.MailConfig) { c.Host = " " }), []string{"host"}},
		{"host with scheme", with(func(c *notify.MailConfig) { c.Host = "smtp://smtp.example.com" }), []string{"host"}},
		{"host with port", with(func(c *notify.MailConfig) { c.Host = "smtp.example.com:587" }), []string{"host"}},
		{"unix socket", with(func(c *notify.MailConfig) { c.Host = "unix:///run/smtp.sock" }), []string{"host"}},
		{"port too high", with(func(c *notify.MailConfig) { c.Port = 70000 }), []string{"port"}},
		{"negative port", with(func(c *notify.MailConfig) { c.Port = -1 }), []string{"port"}},
		{"unknown tls mode", with(func(c *notify.MailConfig) { c.TLS = "ssl" }), []string{"tls"}},
		{"no tls to a remote host", with(func(c *notify.MailConfig) { c.TLS = notify.TLSNone }), []string{"tls"}},
		{"no tls to a private address", with(func(c *notify.MailConfig) { c.TLS, c.Host = notify.TLSNone, "10.0.0.25" }), []string{"tls"}},
		{"no tls to localhost", with(func(c *notify.MailConfig) { c.TLS, c.Host = notify.TLSNone, "localhost" }), nil},
		{"no tls to 127.0.0.5", with(func(c *notify.MailConfig) { c.TLS, c.Host = notify.TLSNone, "127.0.0.5" }), nil},
		// Credentials in clear, even on loopback, only with the explicit
		// opt-in (the old behaviour accepted the first case).
		{"no tls to ::1 with a password", with(func(c *notify.MailConfig) {
			c.TLS, c.Host, c.Username, c.Password = notify.TLSNone, "::1", "steward", "s3cret"
		}), []string{"password"}},
		{"no tls to localhost with a password, allowed", with(func(c *notify.MailConfig) {
			c.TLS, c.Host, c.Username, c.Password, c.AllowPlainAuth = notify.TLSNone, "localhost", "steward", "s3cret", true
		}), nil},
		{"plain auth allowed, but not to a relay elsewhere", with(func(c *notify.MailConfig) {
			c.TLS, c.Host, c.AllowInsecure, c.AllowPlainAuth, c.Username, c.Password = notify.TLSNone, "relay", true, true, "steward", "s3cret"
		}), []string{"password"}},
		{"no tls allowed to a relay", with(func(c *notify.MailConfig) { c.TLS, c.Host, c.AllowInsecure = notify.TLSNone, "relay", true }), nil},
		{"no tls allowed, but not for a password", with(func(c *notify.MailConfig) {
			c.TLS, c.Host, c.AllowInsecure, c.Username, c.Password = notify.TLSNone, "relay", true, "steward", "s3cret"
		}), []string{"password"}},
		{"username without password", with(func(c *notify.MailConfig) { c.Username = "steward" }), []string{"password"}},
		{"password without username", with(func(c *notify.MailConfig) { c.Password = "s3cret" }), []string{"username"}},
		{"line break in password", with(func(c *notify.MailConfig) { c.Username, c.Password = "steward", "s3cret\r\nRSET" }), []string{"password"}},
		{"NUL in username", with(func(c *notify.MailConfig) { c.Username, c.Password = "a\x00b", "s3cret" }), []string{"username"}},
		{"no from", with(func(c *notify.MailConfig) { c.From = "" }), []string{"from"}},
		{"from not an address", with(func(c *notify.MailConfig) { c.From = "Example Shop" }), []string{"from"}},
		{"from two addresses", with(func(c *notify.MailConfig) { c.From = "a@shop.example, b@shop.example" }), []string{"from"}},
		{"from with a line break", with(func(c *notify.MailConfig) { c.From = "privacy@shop.example\r\nBcc: x@evil.example" }), []string{"from"}},
		{"helo with a space", with(func(c *notify.MailConfig) { c.HELOName = "mail shop" }), []string{"helo"}},
		{"helo address literal", with(func(c *notify.MailConfig) { c.HELOName = "[192.0.2.1]" }), nil},
		{"timeout too short", with(func(c *notify.MailConfig) { c.Timeout = time.Millisecond }), []string{"timeout"}},
		{"timeout too long", with(func(c *notify.MailConfig) { c.Timeout = time.Hour }), []string{"timeout"}},
		{"several at once", notify.MailConfig{Port: -1, TLS: "ssl"}, []string{"from", "host", "port", "tls"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			problems := c.cfg.Validate()
			var got []string
			for field := range problems {
				got = append(got, field)
			}
			slices.Sort(got)
			if !slices.Equal(got, c.want) {
				t.Fatalf("Validate() = %v, want problems with %v", problems, c.want)
			}
			_, err := notify.NewMailer(c.cfg)
			if len(c.want) == 0 {
				if err != nil {
					t.Fatalf("NewMailer: %v", err)
				}
				return
			}
			e, ok := errs.As(err)
			if !ok || e.Code != errs.CodeInvalid {
				t.Fatalf("NewMailer error %v, want an invalid-input error", err)
			}
			for _, field := range c.want {
				if e.Fields[field] == "" || !strings.Contains(err.Error(), field+":") {
					t.Errorf("NewMailer error %q does not name %s", err, field)
				}
			}
		})
	}
}

func TestValidateNeverQuotesThePassword(t *testing.T) {
	cfg := notify.MailConfig{Host: "smtp.example.com", From: "privacy@shop.example", Username: "steward", Password: "hunter2\n"}
	for field, problem := range cfg.Validate() {
		if strings.Contains(problem, "hunter2") {
			t.Fatalf("%s: %q quotes the password", field, problem)
		}
	}
}
