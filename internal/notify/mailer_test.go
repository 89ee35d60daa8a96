package notify_test

import (
	"context"
	"errors"
	"net"
	"net/mail"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/notify"
	"github.com/steward-dev/steward/internal/notify/mailtest"
)

const sender = "Beispiel & Söhne GmbH <privacy@shop.example>"

var sentAt = time.Date(2026, 11, 28, 9, 30, 0, 0, time.UTC)

func mustMailer(tb testing.TB, cfg notify.MailConfig) *notify.Mailer {
	tb.Helper()
	cfg.Now = func() time.Time { return sentAt }
	m, err := notify.NewMailer(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

// TestSendEveryLanguage renders the sign-in message in each language, sends
// it through a real SMTP session (STARTTLS and AUTH, as in production) and
// reads it back as a mail client would.
func TestSendEveryLanguage(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{Username: "steward", Password: "s3cret", TLS: notify.TLSStartTLS})
	mailer := mustMailer(t, srv.MailConfig(sender))
	tmpl := mustTemplates(t)
	cases := []struct{ accept, lang, subjectWord, textWord string }{
		{"en-US", "en", "sign-in code", "valid for 10 minutes"},
		{"de-AT", "de", "Anmeldecode", "10 Minuten lang gültig"},
		{"fr-CA", "fr", "code de connexion", "valable 10 minutes"},
		{"es-MX", "es", "código de acceso", "válido durante 10 minutos"},
	}
	for _, c := range cases {
		t.Run(c.lang, func(t *testing.T) {
			rendered := mustRender(t, tmpl, c.accept, notify.TemplateSigninCode, signinData())
			rendered.To = "Ada Lovelace <ada+" + c.lang + "@example.com>"
			if err := mailer.Send(context.Background(), rendered); err != nil {
				t.Fatal(err)
			}
			got := srv.WaitFor(t, "ada+"+c.lang+"@example.com")
			if got.From != "privacy@shop.example" || len(got.To) != 1 {
				t.Errorf("envelope from %q to %q", got.From, got.To)
			}
			if got.User != "steward" || !got.TLS {
				t.Errorf("session user %q, TLS %v: want authenticated over TLS", got.User, got.TLS)
			}
			if got.Subject != rendered.Subject || !strings.Contains(got.Subject, c.subjectWord) {
				t.Errorf("subject %q, want %q", got.Subject, rendered.Subject)
			}
			// The parts survive encoding byte for byte.
			if got.Text != rendered.Text {
				t.Errorf("text part changed in transit:\n%q\nwant\n%q", got.Text, rendered.Text)
			}
			if got.HTML != rendered.HTML {
				t.Errorf("HTML part changed in transit")
			}
			if !strings.Contains(got.Text, c.textWord) || got.Code() != "402113" || !strings.Contains(got.HTML, ">402113<") {
				t.Errorf("message lacks %q or the code:\n%s", c.textWord, got.Text)
			}
			wellFormed(t, got.HTML)
			checkHeaders(t, got, c.lang)
		})
	}
}

func checkHeaders(t *testing.T, got mailtest.Message, lang string) {
	t.Helper()
	if ct := got.Header.Get("Content-Type"); !strings.HasPrefix(ct, "multipart/alternative;") {
		t.Errorf("Content-Type %q", ct)
	}
	for field, want := range map[string]string{
		"Auto-Submitted": "auto-generated", "X-Auto-Response-Suppress": "All", "Content-Language": lang,
		"Date": sentAt.Format(time.RFC1123Z),
	} {
		if v := got.Header.Get(field); v != want {
			t.Errorf("%s: %q, want %q", field, v, want)
		}
	}
	from, err := mail.ParseAddress(got.Header.Get("From"))
	if err != nil || from.Name != "Beispiel & Söhne GmbH" || from.Address != "privacy@shop.example" {
		t.Errorf("From %q (%v)", got.Header.Get("From"), err)
	}
	if !regexp.MustCompile(`^<[a-z2-7]{26}@shop\.example>$`).MatchString(got.Header.Get("Message-Id")) {
		t.Errorf("Message-ID %q is not random at the sender's domain", got.Header.Get("Message-Id"))
	}
	for _, field := range []string{"User-Agent", "X-Mailer", "Bcc"} {
		if v := got.Header.Get(field); v != "" {
			t.Errorf("%s: %q should not be sent", field, v)
		}
	}
}

func TestSendOverEveryTransport(t *testing.T) {
	cases := []struct {
		name string
		opts mailtest.Options
	}{
		{"plain to localhost without auth", mailtest.Options{}},
		{"plain to localhost with auth", mailtest.Options{Username: "steward", Password: "s3cret"}},
		{"starttls", mailtest.Options{TLS: notify.TLSStartTLS, Username: "steward", Password: "s3cret"}},
		{"implicit tls", mailtest.Options{TLS: notify.TLSImplicit, Username: "steward", Password: "s3cret"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := mailtest.Start(t, c.opts)
			mailer := mustMailer(t, srv.MailConfig(sender))
			msg := notify.Message{To: "bob@example.com", Subject: "Über Ihre Anfrage", Text: "Grüße\n", MessageID: "<fixed-1@shop.example>",
				Headers: map[string]string{"Auto-Submitted": "auto-generated"}}
			if err := mailer.Send(context.Background(), msg); err != nil {
				t.Fatal(err)
			}
			got := srv.WaitFor(t, "bob@example.com")
			if got.Subject != msg.Subject || got.Text != msg.Text || got.HTML != "" {
				t.Errorf("got subject %q text %q html %q", got.Subject, got.Text, got.HTML)
			}
			if got.Header.Get("Message-Id") != "<fixed-1@shop.example>" {
				t.Errorf("Message-ID %q, want the caller's", got.Header.Get("Message-Id"))
			}
			if got.User != c.opts.Username || got.TLS != (c.opts.TLS != "") {
				t.Errorf("user %q TLS %v", got.User, got.TLS)
			}
		})
	}
}

func TestTemporaryAndPermanentFailures(t *testing.T) {
	msg := notify.Message{To: "carol@example.com", Subject: "Reminder", Text: "Hello\n"}
	cases := []struct {
		name      string
		setup     func(t *testing.T) notify.MailConfig
		ctx       func(t *testing.T) context.Context
		temporary bool
		code      errs.Code
		step      string
		reply     int
	}{
		{"greylisted recipient (451)", func(t *testing.T) notify.MailConfig {
			srv := mailtest.Start(t, mailtest.Options{})
			srv.RejectRecipient("carol@example.com", 451)
			return srv.MailConfig(sender)
		}, nil, true, errs.CodeUnavailable, notify.StepRcptTo, 451},
		{"unknown recipient (550)", func(t *testing.T) notify.MailConfig {
			srv := mailtest.Start(t, mailtest.Options{})
			srv.RejectRecipient("Carol@Example.com", 550)
			return srv.MailConfig(sender)
		}, nil, false, errs.CodeInvalid, notify.StepRcptTo, 550},
		{"server down", func(t *testing.T) notify.MailConfig {
			srv := mailtest.Start(t, mailtest.Options{})
			srv.Close()
			return srv.MailConfig(sender)
		}, nil, true, errs.CodeUnavailable, notify.StepConnect, 0},
		{"wrong password (535)", func(t *testing.T) notify.MailConfig {
			srv := mailtest.Start(t, mailtest.Options{TLS: notify.TLSStartTLS, Username: "steward", Password: "s3cret"})
			cfg := srv.MailConfig(sender)
			cfg.Password = "wrong"
			return cfg
		}, nil, true, errs.CodeUnavailable, notify.StepConnect, 535},
		{"credentials missing (530)", func(t *testing.T) notify.MailConfig {
			srv := mailtest.Start(t, mailtest.Options{Username: "steward", Password: "s3cret"})
			cfg := srv.MailConfig(sender)
			cfg.Username, cfg.Password = "", ""
			return cfg
		}, nil, true, errs.CodeUnavailable, notify.StepMailFrom, 530},
		{"server silent past the deadline", func(t *testing.T) notify.MailConfig {
			return silentServer(t)
		}, func(t *testing.T) context.Context {
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			t.Cleanup(cancel)
			return ctx
		}, true, errs.CodeUnavailable, notify.StepConnect, 0},
		{"cancelled before sending", func(t *testing.T) notify.MailConfig {
			return mailtest.Start(t, mailtest.Options{}).MailConfig(sender)
		}, func(t *testing.T) context.Context {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx
		}, true, errs.CodeUnavailable, notify.StepConnect, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			mailer := mustMailer(t, c.setup(t))
			ctx := context.Background()
			if c.ctx != nil {
				ctx = c.ctx(t)
			}
			start := time.Now()
			err := mailer.Send(ctx, msg)
			if err == nil {
				t.Fatal("Send succeeded")
			}
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("Send took %v", took)
			}
			if notify.IsTemporary(err) != c.temporary {
				t.Errorf("IsTemporary(%v) = %v, want %v", err, !c.temporary, c.temporary)
			}
			if got := errs.CodeOf(err); got != c.code {
				t.Errorf("code %s, want %s (%v)", got, c.code, err)
			}
			var d *notify.DeliveryError
			if !errors.As(err, &d) || d.Step != c.step || d.Code != c.reply {
				t.Fatalf("error %v: want step %q reply %d", err, c.step, c.reply)
			}
			if (c.reply != 0) != (d.Enhanced != "") || d.Enhanced != "" && d.Enhanced[0] != byte('0'+c.reply/100) {
				t.Errorf("enhanced status %q for reply %d", d.Enhanced, c.reply)
			}
			if c.ctx != nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
				t.Errorf("error %v does not carry the context's", err)
			}
			// The recipient is personal data: no error text may name it,
			// even where the server's reply quotes it.
			if strings.Contains(strings.ToLower(err.Error()), "carol") {
				t.Errorf("error text names the recipient: %v", err)
			}
		})
	}
	if notify.IsTemporary(nil) || notify.IsTemporary(errors.New("other")) {
		t.Error("IsTemporary is true for an error that is not a delivery error")
	}
}

// silentServer accepts connections and never greets, like an overloaded or
// half-dead server.
func silentServer(t *testing.T) notify.MailConfig {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { close(done); ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { <-done; conn.Close() }()
		}
	}()
	addr := ln.Addr().(*net.TCPAddr)
	return notify.MailConfig{Host: "127.0.0.1", Port: addr.Port, TLS: notify.TLSNone, From: sender, Timeout: 10 * time.Second}
}

func TestTransportSecurityIsNotDowngraded(t *testing.T) {
	cases := []struct {
		name string
		opts mailtest.Options
		cfg  func(cfg notify.MailConfig) notify.MailConfig
		want string
	}{
		{"starttls required, server offers none", mailtest.Options{Username: "steward", Password: "s3cret"},
			func(cfg notify.MailConfig) notify.MailConfig { cfg.TLS = notify.TLSStartTLS; return cfg }, "STARTTLS"},
		{"certificate not trusted", mailtest.Options{TLS: notify.TLSStartTLS},
			func(cfg notify.MailConfig) notify.MailConfig { cfg.RootCAs = nil; return cfg }, "certificate"},
		{"implicit tls to a plain server", mailtest.Options{},
			func(cfg notify.MailConfig) notify.MailConfig { cfg.TLS = notify.TLSImplicit; return cfg }, "connect"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := mailtest.Start(t, c.opts)
			cfg := c.cfg(srv.MailConfig(sender))
			cfg.Timeout = 2 * time.Second
			mailer := mustMailer(t, cfg)
			err := mailer.Send(context.Background(), notify.Message{To: "dan@example.com", Subject: "Code", Text: "123456\n"})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Send error %v, want one mentioning %q", err, c.want)
			}
			if n := len(srv.Messages()); n != 0 {
				t.Fatalf("%d messages went through", n)
			}
		})
	}
}

func TestSendRefusesHeaderInjection(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{})
	mailer := mustMailer(t, srv.MailConfig(sender))
	valid := notify.Message{To: "erin@example.com", Subject: "Your code", Text: "123456\n"}
	with := func(change func(*notify.Message)) notify.Message {
		m := valid
		m.Headers = map[string]string{}
		change(&m)
		return m
	}
	cases := []struct {
		name  string
		msg   notify.Message
		field string
	}{
		{"CRLF in subject", with(func(m *notify.Message) { m.Subject = "Hello\r\nBcc: mallory@evil.example" }), "subject"},
		{"LF in subject", with(func(m *notify.Message) { m.Subject = "Hello\nBcc: mallory@evil.example" }), "subject"},
		{"CR in subject", with(func(m *notify.Message) { m.Subject = "Hello\rBcc: mallory@evil.example" }), "subject"},
		{"NUL in subject", with(func(m *notify.Message) { m.Subject = "Hello\x00" }), "subject"},
		{"no subject", with(func(m *notify.Message) { m.Subject = " " }), "subject"},
		{"long subject", with(func(m *notify.Message) { m.Subject = strings.Repeat("x", 251) }), "subject"},
		{"CRLF in recipient", with(func(m *notify.Message) { m.To = "erin@example.com\r\nRCPT TO:<mallory@evil.example>" }), "to"},
		{"two recipients", with(func(m *notify.Message) { m.To = "erin@example.com, mallory@evil.example" }), "to"},
		{"no recipient", with(func(m *notify.Message) { m.To = "" }), "to"},
		{"CRLF in a header value", with(func(m *notify.Message) { m.Headers["X-Tag"] = "a\r\nBcc: mallory@evil.example" }), "headers.X-Tag"},
		{"header name with a space", with(func(m *notify.Message) { m.Headers["X Tag"] = "a" }), "headers"},
		{"header name with a colon", with(func(m *notify.Message) { m.Headers["Bcc: mallory@evil.example\r\nX"] = "a" }), "headers"},
		{"Bcc as a header", with(func(m *notify.Message) { m.Headers["bcc"] = "mallory@evil.example" }), "headers.bcc"},
		{"Content-Type as a header", with(func(m *notify.Message) { m.Headers["Content-Type"] = "text/html" }), "headers.Content-Type"},
		{"CRLF in message id", with(func(m *notify.Message) { m.MessageID = "<a@b>\r\nBcc: mallory@evil.example" }), "message_id"},
		{"no text part", with(func(m *notify.Message) { m.Text = ""; m.HTML = "<p>hi</p>" }), "text"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := mailer.Send(context.Background(), c.msg)
			e, ok := errs.As(err)
			if !ok || e.Code != errs.CodeInvalid || e.Fields[c.field] == "" {
				t.Fatalf("Send error %v, want invalid %q", err, c.field)
			}
			if notify.IsTemporary(err) {
				t.Error("a refused message counts as temporary")
			}
			if strings.Contains(err.Error(), "mallory") || strings.Contains(err.Error(), "erin") {
				t.Errorf("error quotes an address: %v", err)
			}
		})
	}
	if n := len(srv.Messages()); n != 0 {
		t.Fatalf("%d refused messages reached the server", n)
	}
	// Characters that are not line breaks pass, encoded.
	ok := with(func(m *notify.Message) { m.Subject = "Grüße\tund <Willkommen> =?utf-8?q?x?=" })
	if err := mailer.Send(context.Background(), ok); err != nil {
		t.Fatal(err)
	}
	if got := srv.WaitFor(t, "erin@example.com"); got.Subject != ok.Subject || len(got.To) != 1 {
		t.Fatalf("subject %q to %v", got.Subject, got.To)
	}
}

func TestSendIsSafeForConcurrentUse(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{Username: "steward", Password: "s3cret"})
	mailer := mustMailer(t, srv.MailConfig(sender))
	const n = 8
	errc := make(chan error, n)
	for i := range n {
		go func() {
			errc <- mailer.Send(context.Background(), notify.Message{
				To: "frank" + string(rune('a'+i)) + "@example.com", Subject: "Hello", Text: "Hello\n"})
		}()
	}
	for range n {
		if err := <-errc; err != nil {
			t.Error(err)
		}
	}
	for i := range n {
		srv.WaitFor(t, "frank"+string(rune('a'+i))+"@example.com")
	}
}

// TestCredentialsNeedTLSOrTheOptIn replays a configuration that sends the
// SMTP password to a loopback relay without TLS: it is refused where it is
// made, naming the password, and the relay never sees credentials in
// clear, unless the operator opts in (--smtp-allow-plain-auth). Over
// STARTTLS the credentials go, encrypted, without any opt-in.
func TestCredentialsNeedTLSOrTheOptIn(t *testing.T) {
	t.Run("plain relay, no opt-in", func(t *testing.T) {
		srv := mailtest.Start(t, mailtest.Options{Username: "steward", Password: "s3cret"})
		cfg := srv.MailConfig(sender)
		cfg.AllowPlainAuth = false
		_, err := notify.NewMailer(cfg)
		if e, ok := errs.As(err); !ok || e.Code != errs.CodeInvalid || !strings.Contains(e.Fields["password"], "--smtp-allow-plain-auth") {
			t.Fatalf("NewMailer = %v, want the password refused", err)
		}
		if n := srv.ClearAuths(); n != 0 {
			t.Fatalf("%d AUTH exchanges in clear", n)
		}
	})
	t.Run("plain relay, opt-in", func(t *testing.T) {
		srv := mailtest.Start(t, mailtest.Options{Username: "steward", Password: "s3cret"})
		cfg := srv.MailConfig(sender)
		cfg.AllowPlainAuth = true
		if err := mustMailer(t, cfg).Send(context.Background(), notify.Message{To: "gail@example.com", Subject: "Hi", Text: "Hi\n"}); err != nil {
			t.Fatal(err)
		}
		if n := srv.ClearAuths(); n != 1 {
			t.Fatalf("%d AUTH exchanges in clear, want the one allowed", n)
		}
	})
	t.Run("starttls", func(t *testing.T) {
		srv := mailtest.Start(t, mailtest.Options{TLS: notify.TLSStartTLS, Username: "steward", Password: "s3cret"})
		if err := mustMailer(t, srv.MailConfig(sender)).Send(context.Background(), notify.Message{To: "gail@example.com", Subject: "Hi", Text: "Hi\n"}); err != nil {
			t.Fatal(err)
		}
		if got := srv.WaitFor(t, "gail@example.com"); got.User != "steward" || !got.TLS {
			t.Fatalf("user %q TLS %v", got.User, got.TLS)
		}
		if n := srv.ClearAuths(); n != 0 {
			t.Fatalf("%d AUTH exchanges in clear", n)
		}
	})
}
