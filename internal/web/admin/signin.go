package admin

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/staff"
	"github.com/steward-dev/steward/internal/web/pages"
)

type signInData struct {
	Next  string
	Token string // the sign-in form's CSRF value, also in signInCookie
	Email string
}

// HandleSignInPage shows the sign-in form. Its CSRF token is a random
// value in a short-lived cookie and the form (double submit): there is no
// session yet to bind it to.
func (c *Console) HandleSignInPage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := c.session(r); err == nil {
			http.Redirect(w, r, localNext(r.URL.Query().Get("next")), http.StatusSeeOther)
			return
		}
		c.renderSignIn(w, r, http.StatusOK, signInData{Next: localNext(r.URL.Query().Get("next"))}, "")
	})
}

func (c *Console) renderSignIn(w http.ResponseWriter, r *http.Request, status int, d signInData, problem string) {
	var b [18]byte
	_, _ = rand.Read(b[:])
	d.Token = base64.RawURLEncoding.EncodeToString(b[:])
	http.SetCookie(w, &http.Cookie{Name: signInCookie, Value: d.Token, Path: "/", MaxAge: 1800,
		Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	c.render(w, r, status, "signin", page{Title: "title_signin", Problem: problem, Data: d})
}

// HandleSignIn checks the password and TOTP code and opens a session.
func (c *Console) HandleSignIn() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
		d := signInData{Next: localNext(r.PostFormValue("next")), Email: r.PostFormValue("email")}
		cookie, err := r.Cookie(signInCookie)
		if err != nil || !pages.SameToken(r.PostFormValue("csrf"), cookie.Value) {
			c.renderSignIn(w, r, http.StatusForbidden, d, "problem_form_expired")
			return
		}
		session, err := c.Staff.SignIn(r.Context(), staff.Credentials{Email: d.Email, Password: r.PostFormValue("password"),
			Code: r.PostFormValue("code"), IP: c.clientIP(r)})
		if err != nil {
			if errors.Is(err, staff.ErrBusy) {
				c.busy(w)
				c.renderSignIn(w, r, http.StatusServiceUnavailable, d, "problem_busy")
				return
			}
			if e, ok := errs.As(err); ok && e.Code == errs.CodeUnauthorized {
				c.renderSignIn(w, r, http.StatusUnauthorized, d, message(r, e))
				return
			}
			c.fail(w, r, err)
			return
		}
		http.SetCookie(w, &http.Cookie{Name: signInCookie, Value: "", Path: "/", MaxAge: -1, Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode})
		http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: session.Token, Path: "/", Expires: session.ExpiresAt,
			Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode})
		http.Redirect(w, r, d.Next, http.StatusSeeOther)
	})
}

// busy asks the browser to come back when a password check slot may be free.
func (c *Console) busy(w http.ResponseWriter) {
	w.Header().Set("Retry-After", strconv.Itoa(int(c.Staff.RetryAfter()/time.Second)))
}

// HandleSignOut ends the session on the server and in the browser.
func (c *Console) HandleSignOut() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := c.Staff.SignOut(r.Context(), sessionOf(r).Token); err != nil {
			c.fail(w, r, err)
			return
		}
		http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode})
		http.Redirect(w, r, "/admin/signin", http.StatusSeeOther)
	})
}

type reauthData struct {
	Next string
}

// HandleReauthPage asks for the password and a code again, as revealing
// personal data needs a recent sign-in.
func (c *Console) HandleReauthPage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.render(w, r, http.StatusOK, "reauth", page{Title: "title_reauth",
			Data: reauthData{Next: localNext(r.URL.Query().Get("next"))}})
	})
}

// HandleReauth renews the session's sign-in time.
func (c *Console) HandleReauth() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d := reauthData{Next: localNext(r.PostFormValue("next"))}
		err := c.Staff.Reauthenticate(r.Context(), sessionOf(r), r.PostFormValue("password"), r.PostFormValue("code"), c.clientIP(r))
		if err != nil {
			if errors.Is(err, staff.ErrBusy) {
				c.busy(w)
				c.render(w, r, http.StatusServiceUnavailable, "reauth", page{Title: "title_reauth", Problem: "problem_busy", Data: d})
				return
			}
			if e, ok := errs.As(err); ok && e.Code == errs.CodeUnauthorized {
				c.render(w, r, http.StatusUnauthorized, "reauth", page{Title: "title_reauth", Problem: message(r, e), Data: d})
				return
			}
			c.fail(w, r, err)
			return
		}
		http.Redirect(w, r, d.Next, http.StatusSeeOther)
	})
}
