package banner

import (
	"bytes"
	"fmt"
	"io/fs"
	"sync"

	"github.com/tdewolff/minify/v2/js"

	"github.com/steward-dev/steward/internal/i18n"
)

// The browser code in assets/ is readable, commented source. Visitors get it
// minified: renamed local names, no comments or whitespace. It is minified
// once per process, on first use (New), never per request; the rendered
// scripts then only put a property's configuration in front of it.

// jsVersion is the newest ECMAScript version the minifier may write. The
// banner is written for ES2021 (||=, ?.), and tcf.js runs only where the
// banner does, so the minifier may use what ES2021 has, and nothing newer.
const jsVersion = 2021

// bodyHead and bodyTail make banner.js, the body of the served function, a
// program: minified as a function body, its top-level names are local and
// are renamed like all others, while C, which the function does not declare,
// stays a free name that the minifier keeps. "use strict" is there because
// the served function has it.
const (
	bodyHead = `(function(){"use strict";`
	bodyTail = `})()`
)

// minifiedAssets are the embedded scripts minified, made once.
var minifiedAssets = sync.OnceValues(func() (scripts, error) {
	return minifyAssets(assets)
})

// scripts are the banner's body and the TCF script as served. bannerGPP
// is the banner's body with its GPP blocks (gpp.go), for the visitors who
// get GPP; gpp is assets/gpp.js, served as /banner-gpp.js.
type scripts struct {
	banner, bannerGPP, tcf, gpp []byte
}

// Scripts returns the embedded assets/banner.js (the body of the function
// that /banner.js serves, see Wrap) and assets/tcf.js, minified. The first
// call minifies them; later calls return the same bytes, which the caller
// must not change. New calls it, so that a server whose browser code does
// not minify does not start.
func Scripts() (banner, tcf []byte, err error) {
	s, err := minifiedAssets()
	return s.banner, s.tcf, err
}

// GPPScripts returns, minified like Scripts, the banner's body with its GPP
// blocks, which US visitors of properties that enable GPP get, and
// assets/gpp.js, which that body loads from /banner-gpp.js.
func GPPScripts() (bannerGPP, gpp []byte, err error) {
	s, err := minifiedAssets()
	return s.bannerGPP, s.gpp, err
}

func minifyAssets(fsys fs.FS) (scripts, error) {
	var s scripts
	src, err := fs.ReadFile(fsys, "assets/banner.js")
	if err != nil {
		return s, fmt.Errorf("banner: %w", err)
	}
	src = withBuiltinTexts(src, i18n.Default())
	without, err := withoutGPP(src)
	if err != nil {
		return s, fmt.Errorf("banner: assets/banner.js: %w", err)
	}
	if s.banner, err = minifyBody(without); err != nil {
		return s, fmt.Errorf("banner: minify assets/banner.js: %w", err)
	}
	if s.bannerGPP, err = minifyBody(src); err != nil {
		return s, fmt.Errorf("banner: minify assets/banner.js with GPP: %w", err)
	}
	for _, f := range []struct {
		name string
		out  *[]byte
	}{{"assets/tcf.js", &s.tcf}, {"assets/gpp.js", &s.gpp}} {
		if src, err = fs.ReadFile(fsys, f.name); err != nil {
			return s, fmt.Errorf("banner: %w", err)
		}
		if *f.out, err = minifyJS(src); err != nil {
			return s, fmt.Errorf("banner: minify %s: %w", f.name, err)
		}
	}
	return s, nil
}

// minifyBody minifies the body of a function (banner.js): inside the
// function bodyHead…bodyTail, which is then taken off again.
func minifyBody(src []byte) ([]byte, error) {
	program := make([]byte, 0, len(bodyHead)+len(src)+len(bodyTail)+3)
	program = append(program, bodyHead+"\n"...)
	program = append(program, src...)
	program = append(program, "\n"+bodyTail+";"...)
	out, err := minifyJS(program)
	if err != nil {
		return nil, err
	}
	out = bytes.TrimSuffix(bytes.TrimSpace(out), []byte(";"))
	if !bytes.HasPrefix(out, []byte(bodyHead)) || !bytes.HasSuffix(out, []byte(bodyTail)) {
		return nil, fmt.Errorf("the minified script is not the function %s…%s it was given", bodyHead, bodyTail)
	}
	return out[len(bodyHead) : len(out)-len(bodyTail)], nil
}

// minifyJS minifies one script. Comments starting with /*! stay.
func minifyJS(src []byte) ([]byte, error) {
	var out bytes.Buffer
	m := &js.Minifier{Version: jsVersion}
	if err := m.Minify(nil, &out, bytes.NewReader(src), nil); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}
