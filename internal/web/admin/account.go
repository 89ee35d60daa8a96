package admin

import (
	"net/http"

	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/i18n"
)

// accountData is the staff member's own page: who they are, and the
// language the console speaks to them.
type accountData struct {
	Languages []langLink
	// Language is their setting ("" follows the browser).
	Language string
}

func (c *Console) accountPage(w http.ResponseWriter, r *http.Request, status int, p page) {
	d := accountData{Language: sessionOf(r).Account.Language}
	for _, code := range i18n.Default().Languages() {
		d.Languages = append(d.Languages, langLink{code, words(code)["lang_name"]})
	}
	p.Title, p.Data = "title_account", d
	c.render(w, r, status, "account", p)
}

// HandleAccount shows the signed-in staff member's account and their
// language setting.
func (c *Console) HandleAccount() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := page{}
		if r.URL.Query().Get("saved") == "1" {
			p.Notice = say(r, "ac_saved")
		}
		c.accountPage(w, r, http.StatusOK, p)
	})
}

// HandleSetLanguage saves the language the console speaks to the signed-in
// staff member; each may set only their own.
func (c *Console) HandleSetLanguage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		session := sessionOf(r)
		lang := r.PostFormValue("language")
		if err := c.Staff.SetLanguage(r.Context(), actor(r), session.Account.ID, lang); err != nil {
			if e, ok := errs.As(err); ok && e.Code == errs.CodeInvalid {
				c.accountPage(w, r, http.StatusBadRequest, page{Problem: message(r, e), Fields: map[string]string{"language": message(r, e)}})
				return
			}
			c.fail(w, r, err)
			return
		}
		// The page after the redirect is in the new language: drop the
		// switch this browser remembered, which would come first.
		http.SetCookie(w, &http.Cookie{Name: langCookie, Value: "", Path: "/admin", MaxAge: -1,
			Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
		http.Redirect(w, r, "/admin/account?saved=1", http.StatusSeeOther)
	})
}
