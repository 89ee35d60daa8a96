package admin

import (
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/staff"
)

// issuedReset is a link just issued, shown once to the administrator.
type issuedReset struct {
	Name, Kind, URL string
	ExpiresAt       time.Time
}

// requireFresh sends an administrator whose sign-in is older than
// FreshSignIn to confirm it is them, back to the staff page; it reports
// whether the request may go on.
func (c *Console) requireFresh(w http.ResponseWriter, r *http.Request) bool {
	if sessionOf(r).Fresh(c.Now(), c.FreshSignIn) {
		return true
	}
	http.Redirect(w, r, "/admin/reauth?next="+url.QueryEscape("/admin/staff"), http.StatusSeeOther)
	return false
}

// HandleIssueReset issues a one-time link with which a staff member sets a
// new password (kind=password) or enrols a new authenticator
// (kind=authenticator); their sessions end. It needs a fresh sign-in,
// and the link is shown once, for the administrator to hand over.
func (c *Console) HandleIssueReset() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		if id == sessionOf(r).Account.ID {
			c.fail(w, r, errs.Invalid("id", "%s", say(r, "st_own_reset")))
			return
		}
		if !c.requireFresh(w, r) {
			return
		}
		reset, err := c.Staff.IssueReset(r.Context(), actor(r), id, staff.ResetKind(r.PostFormValue("kind")))
		if err != nil {
			c.fail(w, r, err)
			return
		}
		// The link starts with --public-url, as every link Steward hands
		// out does; without one, with the host the console was reached on.
		base := c.publicBase(r)
		if c.PublicURL == "" && !(r.TLS == nil && isLoopbackHost(r.Host)) {
			base = "https://" + r.Host
		}
		d := &staffData{Reset: &issuedReset{Name: reset.Account.Name, Kind: string(reset.Kind), ExpiresAt: reset.ExpiresAt,
			URL: base + "/admin/reset/" + reset.Token}}
		c.staffPage(w, r, http.StatusOK, page{Notice: say(r, "st_reset_made", "name", reset.Account.Name)}, d)
	})
}

// HandleUnlock lifts a staff member's sign-in locks (fresh sign-in needed).
func (c *Console) HandleUnlock() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !c.requireFresh(w, r) {
			return
		}
		id := r.PathValue("id")
		if err := c.Staff.Unlock(r.Context(), actor(r), id); err != nil {
			c.fail(w, r, err)
			return
		}
		account, _ := c.Staff.Get(r.Context(), id)
		c.staffPage(w, r, http.StatusOK, page{Notice: say(r, "st_unlocked", "name", account.Name)}, &staffData{})
	})
}

type resetPageData struct {
	Reset    staff.Reset
	Enrolled *staff.Created // the new authenticator's secret, shown once
	Done     bool
}

// HandleResetPage shows the form of a reset link: a new password with a
// code from the authenticator, or the password to enrol a new
// authenticator. A link that no longer works says to ask for a new one.
func (c *Console) HandleResetPage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reset, err := c.Staff.PendingReset(r.Context(), r.PathValue("token"))
		if err != nil {
			c.fail(w, r, err)
			return
		}
		c.render(w, r, http.StatusOK, "reset", page{Title: resetTitle(reset.Kind), Data: resetPageData{Reset: reset}})
	})
}

// HandleRedeemReset uses a reset link.
func (c *Console) HandleRedeemReset() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
		ctx := r.Context()
		token := r.PathValue("token")
		reset, err := c.Staff.PendingReset(ctx, token)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		d := resetPageData{Reset: reset}
		switch reset.Kind {
		case staff.ResetPassword:
			if r.PostFormValue("password") != r.PostFormValue("confirm") {
				err = errs.Invalid("confirm", "%s", say(r, "rs_differ"))
			} else {
				err = c.Staff.RedeemPassword(ctx, token, r.PostFormValue("password"), r.PostFormValue("code"))
			}
		default:
			var enrolled staff.Created
			if enrolled, err = c.Staff.RedeemAuthenticator(ctx, token, r.PostFormValue("password")); err == nil {
				d.Enrolled = &enrolled
			}
		}
		if e, ok := errs.As(err); ok && e.Code == errs.CodeInvalid {
			c.render(w, r, http.StatusBadRequest, "reset", page{Title: resetTitle(reset.Kind), Problem: say(r, "rs_nothing_changed"), Fields: fieldMessages(r, e), Data: d})
			return
		}
		if err != nil {
			c.fail(w, r, err)
			return
		}
		d.Done = true
		c.render(w, r, http.StatusOK, "reset", page{Title: resetTitle(reset.Kind), Data: d})
	})
}

func resetTitle(kind staff.ResetKind) string {
	if kind == staff.ResetPassword {
		return "title_reset_password"
	}
	return "title_reset_authenticator"
}

// isLoopbackHost reports whether a Host header names this machine, where
// the console may run without TLS.
func isLoopbackHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	return host == "localhost" || host == "127.0.0.1" || host == "::1"
}
