package api

import (
	"net/http"

	"github.com/steward-dev/steward/internal/apikey"
	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/web/httpx"
)

// HandleCreateKey makes an API key and shows its secret once.
func HandleCreateKey(d *Deps) http.Handler {
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
		if _, err := d.Audit.Append(r.Context(), audit.Entry{Actor: actor(r), Action: "api_key.create", Target: audit.Target{Kind: "api_key_scope", ID: string(scope)},
			Details: audit.MustDetails(map[string]any{"property": in.Property})}); err != nil {
			d.fail(w, r, errs.Wrap(errs.CodeUnavailable, err, "the audit log cannot be written, so no key is made"))
			return
		}
		plain, key, err := d.Keys.Create(r.Context(), scope, in.Property, in.Label)
		if err != nil {
			d.fail(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		httpx.Encode(w, http.StatusCreated, response{Key: key, Secret: plain})
	})
}

// HandleListKeys lists API keys without their secrets.
func HandleListKeys(d *Deps) http.Handler {
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
func HandleRevokeKey(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := d.Audit.Append(r.Context(), audit.Entry{Actor: actor(r), Action: "api_key.revoke", Target: audit.Target{Kind: "api_key", ID: r.PathValue("id")}}); err != nil {
			d.fail(w, r, errs.Wrap(errs.CodeUnavailable, err, "the audit log cannot be written, so the key is not revoked"))
			return
		}
		if err := d.Keys.Revoke(r.Context(), r.PathValue("id")); err != nil {
			d.fail(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}
