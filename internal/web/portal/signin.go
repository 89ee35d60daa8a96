package portal

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/steward-dev/steward/internal/customer"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/notify"
)

// HandleStart shows the email form, or the home page when signed in.
func (p *Portal) HandleStart() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := p.session(r); err == nil {
			http.Redirect(w, r, landing(nextOf(r), language(r)), http.StatusSeeOther)
			return
		}
		p.binding(w, r)
		p.render(w, r, http.StatusOK, "start", page{Title: "signin_title", Next: nextOf(r)})
	})
}

// HandleRequestCode issues a code and emails it. The answer is the same
// for every well-formed address, known or not.
func (p *Portal) HandleRequestCode() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The form is read within checkForm's size limit, then next from it.
		formOK := p.checkForm(w, r)
		next := nextOf(r)
		if !formOK {
			p.binding(w, r)
			p.render(w, r, http.StatusForbidden, "start", page{Title: "signin_title", Problem: "form_expired", Next: next})
			return
		}
		if p.Mailer == nil {
			p.render(w, r, http.StatusServiceUnavailable, "start", page{Title: "signin_title", Problem: "mail_off", Next: next})
			return
		}
		cookie, _ := r.Cookie(bindingCookie)
		email := r.PostFormValue("email")
		challenge, err := p.Customers.RequestCode(r.Context(), email, customer.Binding(cookie.Value), p.clientIP(r))
		if err != nil {
			status, problem := http.StatusBadRequest, "email"
			if e, ok := errs.As(err); ok && e.Code == errs.CodeUnauthorized {
				status, problem = http.StatusTooManyRequests, tooMany(r, err)
			} else if errs.CodeOf(err) != errs.CodeInvalid {
				p.fail(w, r, err)
				return
			}
			pg := page{Title: "signin_title", Problem: problem, Data: map[string]string{"Email": email}, Next: next}
			if problem == "email" {
				pg.Problem, pg.Fields = "", map[string]string{"email": err.Error()}
			}
			p.render(w, r, status, "start", pg)
			return
		}
		lang := language(r)
		// The link keeps where the customer was going (a request an email
		// of ours linked to), so that signing in from the email lands there.
		link := p.PublicURL + withNext("/privacy/verify", url.Values{"code": {challenge.Code}, "lang": {lang}}, next)
		msg, err := p.Mail.Render(lang, notify.TemplateSigninCode, notify.SigninCode{Brand: p.Brand, Code: challenge.Code,
			ValidMinutes: 10, SignInURL: link})
		if err == nil {
			normal, _ := customer.NormalEmail(email)
			msg.To = normal
			err = p.Mailer.Send(r.Context(), msg)
		}
		if err != nil {
			// A refused or unreachable server says nothing about whether the
			// address is a customer's; log without the address.
			p.Log.Warn("portal: sign-in code not sent", "err", err)
			if notify.IsTemporary(err) {
				p.render(w, r, http.StatusServiceUnavailable, "start", page{Title: "signin_title", Problem: "mail_off", Next: next})
				return
			}
		}
		http.Redirect(w, r, withNext("/privacy/code", url.Values{"lang": {lang}}, next), http.StatusSeeOther)
	})
}

// tooMany says, in the page's language, that a limit holds and when it
// ends.
func tooMany(r *http.Request, err error) string {
	var limit *customer.LimitError
	if !errors.As(err, &limit) {
		return "too_many"
	}
	return strings.ReplaceAll(messages[language(r)]["too_many_until"], "{time}", limit.Until.UTC().Format("15:04 UTC"))
}

// HandleCodePage asks for the code.
func (p *Portal) HandleCodePage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.binding(w, r)
		p.render(w, r, http.StatusOK, "code", page{Title: "code_title", Notice: "code_sent", Next: nextOf(r)})
	})
}

// HandleVerifyPage is where the email's link leads: a button that signs in
// with a POST, so that a mail scanner following the link signs no one in
// and spends no code.
func (p *Portal) HandleVerifyPage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.binding(w, r)
		p.render(w, r, http.StatusOK, "verify", page{Title: "verify_title", Data: map[string]string{"Code": r.URL.Query().Get("code")}, Next: nextOf(r)})
	})
}

// HandleSignIn checks the code against the latest one this browser asked
// for and opens a session.
func (p *Portal) HandleSignIn() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The form is read within checkForm's size limit, then next from it.
		formOK := p.checkForm(w, r)
		next := nextOf(r)
		if !formOK {
			p.binding(w, r)
			p.render(w, r, http.StatusForbidden, "code", page{Title: "code_title", Problem: "form_expired", Next: next})
			return
		}
		cookie, _ := r.Cookie(bindingCookie)
		session, err := p.Customers.SignIn(r.Context(), customer.Binding(cookie.Value), r.PostFormValue("code"), p.clientIP(r))
		if err != nil {
			if errors.Is(err, customer.ErrTooMany) {
				p.render(w, r, http.StatusTooManyRequests, "code", page{Title: "code_title", Problem: tooMany(r, err), Next: next})
				return
			}
			if errors.Is(err, customer.ErrCode) {
				p.render(w, r, http.StatusUnauthorized, "code", page{Title: "code_title", Problem: "code_wrong", Next: next})
				return
			}
			if e, ok := errs.As(err); ok && e.Code == errs.CodeUnauthorized {
				problem := e.Message
				if messages[language(r)][problem] == "" {
					problem = "code_wrong" // the service's English, for developers
				}
				p.render(w, r, http.StatusUnauthorized, "code", page{Title: "code_title", Problem: problem, Next: next})
				return
			}
			p.fail(w, r, err)
			return
		}
		http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: session.Token, Path: "/", Expires: session.ExpiresAt,
			Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
		// Back where the customer was going (only a page of this portal,
		// see safeNext), else home.
		http.Redirect(w, r, landing(next, language(r)), http.StatusSeeOther)
	})
}

// HandleSignOut ends the session.
func (p *Portal) HandleSignOut() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := p.Customers.SignOut(r.Context(), sessionOf(r).Token); err != nil {
			p.fail(w, r, err)
			return
		}
		http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
		http.Redirect(w, r, "/privacy?lang="+language(r), http.StatusSeeOther)
	})
}
