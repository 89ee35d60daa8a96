// Package mailtest runs a real SMTP server inside a test, so the code under
// test sends mail through notify.Mailer exactly as in production, and the
// test reads what arrived:
//
//	srv := mailtest.Start(t, mailtest.Options{Username: "steward", Password: "secret"})
//	mailer, err := notify.NewMailer(srv.MailConfig("Shop <privacy@shop.example>"))
//	// ... the code under test mails ada@example.com a sign-in code ...
//	msg := srv.WaitFor(t, "ada@example.com")
//	code := msg.Code() // "402113"
//
// The server listens on 127.0.0.1 at a free port, speaks plain SMTP,
// STARTTLS or implicit TLS with a certificate made at start (MailConfig
// trusts it), and stops when the test ends.
package mailtest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/steward-dev/steward/internal/notify"
)

// Options configure a Server. The zero value is a plain-text server
// without authentication.
type Options struct {
	// Username and Password, when set, make AUTH PLAIN mandatory: MAIL FROM
	// without it is refused with 530.
	Username string
	Password string
	// TLS is notify.TLSNone (the default), notify.TLSStartTLS or
	// notify.TLSImplicit.
	TLS notify.TLSMode
	// Wait bounds WaitFor (default 10s, generous for a loaded CI machine).
	Wait time.Duration
}

// Message is one message as the server received it.
type Message struct {
	// From is the envelope sender (MAIL FROM), To the envelope recipients
	// (RCPT TO): where the mail really went, whatever the headers say.
	From string
	To   []string
	// Raw is the message as sent after DATA.
	Raw []byte
	// Header is Raw's top-level header; Subject is its Subject, decoded.
	Header  mail.Header
	Subject string
	// Text and HTML are the decoded text/plain and text/html parts.
	Text string
	HTML string
	// User is the name the client authenticated with, empty without AUTH.
	User string
	// TLS reports whether the session was encrypted when DATA arrived.
	TLS bool

	parseErr error
}

var sixDigits = regexp.MustCompile(`\b[0-9]{6}\b`)

// Code returns the first run of exactly six digits in the text part: the
// one-time code of a notify.TemplateSigninCode message. It is empty if
// there is none.
func (m Message) Code() string { return sixDigits.FindString(m.Text) }

// Server is a running SMTP server. Its methods are safe for concurrent use.
type Server struct {
	opts     Options
	addr     *net.TCPAddr
	listener net.Listener
	roots    *x509.CertPool
	server   *smtp.Server

	mu       sync.Mutex
	received []Message
	taken    []bool
	arrived  chan struct{} // closed, and replaced, when a message arrives
	rejects  map[string]int
	refused  map[string]int // RCPT TO refused, per address
	// clearAuths counts the AUTH exchanges over a connection without TLS:
	// credentials that travelled in clear.
	clearAuths int
	// blocked, when set (by this package's tests), is told each time
	// WaitFor has found nothing and starts to wait.
	blocked func()
}

// Start starts a server for the length of tb.
func Start(tb testing.TB, opts Options) *Server {
	tb.Helper()
	if opts.Wait == 0 {
		opts.Wait = 10 * time.Second
	}
	if opts.TLS == "" {
		opts.TLS = notify.TLSNone
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("mailtest: listen: %v", err)
	}
	s := &Server{opts: opts, addr: ln.Addr().(*net.TCPAddr), arrived: make(chan struct{}), rejects: map[string]int{}}
	s.server = smtp.NewServer(smtp.BackendFunc(s.newSession))
	s.server.Domain = "mailtest.localhost"
	s.server.ReadTimeout = 30 * time.Second
	s.server.WriteTimeout = 30 * time.Second
	s.server.MaxMessageBytes = 10 << 20
	s.server.MaxRecipients = 50
	s.server.EnableSMTPUTF8 = true
	s.server.ErrorLog = log.New(io.Discard, "", 0)
	switch opts.TLS {
	case notify.TLSNone:
		// AUTH PLAIN in clear, as a relay on localhost allows it.
		s.server.AllowInsecureAuth = true
	case notify.TLSStartTLS, notify.TLSImplicit:
		cert, roots, err := selfSigned()
		if err != nil {
			ln.Close()
			tb.Fatalf("mailtest: certificate: %v", err)
		}
		s.roots = roots
		config := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		if opts.TLS == notify.TLSStartTLS {
			s.server.TLSConfig = config
		} else {
			ln = tls.NewListener(ln, config)
		}
	default:
		ln.Close()
		tb.Fatalf("mailtest: unknown TLS mode %q", opts.TLS)
	}
	s.listener = ln
	served := make(chan struct{})
	go func() {
		defer close(served)
		s.server.Serve(ln)
	}()
	tb.Cleanup(func() {
		s.Close()
		<-served
	})
	return s
}

// Close stops the server at once, closing open sessions; later connections
// are refused. Tests call it to see how a sender copes with a server that
// is down; otherwise the end of the test closes it.
func (s *Server) Close() {
	// go-smtp closes only the listeners its Serve has registered, and
	// Serve may not have started yet: close ours too. The errors are
	// "closed already", which does not matter here.
	_ = s.server.Close()
	_ = s.listener.Close()
}

// Host returns the address the server listens on: 127.0.0.1.
func (s *Server) Host() string { return s.addr.IP.String() }

// Port returns the port the server listens on.
func (s *Server) Port() int { return s.addr.Port }

// Addr returns "127.0.0.1:port".
func (s *Server) Addr() string { return s.addr.String() }

// RootCAs returns a pool that trusts the server's certificate, nil for a
// server without TLS.
func (s *Server) RootCAs() *x509.CertPool { return s.roots }

// MailConfig returns a configuration for notify.NewMailer that reaches this
// server with its TLS mode and credentials and trusts its certificate. A
// server without TLS that wants credentials is a loopback relay: the
// configuration opts in to plain authentication (AllowPlainAuth), as an
// operator would have to.
func (s *Server) MailConfig(from string) notify.MailConfig {
	return notify.MailConfig{
		Host: s.Host(), Port: s.Port(), TLS: s.opts.TLS,
		Username: s.opts.Username, Password: s.opts.Password,
		AllowPlainAuth: s.opts.TLS == notify.TLSNone && s.opts.Username != "",
		From:           from, HELOName: "steward.test", Timeout: 10 * time.Second, RootCAs: s.roots,
	}
}

// ClearAuths returns how many times a client authenticated (or tried to)
// over a connection without TLS: how often credentials travelled in clear.
func (s *Server) ClearAuths() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.clearAuths
}

// RejectRecipient makes the server answer RCPT TO for address with code:
// a 4xx code (a temporary failure, such as 451) or a 5xx code (a permanent
// one, such as 550). The reply quotes the address, as real servers do.
// Code 0 accepts the address again.
func (s *Server) RejectRecipient(address string, code int) {
	if code != 0 && (code < 400 || code > 599) {
		panic(fmt.Sprintf("mailtest: RejectRecipient code %d is not 4xx or 5xx", code))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if code == 0 {
		delete(s.rejects, normalAddress(address))
		return
	}
	s.rejects[normalAddress(address)] = code
}

// Messages returns every message received so far, oldest first.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.received...)
}

// WaitFor returns the oldest message for recipient (an envelope recipient,
// compared without case) that WaitFor has not returned before, waiting for
// it to arrive if need be. It fails tb if none arrives within
// Options.Wait, or if the message cannot be parsed.
func (s *Server) WaitFor(tb testing.TB, recipient string) Message {
	tb.Helper()
	return s.WaitForMatch(tb, recipient, nil)
}

// WaitForMatch is WaitFor for the oldest such message that match accepts
// (nil accepts any), leaving the others for later calls: the message a test
// means when several are sent to one person in an order it does not fix.
func (s *Server) WaitForMatch(tb testing.TB, recipient string, match func(Message) bool) Message {
	tb.Helper()
	want := normalAddress(recipient)
	timeout := time.NewTimer(s.opts.Wait)
	defer timeout.Stop()
	for {
		s.mu.Lock()
		for i, m := range s.received {
			if s.taken[i] || !hasRecipient(m, want) || (match != nil && (m.parseErr != nil || !match(m))) {
				continue
			}
			s.taken[i] = true
			s.mu.Unlock()
			if m.parseErr != nil {
				tb.Fatalf("mailtest: message for %s does not parse: %v\n%s", recipient, m.parseErr, m.Raw)
			}
			return m
		}
		arrived, total, blocked := s.arrived, len(s.received), s.blocked
		s.mu.Unlock()
		if blocked != nil {
			blocked()
		}
		select {
		case <-arrived:
		case <-timeout.C:
			tb.Fatalf("mailtest: no new message for %s (that the test wants) within %v (%d received in all)", recipient, s.opts.Wait, total)
			return Message{}
		}
	}
}

func hasRecipient(m Message, want string) bool {
	for _, to := range m.To {
		if normalAddress(to) == want {
			return true
		}
	}
	return false
}

func normalAddress(a string) string {
	return strings.ToLower(strings.Trim(strings.TrimSpace(a), "<>"))
}

func (s *Server) add(m Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.received = append(s.received, m)
	s.taken = append(s.taken, false)
	close(s.arrived)
	s.arrived = make(chan struct{})
}

func (s *Server) rejection(to string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	code := s.rejects[normalAddress(to)]
	if code != 0 {
		if s.refused == nil {
			s.refused = map[string]int{}
		}
		s.refused[normalAddress(to)]++
	}
	return code
}

// Refused returns how many times the server refused a message to address
// (RejectRecipient): a signal that a sender tried, for tests that must
// show what did not happen after a refusal without waiting a fixed time.
func (s *Server) Refused(address string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refused[normalAddress(address)]
}

func (s *Server) newSession(c *smtp.Conn) (smtp.Session, error) {
	return &session{server: s, conn: c}, nil
}

// session is one SMTP connection.
type session struct {
	server *Server
	conn   *smtp.Conn
	user   string
	from   string
	to     []string
}

var _ smtp.AuthSession = (*session)(nil)

func (s *session) AuthMechanisms() []string {
	if s.server.opts.Username == "" {
		return nil // no AUTH in EHLO
	}
	return []string{sasl.Plain}
}

func (s *session) Auth(string) (sasl.Server, error) {
	if _, isTLS := s.conn.TLSConnectionState(); !isTLS {
		s.server.mu.Lock()
		s.server.clearAuths++
		s.server.mu.Unlock()
	}
	return sasl.NewPlainServer(func(identity, username, password string) error {
		o := s.server.opts
		if (identity != "" && identity != username) || username != o.Username || password != o.Password {
			return smtp.ErrAuthFailed
		}
		s.user = username
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.server.opts.Username != "" && s.user == "" {
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}
	}
	s.from, s.to = from, nil
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if code := s.server.rejection(to); code != 0 {
		enhanced := smtp.EnhancedCode{5, 1, 1} // bad destination mailbox
		if code < 500 {
			enhanced = smtp.EnhancedCode{4, 7, 1} // as greylisting answers
		}
		return &smtp.SMTPError{Code: code, EnhancedCode: enhanced, Message: "<" + to + ">: recipient rejected by mailtest"}
	}
	s.to = append(s.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m := parse(raw)
	m.From, m.To, m.User = s.from, append([]string(nil), s.to...), s.user
	_, m.TLS = s.conn.TLSConnectionState()
	s.server.add(m)
	return nil
}

func (s *session) Reset() { s.from, s.to = "", nil }

func (s *session) Logout() error { return nil }

// parse reads the header, subject and text parts of a raw message. A
// problem is kept in parseErr for WaitFor to report.
func parse(raw []byte) Message {
	m := Message{Raw: raw}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		m.parseErr = fmt.Errorf("header: %w", err)
		return m
	}
	m.Header = msg.Header
	if m.Subject, err = new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject")); err != nil {
		m.parseErr = fmt.Errorf("subject: %w", err)
		return m
	}
	m.parseErr = walk(&m, msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body)
	return m
}

// walk finds the first text/plain and text/html parts of a body, through
// nested multiparts.
func walk(m *Message, contentType, encoding string, body io.Reader) error {
	if contentType == "" {
		contentType = "text/plain; charset=us-ascii"
	}
	media, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return fmt.Errorf("content type %q: %w", contentType, err)
	}
	if strings.HasPrefix(media, "multipart/") {
		parts := multipart.NewReader(body, params["boundary"])
		for {
			// NextPart undoes quoted-printable itself and drops the header
			// that announced it; base64 is left to decode.
			p, err := parts.NextPart()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("multipart: %w", err)
			}
			if err := walk(m, p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p); err != nil {
				return err
			}
		}
	}
	if media != "text/plain" && media != "text/html" {
		return nil
	}
	if cs := strings.ToLower(params["charset"]); cs != "" && cs != "utf-8" && cs != "us-ascii" {
		return fmt.Errorf("%s part: charset %q is not supported", media, cs)
	}
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, body)
	case "", "7bit", "8bit", "binary":
	default:
		return fmt.Errorf("%s part: transfer encoding %q is not supported", media, encoding)
	}
	text, err := io.ReadAll(body)
	if err != nil {
		return fmt.Errorf("%s part: %w", media, err)
	}
	// Mail lines end in CRLF; tests compare with Go strings.
	decoded := strings.ReplaceAll(string(text), "\r\n", "\n")
	if media == "text/plain" && m.Text == "" {
		m.Text = decoded
	} else if media == "text/html" && m.HTML == "" {
		m.HTML = decoded
	}
	return nil
}

// selfSigned makes a certificate for 127.0.0.1, ::1 and localhost, and a
// pool that trusts it.
func selfSigned() (tls.Certificate, *x509.CertPool, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	now := time.Now()
	template := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "mailtest"},
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	roots := x509.NewCertPool()
	roots.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, roots, nil
}
