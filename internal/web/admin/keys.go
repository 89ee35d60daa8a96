package admin

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/steward-dev/steward/internal/apikey"
	"github.com/steward-dev/steward/internal/errs"
)

type keysData struct {
	Keys []apikey.Key
	// Secret is the new key, shown once; SecretFor is its id.
	Secret, SecretFor string
	// Fresh reports whether the sign-in is recent enough to make a reveal
	// key without confirming it first.
	Fresh bool
	Form  struct{ Scope, Property, Label string }
}

func (c *Console) keysPage(w http.ResponseWriter, r *http.Request, status int, p page, d *keysData) {
	var err error
	if d.Keys, err = c.Keys.List(r.Context()); err != nil {
		c.fail(w, r, err)
		return
	}
	d.Fresh = sessionOf(r).Fresh(c.Now(), c.FreshSignIn)
	p.Title, p.Data = "title_keys", d
	c.render(w, r, status, "keys", p)
}

// HandleKeys lists the API keys, without their secrets.
func (c *Console) HandleKeys() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.keysPage(w, r, http.StatusOK, page{}, &keysData{})
	})
}

// HandleCreateKey makes an API key and shows its secret once. A reveal key
// reads customers' data in plaintext, so it needs a sign-in younger than
// FreshSignIn: otherwise the administrator confirms it is them first. The
// key and its audit entry (who, the key's id and label) commit together.
func (c *Console) HandleCreateKey() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d := &keysData{}
		d.Form.Scope, d.Form.Property, d.Form.Label = r.PostFormValue("scope"), strings.TrimSpace(r.PostFormValue("property")), strings.TrimSpace(r.PostFormValue("label"))
		scope, err := apikey.ParseScope(d.Form.Scope)
		if e, ok := errs.As(err); ok {
			c.keysPage(w, r, http.StatusBadRequest, page{Problem: say(r, "ky_not_made"), Fields: fieldMessages(r, e)}, d)
			return
		}
		if scope == apikey.ScopeReveal && !sessionOf(r).Fresh(c.Now(), c.FreshSignIn) {
			http.Redirect(w, r, "/admin/reauth?next="+url.QueryEscape("/admin/keys"), http.StatusSeeOther)
			return
		}
		plain, key, err := c.Keys.CreateRecorded(r.Context(), c.Audit, actor(r), "console", scope, d.Form.Property, d.Form.Label)
		if e, ok := errs.As(err); ok && e.Code == errs.CodeInvalid {
			c.keysPage(w, r, http.StatusBadRequest, page{Problem: say(r, "ky_not_made"), Fields: fieldMessages(r, e)}, d)
			return
		}
		if err != nil {
			c.fail(w, r, err)
			return
		}
		d.Secret, d.SecretFor = plain, key.ID
		d.Form.Scope, d.Form.Property, d.Form.Label = "", "", ""
		c.keysPage(w, r, http.StatusCreated, page{Notice: say(r, "ky_made_notice")}, d)
	})
}

// HandleRevokeKey revokes an API key; every replica stops accepting it
// within 30 seconds.
func (c *Console) HandleRevokeKey() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := c.Keys.RevokeRecorded(r.Context(), c.Audit, actor(r), "console", r.PathValue("id")); err != nil {
			c.fail(w, r, err)
			return
		}
		http.Redirect(w, r, "/admin/keys", http.StatusSeeOther)
	})
}
