// Package preference makes and opens the signed links of the preference
// centre: the link in every email of the company that opens the
// customer's communication preferences without a sign-in, and the
// one-click unsubscribe link (RFC 8058) the company's mailer puts in its
// List-Unsubscribe header.
//
// A link is its own credential and Steward stores nothing for it: the
// token in the URL is sealed (AES-256-GCM) under a key derived from the
// server's signing secret, so nobody can make, alter or read one without
// that secret. It names one subject, the property the company wrote
// from, the topics the email was about, what it is for (the page or the
// one-click unsubscribe) and when it expires. Sealing, rather than only
// signing, keeps the subject's id out of mailbox providers' logs.
//
//	links, err := preference.New(preference.Config{Secret: seed})
//	issued, err := links.Issue("cust-1", "shop", []string{"newsletter"})
//	claims, err := links.Open(token, preference.ForPage)
//
// Erasing a subject leaves nothing here to erase; the pages refuse the
// links of an erased subject, so that an old email cannot bring them back
// into the ledger.
package preference

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Purpose is what a link is for; a token made for one does not open the
// other.
type Purpose byte

// The purposes of links.
const (
	// ForPage opens the preference page.
	ForPage Purpose = 'p'
	// ForUnsubscribe withdraws the link's topics with one POST (RFC 8058).
	ForUnsubscribe Purpose = 'u'
)

// Default lifetimes. A page link lives as long as an email is commonly
// acted on. The one-click link lives much longer: RFC 8058 mail receivers
// post it whenever the reader presses "unsubscribe", which may be long
// after the message came, and US law (CAN-SPAM, 16 CFR 316.5) wants an
// opt-out mechanism to work at least 30 days after sending; a refused
// unsubscribe is worse than an old link that still withdraws.
const (
	DefaultPageTTL        = 60 * 24 * time.Hour
	DefaultUnsubscribeTTL = 400 * 24 * time.Hour
)

// formTTL is how long a form of the page may be posted after it was shown.
const formTTL = 2 * time.Hour

// Limits of what a link names.
const (
	MaxTopics   = 20
	maxFieldLen = 255
)

// Errors of Open. ErrExpired is only said of an authentic link.
var (
	ErrInvalid = errors.New("preference: not a valid link")
	ErrExpired = errors.New("preference: the link has expired")
)

// Claims are what a link says.
type Claims struct {
	Purpose  Purpose
	Subject  string
	Property string
	Topics   []string
	// Channel is the channel of the message that held a one-click link
	// ("email", "sms", "post"), when the issuer named one; "" for a link
	// made before links named channels, or without one. The one-click
	// unsubscribe withdraws this channel, by default email (see
	// portal.HandleOneClick).
	Channel string
	Expires time.Time
}

// Config sets up Links.
type Config struct {
	// Secret is a secret every replica holds (the receipt signing key's
	// seed); keys are derived from it under labels of their own.
	Secret []byte
	// PageTTL and UnsubscribeTTL are the links' lifetimes; zero takes the
	// defaults.
	PageTTL, UnsubscribeTTL time.Duration
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Links makes and opens preference links.
type Links struct {
	aead                    cipher.AEAD
	formKey                 []byte
	pageTTL, unsubscribeTTL time.Duration
	now                     func() time.Time
}

// version is the first byte of every token, so that the format can change.
const version = 1

// additional binds a sealed token to its use here.
var additional = []byte("steward preference link")

// New derives the keys from cfg.Secret.
func New(cfg Config) (*Links, error) {
	if len(cfg.Secret) < 32 {
		return nil, errors.New("preference: the secret must be at least 32 bytes")
	}
	block, err := aes.NewCipher(derive(cfg.Secret, "steward preference link key"))
	if err != nil {
		return nil, fmt.Errorf("preference: cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("preference: gcm: %w", err)
	}
	l := &Links{aead: aead, formKey: derive(cfg.Secret, "steward preference form key"),
		pageTTL: cfg.PageTTL, unsubscribeTTL: cfg.UnsubscribeTTL, now: cfg.Now}
	if l.pageTTL <= 0 {
		l.pageTTL = DefaultPageTTL
	}
	if l.unsubscribeTTL <= 0 {
		l.unsubscribeTTL = DefaultUnsubscribeTTL
	}
	if l.now == nil {
		l.now = time.Now
	}
	return l, nil
}

func derive(secret []byte, label string) []byte {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(label))
	return mac.Sum(nil)
}

// Issued are the tokens of one message and when each expires.
type Issued struct {
	Page, Unsubscribe               string
	PageExpires, UnsubscribeExpires time.Time
}

// Issue returns the page and one-click unsubscribe tokens of a subject's
// message about topics. Callers check the subject, property and topics
// against the catalog first.
func (l *Links) Issue(subject, property string, topics []string) (Issued, error) {
	return l.IssueFor(subject, property, topics, "")
}

// IssueFor is Issue for a message sent by channel ("" for none named): the
// one-click token says which channel its unsubscribe withdraws.
func (l *Links) IssueFor(subject, property string, topics []string, channel string) (Issued, error) {
	if subject == "" || len(subject) > maxFieldLen || property == "" || len(property) > maxFieldLen || len(topics) == 0 || len(topics) > MaxTopics ||
		len(channel) > maxFieldLen {
		return Issued{}, ErrInvalid
	}
	for _, t := range topics {
		if t == "" || len(t) > maxFieldLen {
			return Issued{}, ErrInvalid
		}
	}
	now := l.now()
	out := Issued{PageExpires: now.Add(l.pageTTL).Truncate(time.Second), UnsubscribeExpires: now.Add(l.unsubscribeTTL).Truncate(time.Second)}
	out.Page = l.seal(Claims{Purpose: ForPage, Subject: subject, Property: property, Topics: topics, Expires: out.PageExpires})
	out.Unsubscribe = l.seal(Claims{Purpose: ForUnsubscribe, Subject: subject, Property: property, Topics: topics, Channel: channel, Expires: out.UnsubscribeExpires})
	return out, nil
}

func (l *Links) seal(c Claims) string {
	plain := []byte{byte(c.Purpose)}
	plain = binary.BigEndian.AppendUint64(plain, uint64(c.Expires.Unix()))
	plain = appendString(plain, c.Subject)
	plain = appendString(plain, c.Property)
	plain = append(plain, byte(len(c.Topics)))
	for _, t := range c.Topics {
		plain = appendString(plain, t)
	}
	if c.Channel != "" {
		// Appended last, so that tokens made before channels open as
		// they did: with none.
		plain = appendString(plain, c.Channel)
	}
	out := make([]byte, 1+l.aead.NonceSize(), 1+l.aead.NonceSize()+len(plain)+l.aead.Overhead())
	out[0] = version
	_, _ = rand.Read(out[1:])
	out = l.aead.Seal(out, out[1:], plain, additional)
	return base64.RawURLEncoding.EncodeToString(out)
}

func appendString(b []byte, s string) []byte {
	return append(append(b, byte(len(s))), s...)
}

// Open returns what token says, when it was made here for purpose and has
// not expired.
func (l *Links) Open(token string, purpose Purpose) (Claims, error) {
	if len(token) > 4096 {
		return Claims{}, ErrInvalid
	}
	raw, err := base64.RawURLEncoding.DecodeString(token)
	n := l.aead.NonceSize()
	if err != nil || len(raw) < 1+n+l.aead.Overhead() || raw[0] != version {
		return Claims{}, ErrInvalid
	}
	plain, err := l.aead.Open(nil, raw[1:1+n], raw[1+n:], additional)
	if err != nil {
		return Claims{}, ErrInvalid
	}
	c, ok := parse(plain)
	if !ok || c.Purpose != purpose {
		return Claims{}, ErrInvalid
	}
	if !l.now().Before(c.Expires) {
		return Claims{}, ErrExpired
	}
	return c, nil
}

func parse(b []byte) (Claims, bool) {
	var c Claims
	if len(b) < 9 {
		return c, false
	}
	c.Purpose = Purpose(b[0])
	c.Expires = time.Unix(int64(binary.BigEndian.Uint64(b[1:9])), 0).UTC()
	b = b[9:]
	var ok bool
	if c.Subject, b, ok = readString(b); !ok {
		return c, false
	}
	if c.Property, b, ok = readString(b); !ok || len(b) < 1 {
		return c, false
	}
	count := int(b[0])
	b = b[1:]
	for range count {
		var t string
		if t, b, ok = readString(b); !ok {
			return c, false
		}
		c.Topics = append(c.Topics, t)
	}
	if len(b) > 0 {
		if c.Channel, b, ok = readString(b); !ok || c.Channel == "" {
			return c, false
		}
	}
	return c, len(b) == 0 && c.Subject != "" && c.Property != "" && len(c.Topics) > 0
}

func readString(b []byte) (string, []byte, bool) {
	if len(b) < 1 || len(b) < 1+int(b[0]) {
		return "", nil, false
	}
	n := int(b[0])
	return string(b[1 : 1+n]), b[1+n:], true
}

// FormToken returns the token a form of the page for the link token
// carries: the time it was shown and a MAC over it and the link, so that
// a post needs a page shown lately for the same link. The page has no
// session to bind a token to; the link is the credential.
func (l *Links) FormToken(link string) string {
	issued := strconv.FormatInt(l.now().Unix(), 10)
	return issued + "." + l.formMAC(link, issued)
}

// CheckForm reports whether form is a token FormToken made for link within
// the last two hours.
func (l *Links) CheckForm(link, form string) bool {
	issued, mac, ok := strings.Cut(form, ".")
	if !ok {
		return false
	}
	at, err := strconv.ParseInt(issued, 10, 64)
	if err != nil {
		return false
	}
	age := l.now().Sub(time.Unix(at, 0))
	if age < -time.Minute || age > formTTL {
		return false
	}
	return hmac.Equal([]byte(mac), []byte(l.formMAC(link, issued)))
}

func (l *Links) formMAC(link, issued string) string {
	mac := hmac.New(sha256.New, l.formKey)
	mac.Write([]byte(issued))
	mac.Write([]byte{0})
	mac.Write([]byte(link))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil)[:18])
}
