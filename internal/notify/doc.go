// Package notify sends Steward's email: the customer's one-time sign-in code,
// and reminders to privacy officers before a request's legal deadline.
// Webhooks will join it later.
//
// Templates renders a named message in the reader's language; a Mailer hands
// it to the company's SMTP server:
//
//	tmpl, err := notify.NewTemplates()
//	mailer, err := notify.NewMailer(cfg)
//	msg, err := tmpl.Render(r.Header.Get("Accept-Language"), notify.TemplateSigninCode, notify.SigninCode{
//		Brand: brand, Code: "402113", ValidMinutes: 10, SignInURL: link,
//	})
//	msg.To = email
//	err = mailer.Send(ctx, msg)
//	if notify.IsTemporary(err) { /* let the job queue try again later */ }
//
// # Settings
//
// internal/config does not read these yet. The names proposed for it, each
// mapping to a MailConfig field:
//
//	STEWARD_SMTP_HOST            Host           mail server name or IP address (required)
//	STEWARD_SMTP_PORT            Port           default 587 (starttls), 465 (tls), 25 (none)
//	STEWARD_SMTP_TLS             TLS            starttls (default), tls or none
//	STEWARD_SMTP_USERNAME        Username       optional; with it, AUTH PLAIN or LOGIN
//	STEWARD_SMTP_PASSWORD        Password       required with a username; an environment variable or file, never a flag
//	STEWARD_MAIL_FROM            From           "Example Shop <privacy@shop.example>" (required)
//
// and, less often needed:
//
//	STEWARD_SMTP_HELO            HELOName       name sent in EHLO (default: the machine's host name)
//	STEWARD_SMTP_TIMEOUT         Timeout        per-operation network timeout (default 15s)
//	STEWARD_SMTP_ALLOW_INSECURE  AllowInsecure  allow tls=none for a host that is not loopback
//
// # Transport security
//
// The default, starttls, refuses a server that does not offer STARTTLS, so a
// network attacker cannot strip encryption; certificates are verified against
// the system roots (MailConfig.RootCAs in tests). With tls=none the password
// and the message cross the network in clear, so it is accepted for a
// loopback host (localhost, 127.0.0.0/8, ::1: a local relay or a test
// server) and refused for any other host unless AllowInsecure is set too,
// meant for an unauthenticated relay on a private network such as a sidecar
// container. Even then credentials are refused: a password must never travel
// unencrypted beyond this machine.
//
// # Errors and personal data
//
// Recipients and bodies are personal data, and a sign-in code is a secret.
// Neither appears in an error text or a log line: a server reply that quotes
// an address is redacted. Send's errors carry an errs code (invalid for a
// message that cannot be sent as given or a recipient the server refused,
// unavailable for a failure worth retrying, internal otherwise) and a
// *DeliveryError that IsTemporary reads.
package notify
