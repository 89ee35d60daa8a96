package admin

import (
	"net/http"

	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/staff"
)

type staffData struct {
	Accounts []staff.Account
	Roles    []staff.Role
	Created  *staff.Created
	Form     struct{ Email, Name, Role string }
	// Locks holds the sign-in lock state of the accounts that have one.
	Locks map[string]staff.LockState
	// Reset is a reset link just issued, shown once.
	Reset *issuedReset
	// Fresh reports whether the administrator's sign-in is recent enough
	// to reset or unlock without confirming it is them first.
	Fresh bool
}

func (c *Console) staffPage(w http.ResponseWriter, r *http.Request, status int, p page, d *staffData) {
	accounts, err := c.Staff.List(r.Context())
	if err != nil {
		c.fail(w, r, err)
		return
	}
	if d.Locks, err = c.Staff.LockStates(r.Context()); err != nil {
		c.fail(w, r, err)
		return
	}
	d.Accounts, d.Roles, d.Fresh = accounts, staff.Roles, sessionOf(r).Fresh(c.Now(), c.FreshSignIn)
	p.Title, p.Data = "title_staff", d
	c.render(w, r, status, "staff", p)
}

// HandleStaff lists staff accounts with forms to add, change and disable.
func (c *Console) HandleStaff() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.staffPage(w, r, http.StatusOK, page{}, &staffData{})
	})
}

// HandleCreateStaff adds an account and shows its TOTP secret once, for
// the new staff member to enrol in an authenticator app.
func (c *Console) HandleCreateStaff() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d := &staffData{}
		d.Form.Email, d.Form.Name, d.Form.Role = r.PostFormValue("email"), r.PostFormValue("name"), r.PostFormValue("role")
		created, err := c.Staff.Create(r.Context(), actor(r), staff.NewAccount{Email: d.Form.Email, Name: d.Form.Name,
			Role: staff.Role(d.Form.Role), Password: r.PostFormValue("password")})
		if e, ok := errs.As(err); ok && e.Code == errs.CodeInvalid {
			c.staffPage(w, r, http.StatusBadRequest, page{Problem: say(r, "st_not_created"), Fields: fieldMessages(r, e)}, d)
			return
		}
		if err != nil {
			c.fail(w, r, err)
			return
		}
		d.Created = &created
		c.staffPage(w, r, http.StatusOK, page{Notice: say(r, "st_created", "name", created.Name)}, d)
	})
}

// HandleSetRole changes a staff member's role (their sessions end).
func (c *Console) HandleSetRole() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		if id == sessionOf(r).Account.ID {
			c.fail(w, r, errs.Invalid("role", "%s", say(r, "st_own_role")))
			return
		}
		if err := c.Staff.SetRole(r.Context(), actor(r), id, staff.Role(r.PostFormValue("role"))); err != nil {
			c.fail(w, r, err)
			return
		}
		http.Redirect(w, r, "/admin/staff", http.StatusSeeOther)
	})
}

// HandleDisable disables a staff account (its sessions end).
func (c *Console) HandleDisable() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		if id == sessionOf(r).Account.ID {
			c.fail(w, r, errs.Invalid("id", "%s", say(r, "st_own_account")))
			return
		}
		if err := c.Staff.Disable(r.Context(), actor(r), id); err != nil {
			c.fail(w, r, err)
			return
		}
		http.Redirect(w, r, "/admin/staff", http.StatusSeeOther)
	})
}
