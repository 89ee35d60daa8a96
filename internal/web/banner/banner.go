// Package banner serves the consent banner: /banner.js with the property's
// configuration inline (one request, cacheable with an ETag, gzip), the TCF
// and GPP scripts under content-hashed URLs, and the imported IAB Global
// Vendor List. The browser code lives in assets/ as readable source, minified once
// when the server starts (minify.go); CONTRACT.md is the contract between
// this package and it.
package banner

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"sync"

	"github.com/steward-dev/steward/internal/apikey"
	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/i18n"
	"github.com/steward-dev/steward/internal/tcf"
	"github.com/steward-dev/steward/internal/web/httpx"
)

//go:embed assets
var assets embed.FS

// Deps are what the banner handlers need.
type Deps struct {
	Consent     *consent.Service
	Keys        *apikey.Store
	VendorLists *tcf.VendorLists
	// PublicURL is where browsers reach Steward, such as https://consent.shop.example.
	PublicURL string
	Log       *slog.Logger
	// Assets replaces the embedded browser code (tests); it must hold
	// assets/banner.js, assets/tcf.js and assets/gpp.js, which are served
	// as they are, not minified (but for the catalog's strings, which
	// banner.js receives, and its GPP blocks, which only visitors who get
	// GPP receive).
	Assets fs.FS
}

// Server renders and caches banner scripts.
type Server struct {
	Deps
	script    []byte // assets/banner.js without its GPP blocks, minified
	scriptGPP []byte // assets/banner.js with them, minified
	tcfScript asset  // assets/tcf.js, minified
	gppScript asset  // assets/gpp.js, minified
	// formScript is assets/form.js, minified: the form snippet (form.go).
	formScript []byte
	mu         sync.Mutex
	cache      map[cacheKey]*asset
}

// asset is a static file with its hash, compressed once.
type asset struct {
	body, gzipped []byte
	etag          string
}

type cacheKey struct {
	property     string
	form         string // a form snippet's form; "" for the banner
	catalog      int64
	assessed     uint64 // consent.AssessedFingerprint: the vendors offered
	jurisdiction string
	gpc          bool
}

// maxCached bounds the rendered variants kept (properties × jurisdictions × GPC).
const maxCached = 20000

// New loads the browser code. The embedded scripts are minified on the first
// call (see Scripts); New fails when they do not minify, so that such a
// server does not start.
func New(d Deps) (*Server, error) {
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	s := &Server{Deps: d, cache: map[cacheKey]*asset{}}
	var tcfBody, gppBody []byte
	var err error
	if d.Assets == nil {
		if s.script, tcfBody, err = Scripts(); err != nil {
			return nil, err
		}
		if s.scriptGPP, gppBody, err = GPPScripts(); err != nil {
			return nil, err
		}
	} else {
		if s.scriptGPP, err = fs.ReadFile(d.Assets, "assets/banner.js"); err != nil {
			return nil, fmt.Errorf("banner: %w", err)
		}
		s.scriptGPP = withBuiltinTexts(s.scriptGPP, i18n.Default())
		if s.script, err = withoutGPP(s.scriptGPP); err != nil {
			return nil, fmt.Errorf("banner: assets/banner.js: %w", err)
		}
		if tcfBody, err = fs.ReadFile(d.Assets, "assets/tcf.js"); err != nil {
			return nil, fmt.Errorf("banner: %w", err)
		}
		if gppBody, err = fs.ReadFile(d.Assets, "assets/gpp.js"); err != nil {
			return nil, fmt.Errorf("banner: %w", err)
		}
	}
	s.tcfScript = newAsset(tcfBody)
	s.gppScript = newAsset(gppBody)
	if s.formScript, err = FormScript(); err != nil {
		return nil, err
	}
	return s, nil
}

// Wrap assembles the served script: the configuration inline, then (for
// TCF properties) the TCF script, so that __tcfapi exists before any vendor
// script runs, then the banner, in one function. script is the body of that
// function: the minified assets/banner.js (Scripts), or that file as it is,
// which works the same. cfgJSON must come from encoding/json, which escapes
// <, > and & and the line separators U+2028 and U+2029, so the configuration
// is safe inside the script. The browser tests serve what Wrap makes.
func Wrap(cfgJSON, script, tcfScript []byte) []byte {
	var b bytes.Buffer
	b.Grow(len(cfgJSON) + len(script) + len(tcfScript) + 80)
	b.WriteString("/*! Steward consent banner */(function(){\"use strict\";var C=")
	b.Write(cfgJSON)
	b.WriteString(";\n")
	if len(tcfScript) > 0 {
		b.Write(tcfScript)
		// The minified TCF script ends without a semicolon.
		b.WriteString(";\n")
	}
	b.Write(script)
	b.WriteString("\n})();\n")
	return b.Bytes()
}

// scriptFor is the banner's body for cfg: with its GPP blocks only for a
// visitor who gets GPP.
func (s *Server) scriptFor(cfg *config) []byte {
	if cfg.GPP != nil {
		return s.scriptGPP
	}
	return s.script
}

func (s *Server) tcfScriptFor(cfg *config) []byte {
	if cfg.TCF == nil {
		return nil
	}
	return s.tcfScript.body
}

func newAsset(body []byte) asset {
	sum := sha256.Sum256(body)
	var gz bytes.Buffer
	w, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	_, _ = w.Write(body)
	_ = w.Close()
	return asset{body: body, gzipped: gz.Bytes(), etag: `"` + base64.RawURLEncoding.EncodeToString(sum[:16]) + `"`}
}

// TCFScriptPath is the content-hashed URL path of the TCF script.
func (s *Server) TCFScriptPath() string {
	return "/banner-tcf.js?v=" + strings.Trim(s.tcfScript.etag, `"`)
}

// GPPScriptPath is the content-hashed URL path of the GPP script.
func (s *Server) GPPScriptPath() string {
	return "/banner-gpp.js?v=" + strings.Trim(s.gppScript.etag, `"`)
}

// HandleScript serves GET /banner.js?p=PROPERTY.
func (s *Server) HandleScript() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.URL.Query().Get("p")
		prop, err := s.Consent.Property(key)
		if err != nil || !consent.ValidKey(key) {
			httpx.Error(w, r, nil, errs.Invalid("p", "unknown property %q: check the p= parameter of the script tag", key).WithCode(errs.CodeNotFound))
			return
		}
		jurisdiction := visitorJurisdiction(r, &prop)
		gpc := r.Header.Get("Sec-GPC") == "1"
		ck := cacheKey{property: key, catalog: s.Consent.CatalogVersion(), assessed: s.Consent.AssessedFingerprint(), jurisdiction: jurisdiction, gpc: gpc}
		out, err := s.render(r.Context(), ck, &prop)
		if err != nil {
			s.Log.Error("render banner", "property", key, "err", err)
			httpx.Error(w, r, nil, errs.Wrap(errs.CodeUnavailable, err, "the banner is unavailable; try again later"))
			return
		}
		h := w.Header()
		vary := "Accept-Encoding, Sec-GPC"
		for _, name := range []string{prop.Banner.JurisdictionHeader, prop.Banner.RegionHeader} {
			if name != "" {
				vary += ", " + name
			}
		}
		h.Set("Vary", vary)
		// A configuration change shows within a minute.
		serveAsset(w, r, out, "public, max-age=60")
	})
}

// HandleTCFScript serves the TCF script; its URL carries its hash, so it
// may be cached for a year.
func (s *Server) HandleTCFScript() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Vary", "Accept-Encoding")
		serveAsset(w, r, &s.tcfScript, "public, max-age=31536000, immutable")
	})
}

// HandleGPPScript serves the GPP script (the __gpp CMP API), which
// banner.js loads for US visitors of properties that enable GPP; its URL
// carries its hash, so it may be cached for a year.
func (s *Server) HandleGPPScript() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Vary", "Accept-Encoding")
		serveAsset(w, r, &s.gppScript, "public, max-age=31536000, immutable")
	})
}

// HandleVendorList serves the latest imported IAB Global Vendor List.
func (s *Server) HandleVendorList() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		list, err := s.VendorLists.Latest(r.Context())
		if err != nil {
			httpx.Error(w, r, s.Log, err)
			return
		}
		sum := sha256.Sum256(list.Body)
		a := asset{body: list.Body, etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Access-Control-Allow-Origin", "*")
		w.Header().Set("Cross-Origin-Resource-Policy", "cross-origin")
		if match := r.Header.Get("If-None-Match"); match != "" && match == a.etag {
			w.Header().Set("ETag", a.etag)
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", a.etag)
		w.Header().Set("Cache-Control", "public, max-age=3600")
		_, _ = w.Write(a.body)
	})
}

func serveAsset(w http.ResponseWriter, r *http.Request, a *asset, cacheControl string) {
	h := w.Header()
	h.Set("Content-Type", "text/javascript; charset=utf-8")
	h.Set("Cache-Control", cacheControl)
	h.Set("Cross-Origin-Resource-Policy", "cross-origin")
	body, etag := a.body, a.etag
	if a.gzipped != nil && acceptsGzip(r) {
		body, etag = a.gzipped, strings.TrimSuffix(a.etag, `"`)+`-gz"`
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("ETag", etag)
	if match := r.Header.Get("If-None-Match"); match != "" && etagMatches(match, etag) {
		h.Del("Content-Encoding")
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Length", fmt.Sprint(len(body)))
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(body)
}

func etagMatches(header, etag string) bool {
	for _, candidate := range strings.Split(header, ",") {
		c := strings.TrimPrefix(strings.TrimSpace(candidate), "W/")
		if c == etag || c == "*" {
			return true
		}
	}
	return false
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(coding), "gzip") && !strings.Contains(strings.ReplaceAll(params, " ", ""), "q=0") {
			return true
		}
	}
	return false
}

// visitorJurisdiction reads the visitor's country (and subdivision) from the
// headers the property names, falling back to its default jurisdiction.
func visitorJurisdiction(r *http.Request, p *consent.Property) string {
	if p.Banner.JurisdictionHeader == "" {
		return p.DefaultJurisdiction
	}
	country := strings.ToUpper(strings.TrimSpace(r.Header.Get(p.Banner.JurisdictionHeader)))
	if !consent.ValidJurisdiction(country) {
		return p.DefaultJurisdiction
	}
	if len(country) == 2 && p.Banner.RegionHeader != "" {
		region := strings.ToUpper(strings.TrimSpace(r.Header.Get(p.Banner.RegionHeader)))
		if candidate := country + "-" + region; region != "" && consent.ValidJurisdiction(candidate) {
			return candidate
		}
	}
	return country
}

// render returns the script for a property and visitor class, from the
// cache when it was rendered before for the same catalog version.
func (s *Server) render(ctx context.Context, ck cacheKey, p *consent.Property) (*asset, error) {
	s.mu.Lock()
	out, ok := s.cache[ck]
	s.mu.Unlock()
	if ok {
		return out, nil
	}
	cfg, err := s.config(ctx, ck, p)
	if err != nil {
		return nil, err
	}
	cfgJSON, err := json.Marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("encode banner configuration: %w", err)
	}
	rendered := newAsset(Wrap(cfgJSON, s.scriptFor(cfg), s.tcfScriptFor(cfg)))
	out = &rendered
	s.mu.Lock()
	if len(s.cache) >= maxCached {
		clear(s.cache)
	}
	s.cache[ck] = out
	s.mu.Unlock()
	return out, nil
}
