package api

import (
	"net/http"

	"github.com/steward-dev/steward/internal/apikey"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/web/auth"
	"github.com/steward-dev/steward/internal/web/httpx"
)

// HandleCreateKey makes an API key and shows its secret once. An admin key
// may not make a reveal key (403 naming scope); the key and its audit entry
// commit together.
func (d *Deps) HandleCreateKey() http.Handler {
	type request struct {
		Scope    string `json:"scope"`
		Property string `json:"property"`
		Label    string `json:"label"`
	}
	type response struct {
		apikey.Key
		Secret string `json:"secret"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, err := httpx.Decode[request](w, r, smallBody)
		if err != nil {
			d.fail(w, r, err)
			return
		}
		scope, err := apikey.ParseScope(in.Scope)
		if err != nil {
			d.fail(w, r, err)
			return
		}
		// The route takes an admin key; which kinds it may make is the
		// apikey package's rule (never a reveal key).
		if k := auth.Key(r.Context()); k == nil {
			d.fail(w, r, errs.New(errs.CodeForbidden, "only an admin key makes keys"))
			return
		} else if err := apikey.MayMint(k.Scope, scope); err != nil {
			d.fail(w, r, err)
			return
		}
		plain, key, err := d.Keys.CreateRecorded(r.Context(), d.Audit, actor(r), "api", scope, in.Property, in.Label)
		if err != nil {
			d.fail(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		httpx.Encode(w, http.StatusCreated, response{Key: key, Secret: plain})
	})
}

// HandleListKeys lists API keys without their secrets.
func (d *Deps) HandleListKeys() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		keys, err := d.Keys.List(r.Context())
		if err != nil {
			d.fail(w, r, err)
			return
		}
		httpx.Encode(w, http.StatusOK, list[apikey.Key]{Items: keys})
	})
}

// HandleRevokeKey revokes an API key.
func (d *Deps) HandleRevokeKey() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := d.Keys.RevokeRecorded(r.Context(), d.Audit, actor(r), "api", r.PathValue("id")); err != nil {
			d.fail(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}
