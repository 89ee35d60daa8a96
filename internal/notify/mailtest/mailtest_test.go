package mailtest_test

import (
	"context"
	"fmt"
	"net/smtp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/notify"
	"github.com/steward-dev/steward/internal/notify/mailtest"
)

func send(t *testing.T, srv *mailtest.Server, to, subject string) error {
	t.Helper()
	mailer, err := notify.NewMailer(srv.MailConfig("Shop <privacy@shop.example>"))
	if err != nil {
		t.Fatal(err)
	}
	return mailer.Send(context.Background(), notify.Message{To: to, Subject: subject, Text: "Your code is 402113.\n"})
}

func TestWaitForReturnsEachMessageOnce(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{Username: "steward", Password: "s3cret", Wait: 200 * time.Millisecond})
	for _, subject := range []string{"first", "second"} {
		if err := send(t, srv, "Ada@Example.com", subject); err != nil {
			t.Fatal(err)
		}
	}
	if err := send(t, srv, "bob@example.com", "other"); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"first", "second"} {
		if got := srv.WaitFor(t, "ada@example.com"); got.Subject != want || got.User != "steward" {
			t.Fatalf("WaitFor = %q by %q, want %q", got.Subject, got.User, want)
		}
	}
	failure := waitFails(srv, "ada@example.com")
	if !strings.Contains(failure, "no new message for ada@example.com") {
		t.Fatalf("a third WaitFor did not fail: %q", failure)
	}
	if n := len(srv.Messages()); n != 3 {
		t.Fatalf("Messages() has %d", n)
	}
}

// recorder is a testing.TB whose Fatalf ends only the goroutine it runs in.
type recorder struct {
	testing.TB
	failure string
}

func (r *recorder) Helper() {}

func (r *recorder) Fatalf(format string, args ...any) {
	r.failure = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func waitFails(srv *mailtest.Server, to string) string {
	r := &recorder{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.WaitFor(r, to)
	}()
	<-done
	return r.failure
}

func TestWaitForWaitsForArrival(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{})
	errc := make(chan error, 1)
	waiting := make(chan struct{}, 1)
	srv.OnBlocked(func() {
		select {
		case waiting <- struct{}{}:
		default:
		}
	})
	go func() {
		<-waiting // WaitFor found nothing and waits: now the message comes
		errc <- send(t, srv, "late@example.com", "late")
	}()
	got := srv.WaitFor(t, "late@example.com")
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if got.Subject != "late" || got.Code() != "402113" {
		t.Fatalf("got %q with code %q", got.Subject, got.Code())
	}
}

func TestRejectRecipient(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{})
	srv.RejectRecipient("gone@example.com", 550)
	err := send(t, srv, "gone@example.com", "x")
	if !errs.Is(err, errs.CodeInvalid) || notify.IsTemporary(err) {
		t.Fatalf("rejected recipient: %v", err)
	}
	if n := srv.Refused("Gone@Example.com"); n != 1 {
		t.Errorf("Refused = %d after one refusal, want 1", n)
	}
	srv.RejectRecipient("gone@example.com", 0)
	if err := send(t, srv, "gone@example.com", "x"); err != nil {
		t.Fatalf("accepted again: %v", err)
	}
	if n := srv.Refused("gone@example.com"); n != 1 {
		t.Errorf("Refused = %d after an accepted message, want still 1", n)
	}
}

func TestAuthIsRequiredWhenConfigured(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{Username: "steward", Password: "s3cret"})
	cfg := srv.MailConfig("privacy@shop.example")
	cfg.Username, cfg.Password = "", ""
	mailer, err := notify.NewMailer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := mailer.Send(context.Background(), notify.Message{To: "a@example.com", Subject: "x", Text: "x\n"}); err == nil {
		t.Fatal("sent without AUTH")
	}
	if n := len(srv.Messages()); n != 0 {
		t.Fatalf("%d messages recorded", n)
	}
}

// TestParsesWhatOtherSendersWrite feeds the parser a message that go-mail
// does not write: nested multiparts, base64, a Q-encoded subject.
func TestParsesWhatOtherSendersWrite(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{})
	raw := strings.ReplaceAll(`From: privacy@shop.example
To: hanna@example.com
Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="outer"

--outer
Content-Type: multipart/alternative; boundary="inner"

--inner
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: base64

SGFsbG8sIGRlaW4gQ29kZTogNzczMzEx
--inner
Content-Type: text/html; charset=utf-8
Content-Transfer-Encoding: quoted-printable

<p>Hallo, dein Code: <b>773311</b> =E2=80=93 gr=C3=BC=C3=9F</p>
--inner--
--outer
Content-Type: application/pdf
Content-Transfer-Encoding: base64

JVBERi0=
--outer--
`, "\n", "\r\n")
	if err := smtp.SendMail(srv.Addr(), nil, "privacy@shop.example", []string{"hanna@example.com"}, []byte(raw)); err != nil {
		t.Fatal(err)
	}
	got := srv.WaitFor(t, "hanna@example.com")
	if got.Subject != "Grüße" || got.Text != "Hallo, dein Code: 773311" || got.Code() != "773311" {
		t.Errorf("subject %q text %q", got.Subject, got.Text)
	}
	if got.HTML != "<p>Hallo, dein Code: <b>773311</b> – grüß</p>" {
		t.Errorf("html %q", got.HTML)
	}
	if got.From != "privacy@shop.example" || got.TLS || got.User != "" {
		t.Errorf("envelope %q TLS %v user %q", got.From, got.TLS, got.User)
	}
}

func TestCode(t *testing.T) {
	cases := []struct{ text, want string }{
		{"Use this code:\n\n    402113\n\nValid for 10 minutes.", "402113"},
		{"Order 1234567 shipped", ""},
		{"no code", ""},
	}
	for _, c := range cases {
		if got := (mailtest.Message{Text: c.text}).Code(); got != c.want {
			t.Errorf("Code(%q) = %q, want %q", c.text, got, c.want)
		}
	}
}
