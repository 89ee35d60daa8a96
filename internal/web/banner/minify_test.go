package banner

import (
	"bytes"
	"fmt"
	"io/fs"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
)

// TestEmbeddedScriptsMinify: the embedded browser code minifies (else the
// server does not start), once, into what the server serves.
func TestEmbeddedScriptsMinify(t *testing.T) {
	body, tcfJS, err := Scripts()
	if err != nil {
		t.Fatalf("the embedded scripts do not minify: %v", err)
	}
	src, err := fs.ReadFile(assets, "assets/banner.js")
	if err != nil {
		t.Fatal(err)
	}
	if len(body) == 0 || len(body) > len(src)*6/10 {
		t.Errorf("banner.js minified is %d bytes of %d", len(body), len(src))
	}
	// Comments and local names are gone; strings, property names and the
	// configuration's free name C stay.
	for _, gone := range []string{"// ", "escapeHTML", "consentModeCall", "activateAgain", "secondLayer", "use strict"} {
		if bytes.Contains(body, []byte(gone)) {
			t.Errorf("minified banner.js still holds %q", gone)
		}
	}
	for _, kept := range []string{"C.purposes", "C.cookie.name", `"stw_consent"`, "/v1/consent/events?key=", ".Steward=", "Download my consent receipts", "#steward-banner"} {
		if !bytes.Contains(body, []byte(kept)) {
			t.Errorf("minified banner.js lost %q", kept)
		}
	}
	if again, againTCF, _ := Scripts(); &again[0] != &body[0] || &againTCF[0] != &tcfJS[0] {
		t.Error("Scripts minified again instead of returning its first result")
	}
	tcfSrc, err := fs.ReadFile(assets, "assets/tcf.js")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(tcfJS, []byte("/*! Steward consent banner: IAB TCF v2.3")) || !bytes.Contains(tcfJS, []byte(".StewardTCF=")) || len(tcfJS) > len(tcfSrc)*6/10 {
		t.Errorf("tcf.js minified (%d bytes of %d): %.80s", len(tcfJS), len(tcfSrc), tcfJS)
	}

	s, err := New(Deps{})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(s.script, body) || !bytes.Equal(s.tcfScript.body, tcfJS) {
		t.Error("New does not serve the minified scripts")
	}
}

// declaresC matches a declaration or assignment of a name C, which would
// hide the configuration.
var declaresC = regexp.MustCompile(`(^|[^.\w$])C(=[^=]|=>|\)=>|,[\w$,]*\)=>)`)

func TestMinifyBody(t *testing.T) {
	// Enough locals for the renamer to reach C in its alphabet.
	var many strings.Builder
	var sum []string
	for i := range 120 {
		fmt.Fprintf(&many, "var local%d = %d * window.n;\n", i, i)
		sum = append(sum, fmt.Sprintf("local%d", i))
	}
	fmt.Fprintf(&many, "window.out = C.x + %s;\n", strings.Join(sum, " + "))

	tests := []struct {
		name       string
		src        string
		want, gone []string
		err        string
	}{
		{
			name: "top-level names are local, C is free",
			src:  "// A comment.\nvar purposes = C.purposes || [];\nif (!purposes[0]) return;\nwindow.first = purposes[0];\n",
			want: []string{"C.purposes||[]", "return", ".first="},
			gone: []string{"purposes =", "var purposes", "A comment", "use strict"},
		},
		{
			name: "no local takes the name C",
			src:  many.String(),
			want: []string{"C.x+"},
			gone: []string{"local1"},
		},
		{name: "syntax error", src: "var x = ;", err: "unexpected"},
		{name: "not a function body", src: "}, function () {", err: "not the function"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := minifyBody([]byte(tt.src))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("minified %q into %q, %v; want an error with %q", tt.src, out, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !bytes.Contains(out, []byte(w)) {
					t.Errorf("%q lacks %q", out, w)
				}
			}
			for _, g := range tt.gone {
				if bytes.Contains(out, []byte(g)) {
					t.Errorf("%q still holds %q", out, g)
				}
			}
			if m := declaresC.Find(out); m != nil {
				t.Errorf("%q declares C: %q", out, m)
			}
			// What Wrap puts around it holds together.
			if w := Wrap([]byte(`{"x":1}`), out, nil); !bytes.HasPrefix(w, []byte(`/*! Steward consent banner */(function(){"use strict";var C={"x":1};`+"\n")) || !bytes.HasSuffix(w, []byte("\n})();\n")) {
				t.Errorf("wrapped: %q", w)
			}
		})
	}
}

// TestMinifyAssetsFails: browser code that does not minify is an error
// naming the file, which stops the server from starting.
func TestMinifyAssetsFails(t *testing.T) {
	good := "window.Steward = {c: C};"
	tests := []struct {
		name   string
		fsys   fstest.MapFS
		errHas string
	}{
		{"banner.js broken", fstest.MapFS{"assets/banner.js": {Data: []byte("var = 1;")}, "assets/tcf.js": {Data: []byte(good)}, "assets/gpp.js": {Data: []byte(good)}}, "minify assets/banner.js"},
		{"banner.js broken in a GPP block", fstest.MapFS{"assets/banner.js": {Data: []byte(good + "/*gpp{*/var = 1;/*}gpp*/")}, "assets/tcf.js": {Data: []byte(good)}, "assets/gpp.js": {Data: []byte(good)}}, "minify assets/banner.js with GPP"},
		{"GPP block not closed", fstest.MapFS{"assets/banner.js": {Data: []byte(good + "/*gpp{*/")}, "assets/tcf.js": {Data: []byte(good)}, "assets/gpp.js": {Data: []byte(good)}}, "not closed"},
		{"tcf.js broken", fstest.MapFS{"assets/banner.js": {Data: []byte(good)}, "assets/tcf.js": {Data: []byte("(function () {")}, "assets/gpp.js": {Data: []byte(good)}}, "minify assets/tcf.js"},
		{"gpp.js broken", fstest.MapFS{"assets/banner.js": {Data: []byte(good)}, "assets/tcf.js": {Data: []byte(good)}, "assets/gpp.js": {Data: []byte("(() => {")}}, "minify assets/gpp.js"},
		{"banner.js missing", fstest.MapFS{"assets/tcf.js": {Data: []byte(good)}, "assets/gpp.js": {Data: []byte(good)}}, "assets/banner.js"},
		{"tcf.js missing", fstest.MapFS{"assets/banner.js": {Data: []byte(good)}, "assets/gpp.js": {Data: []byte(good)}}, "assets/tcf.js"},
		{"gpp.js missing", fstest.MapFS{"assets/banner.js": {Data: []byte(good)}, "assets/tcf.js": {Data: []byte(good)}}, "assets/gpp.js"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := minifyAssets(tt.fsys)
			if err == nil || !strings.HasPrefix(err.Error(), "banner: ") || !strings.Contains(err.Error(), tt.errHas) {
				t.Fatalf("got %v, want an error with %q", err, tt.errHas)
			}
		})
	}
	s, err := minifyAssets(fstest.MapFS{"assets/banner.js": {Data: []byte(good + "/*gpp{*/window.g = 1;/*}gpp*/")},
		"assets/tcf.js": {Data: []byte(good)}, "assets/gpp.js": {Data: []byte(good)}})
	if err != nil || string(s.banner) != "window.Steward={c:C}" || string(s.bannerGPP) != "window.Steward={c:C},window.g=1" {
		t.Fatalf("%q, %q, %v", s.banner, s.bannerGPP, err)
	}
}

// TestWithoutGPP: the GPP blocks are cut whole, and markers out of place
// are an error.
func TestWithoutGPP(t *testing.T) {
	tests := []struct {
		src, want, err string
	}{
		{src: "a();", want: "a();"},
		{src: "a(/*gpp{*/, b/*}gpp*/);\n/*gpp{*/\nc();\n/*}gpp*/d();", want: "a();\nd();"},
		{src: "a();/*gpp{*/b();", err: "not closed"},
		{src: "a();/*}gpp*/b();", err: "not opened"},
		{src: "/*gpp{*/a();/*}gpp*/b();/*}gpp*/", err: "not opened"},
		{src: "/*gpp{*/a();/*gpp{*/b();/*}gpp*/", err: "do not nest"},
	}
	for _, tt := range tests {
		got, err := withoutGPP([]byte(tt.src))
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("withoutGPP(%q) = %q, %v; want an error with %q", tt.src, got, err, tt.err)
			}
			continue
		}
		if err != nil || string(got) != tt.want {
			t.Errorf("withoutGPP(%q) = %q, %v; want %q", tt.src, got, err, tt.want)
		}
	}
}

// BenchmarkMinifyAssets is what minifying the browser code costs, once per
// process start.
func BenchmarkMinifyAssets(b *testing.B) {
	for b.Loop() {
		if _, err := minifyAssets(assets); err != nil {
			b.Fatal(err)
		}
	}
}
