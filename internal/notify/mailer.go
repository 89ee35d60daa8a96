package notify

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base32"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/mail"
	"net/textproto"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	gomail "github.com/wneessen/go-mail"

	"github.com/steward-dev/steward/internal/errs"
)

// Message is one email to one recipient. Templates.Render fills everything
// but To.
type Message struct {
	// To is the recipient: "ada@example.com" or "Ada <ada@example.com>".
	To      string
	Subject string
	// Text is the plain-text body; every message has one.
	Text string
	// HTML is the optional HTML body, sent as the preferred alternative to
	// Text (multipart/alternative).
	HTML string
	// Headers are extra header fields, such as "Auto-Submitted":
	// "auto-generated". The fields the Mailer writes itself (From, To,
	// Subject, Date, Message-ID, MIME and Content-Type fields...) are refused.
	Headers map[string]string
	// MessageID is the Message-ID, with or without angle brackets; empty
	// means a random one at the sender's domain. Setting it lets a caller
	// match bounces to what it sent, and keeps a retried message's ID.
	MessageID string
}

// Limits on a message. A subject is shown in one line; header lines must
// stay under the 998 characters of RFC 5322 once encoded.
const (
	maxSubject     = 250
	maxHeaderValue = 500
)

var errLineBreak = errors.New("contains a line break")

// reservedHeaders are written by the Mailer or by the MIME encoder; a
// caller's value would duplicate or contradict them.
var reservedHeaders = map[string]bool{
	"from": true, "sender": true, "to": true, "cc": true, "bcc": true, "reply-to": true,
	"subject": true, "date": true, "message-id": true, "mime-version": true,
	"content-type": true, "content-transfer-encoding": true, "return-path": true,
	"received": true, "dkim-signature": true,
}

// Mailer sends messages over SMTP. It is safe for concurrent use: each Send
// opens its own connection, which suits Steward's few messages a minute
// and leaves no idle connection for a server to drop.
type Mailer struct {
	cfg  MailConfig
	from *mail.Address
	now  func() time.Time
	log  *slog.Logger
}

// NewMailer returns a Mailer for cfg, or an invalid-input error naming each
// field at fault. It does not connect: a mail server that is down must not
// keep Steward from starting.
func NewMailer(cfg MailConfig) (*Mailer, error) {
	if problems := cfg.Validate(); len(problems) > 0 {
		return nil, errs.Fields(problems)
	}
	cfg = cfg.withDefaults()
	from, err := parseFrom(cfg.From)
	if err != nil {
		return nil, errs.Invalid("from", "must be one address")
	}
	m := &Mailer{cfg: cfg, from: from, now: cfg.Now, log: cfg.Logger}
	if m.now == nil {
		m.now = time.Now
	}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	return m, nil
}

// Steps of a delivery, named in a DeliveryError.
const (
	StepConnect  = "connect"   // TCP, greeting, EHLO, TLS and AUTH
	StepMailFrom = "mail from" // the envelope sender
	StepRcptTo   = "rcpt to"   // the recipient
	StepData     = "data"      // the message itself, up to the server's final reply
)

// DeliveryError is a failed attempt to hand a message to the mail server.
// Its text names the step and the server's reply, with any address in the
// reply redacted, so it can be logged.
type DeliveryError struct {
	// Step is one of StepConnect, StepMailFrom, StepRcptTo, StepData.
	Step string
	// Code is the server's reply code (451, 550...), 0 when the failure
	// was not a reply: a refused connection, a TLS or network error.
	Code int
	// Enhanced is the RFC 3463 status the server gave with Code, such as
	// "5.1.1", or empty.
	Enhanced string
	// Temporary reports whether the same message may go through later.
	Temporary bool
	err       error
}

func (e *DeliveryError) Error() string {
	if e.err == nil {
		return e.Step + ": failed"
	}
	return e.Step + ": " + redact(e.err.Error())
}

// Unwrap returns the cause. Its text may quote the recipient: log the
// DeliveryError, not its cause.
func (e *DeliveryError) Unwrap() error { return e.err }

// IsTemporary reports whether err, from Send, is worth retrying with the
// same message: the server could not be reached or reached properly (no
// connection, TLS or authentication failure, 530 "authentication
// required", a dropped connection), the server answered 4xx, or the context
// ended first. It is false for another 5xx answer to the message or its
// recipient, for a message refused before sending, and for nil.
//
// Failures before the message is offered count as temporary even when they
// need an operator (a wrong password, an expired certificate), as Postfix
// defers them: a reminder waiting in the queue while the settings are fixed
// is better than one dropped.
func IsTemporary(err error) bool {
	var d *DeliveryError
	return errors.As(err, &d) && d.Temporary
}

// Send delivers msg. It returns when the server has accepted the message
// or refused it, or when ctx ends (a connection in use is closed then).
//
// Errors carry an errs code: invalid for a message that cannot be sent as
// given (naming the field) or a recipient the server refused (field "to"),
// unavailable for temporary failures, internal for other refusals.
func (m *Mailer) Send(ctx context.Context, msg Message) error {
	built, err := m.build(msg)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return m.fail(ctx, StepConnect, err)
	}
	var (
		mu   sync.Mutex
		conn net.Conn
	)
	closeConn := func() {
		mu.Lock()
		defer mu.Unlock()
		if conn != nil {
			conn.Close()
		}
	}
	// go-mail uses ctx only to dial; closing the connection when ctx ends
	// makes every later step return at once.
	stop := context.AfterFunc(ctx, closeConn)
	defer stop()
	defer closeConn()
	dial := func(dialCtx context.Context, network, _ string) (net.Conn, error) {
		c, err := m.dial(dialCtx, network)
		if err != nil {
			return nil, err
		}
		mu.Lock()
		conn = c
		mu.Unlock()
		if ctx.Err() != nil { // ended between the dial and the line above
			c.Close()
		}
		return c, nil
	}
	client, err := m.client(dial)
	if err != nil {
		return m.fail(ctx, StepConnect, err)
	}
	session, err := client.DialToSMTPClientWithContext(ctx)
	if err != nil {
		return m.fail(ctx, StepConnect, err)
	}
	// Sending through go-mail's smtp.Client rather than Client.Send keeps
	// each server reply as a *textproto.Error with its code; Client.Send's
	// error text lists the recipients.
	from, err := built.GetSender(false)
	if err != nil {
		return fmt.Errorf("envelope sender: %w", err)
	}
	rcpts, err := built.GetRecipients()
	if err != nil {
		return fmt.Errorf("envelope recipients: %w", err)
	}
	// go-mail set one deadline when it dialled; each step gets its own, so
	// Timeout bounds a step rather than the whole session.
	if err := session.UpdateDeadline(m.cfg.Timeout); err != nil {
		return m.fail(ctx, StepMailFrom, err)
	}
	if err := session.Mail(from); err != nil {
		return m.fail(ctx, StepMailFrom, err)
	}
	for _, rcpt := range rcpts {
		if err := session.UpdateDeadline(m.cfg.Timeout); err != nil {
			return m.fail(ctx, StepRcptTo, err)
		}
		if err := session.Rcpt(rcpt); err != nil {
			return m.fail(ctx, StepRcptTo, err)
		}
	}
	if err := session.UpdateDeadline(m.cfg.Timeout); err != nil {
		return m.fail(ctx, StepData, err)
	}
	w, err := session.Data()
	if err != nil {
		return m.fail(ctx, StepData, err)
	}
	if _, err := built.WriteTo(w); err != nil {
		return m.fail(ctx, StepData, err)
	}
	if err := w.Close(); err != nil {
		return m.fail(ctx, StepData, err)
	}
	// The server has taken the message: a failed QUIT must not make a
	// caller send it twice.
	if err := session.Quit(); err != nil {
		m.log.WarnContext(ctx, "smtp quit after delivery", "err", redact(err.Error()))
	}
	return nil
}

// dial connects to the server, with TLS from the start in implicit mode.
// The address comes from the configuration: go-mail's own joins host and
// port without the brackets an IPv6 address needs.
func (m *Mailer) dial(ctx context.Context, network string) (net.Conn, error) {
	addr := net.JoinHostPort(m.cfg.Host, strconv.Itoa(m.cfg.Port))
	dialer := &net.Dialer{Timeout: m.cfg.Timeout}
	if m.cfg.TLS == TLSImplicit {
		return (&tls.Dialer{NetDialer: dialer, Config: m.tlsConfig()}).DialContext(ctx, network, addr)
	}
	return dialer.DialContext(ctx, network, addr)
}

func (m *Mailer) tlsConfig() *tls.Config {
	return &tls.Config{ServerName: m.cfg.Host, MinVersion: tls.VersionTLS12, RootCAs: m.cfg.RootCAs}
}

// client returns a go-mail client for one delivery.
func (m *Mailer) client(dial gomail.DialContextFunc) (*gomail.Client, error) {
	opts := []gomail.Option{
		gomail.WithPort(m.cfg.Port),
		gomail.WithTimeout(m.cfg.Timeout),
		gomail.WithTLSConfig(m.tlsConfig()),
		gomail.WithDialContextFunc(dial),
		// The connection is new: go-mail's NOOP before sending would only
		// cost a round trip.
		gomail.WithoutNoop(),
	}
	switch m.cfg.TLS {
	case TLSStartTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case TLSImplicit:
		// dial speaks TLS already; WithSSL keeps go-mail from STARTTLS.
		opts = append(opts, gomail.WithSSL())
	case TLSNone:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	}
	if m.cfg.HELOName != "" {
		opts = append(opts, gomail.WithHELO(m.cfg.HELOName))
	}
	if m.cfg.Username != "" {
		// PLAIN or LOGIN, whichever the server offers: every submission
		// server has one. go-mail's PLAIN and LOGIN refuse to send a password
		// over a connection without TLS; the -NOENC variants are only used
		// for tls=none, which Validate allows with credentials only towards
		// a loopback host.
		mechs := []gomail.SMTPAuthType{gomail.SMTPAuthPlain, gomail.SMTPAuthLogin}
		if m.cfg.TLS == TLSNone {
			mechs = []gomail.SMTPAuthType{gomail.SMTPAuthPlainNoEnc, gomail.SMTPAuthLoginNoEnc}
		}
		opts = append(opts, gomail.WithOpportunisticSMTPAuth(mechs...),
			gomail.WithUsername(m.cfg.Username), gomail.WithPassword(m.cfg.Password))
	}
	return gomail.NewClient(m.cfg.Host, opts...)
}

// fail turns a failed step into Send's error.
func (m *Mailer) fail(ctx context.Context, step string, err error) error {
	d := &DeliveryError{Step: step, err: err}
	var reply *textproto.Error
	if errors.As(err, &reply) {
		d.Code = reply.Code
		d.Enhanced = enhancedCode.FindString(reply.Msg)
	}
	if ctxErr := ctx.Err(); ctxErr != nil && d.Code == 0 {
		// What failed is the connection closed when ctx ended; the cause
		// is ctx.
		d.err = ctxErr
	}
	switch {
	case step == StepConnect:
		d.Temporary = true
	case d.Code == 530:
		// RFC 4954's "authentication required": the settings lack
		// credentials, like a failed AUTH, rather than a verdict on the
		// message.
		d.Temporary = true
	case d.Code >= 400 && d.Code < 500:
		d.Temporary = true
	case d.Code >= 500:
		d.Temporary = false
	default:
		// No reply during the exchange: the connection broke.
		d.Temporary = true
	}
	switch {
	case d.Temporary:
		return &errs.Error{Code: errs.CodeUnavailable, Message: "send mail", Err: d}
	case step == StepRcptTo:
		return &errs.Error{Code: errs.CodeInvalid, Message: "send mail", Err: d,
			Fields: map[string]string{"to": "refused by the mail server"}}
	default:
		return &errs.Error{Code: errs.CodeInternal, Message: "send mail", Err: d}
	}
}

var (
	enhancedCode = regexp.MustCompile(`^[245]\.\d{1,3}\.\d{1,3}\b`)
	// emailLike matches anything with an @ between non-delimiters: better
	// to redact a stray word than to log an address.
	emailLike = regexp.MustCompile(`[^\s<>"'(),;:\[\]]*@[^\s<>"'(),;:\[\]]+`)
)

// redact replaces what looks like an email address in a server reply or
// error text.
func redact(s string) string { return emailLike.ReplaceAllString(s, "[address]") }

// build checks msg and turns it into a go-mail message.
func (m *Mailer) build(msg Message) (*gomail.Msg, error) {
	problems := map[string]string{}
	to, err := parseRecipient(msg.To)
	if err != nil {
		problems["to"] = err.Error()
	}
	if p := checkSubject(msg.Subject); p != "" {
		problems["subject"] = p
	}
	if strings.TrimSpace(msg.Text) == "" {
		problems["text"] = "is required: every message has a plain-text part"
	} else if !utf8.ValidString(msg.Text) {
		problems["text"] = "must be UTF-8"
	}
	if !utf8.ValidString(msg.HTML) {
		problems["html"] = "must be UTF-8"
	}
	seen := map[string]bool{}
	for name, value := range msg.Headers {
		key := strings.ToLower(name)
		field := "headers." + name
		switch {
		case !validFieldName(name):
			// Not quoted: the name could hold a line break, or anything.
			problems["headers"] = "has a name that is not a valid header name"
		case reservedHeaders[key] || strings.HasPrefix(key, "content-") && key != "content-language":
			problems[field] = "is set by the mailer"
		case seen[key]:
			problems[field] = "is given twice"
		case strings.ContainsAny(value, "\r\n\x00"):
			problems[field] = "must not contain line breaks"
		case len(value) > maxHeaderValue || !utf8.ValidString(value):
			problems[field] = fmt.Sprintf("must be UTF-8, at most %d bytes", maxHeaderValue)
		}
		seen[key] = true
	}
	id := strings.TrimSuffix(strings.TrimPrefix(msg.MessageID, "<"), ">")
	if id == "" {
		if id, err = newMessageID(m.from.Address); err != nil {
			return nil, fmt.Errorf("message id: %w", err)
		}
	} else if !validMessageID(id) {
		problems["message_id"] = "must look like <unique@domain>"
	}
	if len(problems) > 0 {
		return nil, errs.Fields(problems)
	}

	out := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	from := *m.from
	out.FromMailAddress(&from)
	out.ToMailAddress(to)
	out.Subject(msg.Subject)
	out.SetDateWithValue(m.now())
	out.SetMessageIDWithValue(id)
	for name, value := range msg.Headers {
		out.SetGenHeader(gomail.Header(name), value)
	}
	out.SetBodyString(gomail.TypeTextPlain, msg.Text)
	if msg.HTML != "" {
		out.AddAlternativeString(gomail.TypeTextHTML, msg.HTML)
	}
	return out, nil
}

// parseRecipient checks one recipient. Its errors never quote the address.
func parseRecipient(to string) (*mail.Address, error) {
	if strings.TrimSpace(to) == "" {
		return nil, errors.New("is required")
	}
	if strings.ContainsAny(to, "\r\n\x00") {
		return nil, errors.New("must not contain line breaks")
	}
	addr, err := mail.ParseAddress(to)
	if err != nil {
		return nil, errors.New("must be one email address")
	}
	return addr, nil
}

// checkSubject refuses what would break out of the Subject line. go-mail
// would encode a CR or LF harmlessly, but a subject with one is a bug or an
// attack, and either should be seen.
func checkSubject(subject string) string {
	switch {
	case strings.TrimSpace(subject) == "":
		return "is required"
	case strings.ContainsAny(subject, "\r\n"):
		return "must not contain line breaks"
	case strings.ContainsFunc(subject, isControl):
		return "must not contain control characters"
	case !utf8.ValidString(subject):
		return "must be UTF-8"
	case utf8.RuneCountInString(subject) > maxSubject:
		return fmt.Sprintf("must be at most %d characters", maxSubject)
	}
	return ""
}

func isControl(r rune) bool { return r < 0x20 && r != '\t' || r == 0x7f }

// validFieldName follows RFC 5322: printable ASCII but the colon.
func validFieldName(name string) bool {
	if name == "" || len(name) > 76 {
		return false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c < 33 || c > 126 || c == ':' {
			return false
		}
	}
	return true
}

// validMessageID accepts the id-left@id-right form of RFC 5322, in
// printable ASCII without the characters that would end it.
func validMessageID(id string) bool {
	left, right, ok := strings.Cut(id, "@")
	if !ok || left == "" || right == "" || len(id) > 250 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c <= ' ' || c > '~' || strings.IndexByte(`<>()[]\,;:"`, c) >= 0 {
			return false
		}
	}
	return strings.Count(id, "@") == 1
}

var idEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// newMessageID returns a random Message-ID at the sender's domain, which
// unlike the machine's host name is public already and means something to
// the receiving side.
func newMessageID(sender string) (string, error) {
	_, domain, _ := strings.Cut(sender, "@")
	if domain == "" || !validMessageID("x@"+domain) {
		domain = "steward.invalid"
	}
	var b [16]byte
	if _, err := io.ReadFull(rand.Reader, b[:]); err != nil {
		return "", err
	}
	return strings.ToLower(idEncoding.EncodeToString(b[:])) + "@" + domain, nil
}
