package banner

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"

	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/i18n"
	"github.com/steward-dev/steward/internal/web/httpx"
)

// The form snippet: /form.js?p=PROPERTY&f=FORM, the consent checkboxes of
// one of the company's own forms (assets/form.js), with the form's
// configuration inline like the banner's. It needs no banner on the page.

// formConfig is the configuration assets/form.js receives inline
// (CONTRACT.md, "The form snippet").
type formConfig struct {
	API          string        `json:"api"`
	Property     string        `json:"property"`
	Key          string        `json:"key"`
	Form         string        `json:"form"`
	Notice       notice        `json:"notice"`
	Jurisdiction string        `json:"jurisdiction,omitempty"`
	Cookie       string        `json:"cookie,omitempty"`
	Purposes     []formPurpose `json:"purposes"`
}

type formPurpose struct {
	Key         string            `json:"key"`
	Name        map[string]string `json:"name"`
	Description map[string]string `json:"description,omitempty"`
}

// minifiedForm is assets/form.js with the catalog's form.* strings,
// minified, made once.
var minifiedForm = sync.OnceValues(func() ([]byte, error) {
	src, err := assets.ReadFile("assets/form.js")
	if err != nil {
		return nil, fmt.Errorf("banner: %w", err)
	}
	out, err := minifyBody(withFormTexts(src, i18n.Default()))
	if err != nil {
		return nil, fmt.Errorf("banner: minify assets/form.js: %w", err)
	}
	return out, nil
})

// FormScript returns the embedded assets/form.js, minified with the
// catalog's strings in it: the body of the function /form.js serves (see
// WrapForm). Later calls return the same bytes, which the caller must not
// change.
func FormScript() ([]byte, error) { return minifiedForm() }

// WrapForm assembles the served form snippet: the configuration inline,
// then the script, in one function. cfgJSON must come from encoding/json
// (see Wrap).
func WrapForm(cfgJSON, script []byte) []byte {
	var b bytes.Buffer
	b.Grow(len(cfgJSON) + len(script) + 80)
	b.WriteString("/*! Steward consent form */(function(){\"use strict\";var C=")
	b.Write(cfgJSON)
	b.WriteString(";\n")
	b.Write(script)
	b.WriteString("\n})();\n")
	return b.Bytes()
}

// HandleFormScript serves GET /form.js?p=PROPERTY&f=FORM. A form that is not
// declared for the property is refused (404, naming f), so that a page
// cannot record choices under a form nobody declared.
func (s *Server) HandleFormScript() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		key, id := q.Get("p"), q.Get("f")
		prop, err := s.Consent.Property(key)
		if err != nil || !consent.ValidKey(key) {
			httpx.Error(w, r, nil, errs.Invalid("p", "unknown property %q: check the p= parameter of the script tag", key).WithCode(errs.CodeNotFound))
			return
		}
		form, err := s.Consent.Form(key, id)
		if err != nil {
			httpx.Error(w, r, nil, errs.InvalidKeyed("f", "form_not_declared", "form", strconv.Quote(id), "property", strconv.Quote(key)).WithCode(errs.CodeNotFound))
			return
		}
		jurisdiction := visitorJurisdiction(r, &prop)
		ck := cacheKey{property: key, form: id, catalog: s.Consent.CatalogVersion(), jurisdiction: jurisdiction}
		out, err := s.renderForm(r.Context(), ck, &prop, &form)
		if err != nil {
			s.Log.Error("render form snippet", "property", key, "form", id, "err", err)
			httpx.Error(w, r, nil, errs.Wrap(errs.CodeUnavailable, err, "the form snippet is unavailable; try again later"))
			return
		}
		vary := "Accept-Encoding"
		for _, name := range []string{prop.Banner.JurisdictionHeader, prop.Banner.RegionHeader} {
			if name != "" {
				vary += ", " + name
			}
		}
		w.Header().Set("Vary", vary)
		serveAsset(w, r, out, "public, max-age=60")
	})
}

// renderForm returns the snippet of a form for a jurisdiction, from the
// cache when it was rendered before for the same catalog version.
func (s *Server) renderForm(ctx context.Context, ck cacheKey, p *consent.Property, f *consent.Form) (*asset, error) {
	s.mu.Lock()
	out, ok := s.cache[ck]
	s.mu.Unlock()
	if ok {
		return out, nil
	}
	key, err := s.Keys.BannerKey(ctx, p.Key)
	if err != nil {
		return nil, fmt.Errorf("banner key: %w", err)
	}
	cfg := formConfig{API: s.PublicURL, Property: p.Key, Key: key, Form: f.ID, Notice: notice{URL: p.PolicyURL},
		Jurisdiction: ck.jurisdiction, Purposes: []formPurpose{}}
	if p.Banner.CookieName != "stw_consent" {
		cfg.Cookie = p.Banner.CookieName
	}
	if n, ok := s.Consent.CurrentNotice(); ok {
		cfg.Notice.Version = n.Version
	}
	for _, key := range f.Purposes {
		pu, err := s.Consent.Purpose(key)
		if err != nil {
			return nil, fmt.Errorf("form %s/%s: %w", p.Key, f.ID, err)
		}
		cfg.Purposes = append(cfg.Purposes, formPurpose{Key: pu.Key, Name: pu.Names, Description: pu.Descriptions})
	}
	cfgJSON, err := json.Marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("encode form configuration: %w", err)
	}
	rendered := newAsset(WrapForm(cfgJSON, s.formScript))
	out = &rendered
	s.mu.Lock()
	if len(s.cache) >= maxCached {
		clear(s.cache)
	}
	s.cache[ck] = out
	s.mu.Unlock()
	return out, nil
}
