package transparency

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/web/httpx"
)

// HandleDocumentJSON serves the signed document: application/json holding
// {"jws": compact JWS, "document": the JWS payload verbatim}. Anyone can
// check the JWS against /.well-known/jwks.json and keep it as evidence.
func (h *Handler) HandleDocumentJSON() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h.Publisher == nil {
			httpx.Error(w, r, h.Log, errs.NotFound("transparency page", "company"))
			return
		}
		s, err := h.Publisher.Current(r.Context())
		if err != nil {
			httpx.Error(w, r, h.Log, err)
			return
		}
		header := w.Header()
		header.Set("Content-Type", "application/json")
		header.Set("Cache-Control", "public, max-age=60")
		header.Set("Access-Control-Allow-Origin", "*")
		header.Set("X-Content-Type-Options", "nosniff")
		header.Set("ETag", s.ETag)
		if match := r.Header.Get("If-None-Match"); match != "" && strings.Contains(match, s.ETag) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		_, _ = w.Write(s.Body)
	})
}

// named is a catalog entry named in the reader's language.
type named struct {
	Key, Name, Description string
}

// pageView is the document as the HTML page shows it in one language.
type pageView struct {
	Doc        Document
	Purposes   []purposeView
	Categories []categoryView
	Vendors    []vendorView
	Kinds      []named
	Requests   []requestView
	Reveals    []RevealFigure
	Consent    []consentView
	GPC        []GPCFigure
	Cookies    []cookieView
	Period     string
	Threshold  string
}

type purposeView struct {
	named
	Basis, Retention string
	Necessary        bool
	Vendors          string
}

type categoryView struct {
	named
	Special   bool
	Retention string
	Places    string
	Vendors   string
}

type vendorView struct {
	Vendor
	Purposes string
}

type requestView struct {
	Kind                string
	Received, Completed int
	Median, OnTime      string
}

type consentView struct {
	ConsentFigure
	Name, Accepted, Refused string
}

// pick is text in lang, else English, else fallback.
func pick(texts map[string]string, lang, fallback string) string {
	if t := texts[lang]; t != "" {
		return t
	}
	if t := texts["en"]; t != "" {
		return t
	}
	return fallback
}

func percent(share float64) string { return fmt.Sprintf("%.1f %%", share*100) }

// viewOf turns the document into what the page shows in lang.
func (h *Handler) viewOf(d Document, lang string) pageView {
	v := pageView{Doc: d, Reveals: d.Figures.Reveals, GPC: d.Figures.GPC,
		Period:    h.say(lang, "period", "from", d.Figures.Period.From.Format("2006-01"), "to", d.Figures.Period.To.AddDate(0, -1, 0).Format("2006-01")),
		Threshold: h.say(lang, "threshold", "n", d.Figures.MinGroup)}
	purposeName := map[string]string{}
	for _, p := range d.Purposes {
		purposeName[p.Key] = pick(p.Names, lang, p.Key)
	}
	vendorName := map[string]string{}
	for _, vendor := range d.Vendors {
		vendorName[vendor.Key] = vendor.Name
	}
	names := func(keys []string, of map[string]string) string {
		out := make([]string, 0, len(keys))
		for _, k := range keys {
			if n := of[k]; n != "" {
				out = append(out, n)
				continue
			}
			out = append(out, k)
		}
		if len(out) == 0 {
			return h.say(lang, "none")
		}
		return strings.Join(out, ", ")
	}
	retention := func(days int) string {
		if days == 0 {
			return h.say(lang, "retention_none")
		}
		return h.say(lang, "retention_days", "n", days)
	}
	for _, p := range d.Purposes {
		v.Purposes = append(v.Purposes, purposeView{named: named{Key: p.Key, Name: purposeName[p.Key], Description: pick(p.Descriptions, lang, "")},
			Basis: h.say(lang, "basis_"+p.LegalBasis), Retention: retention(p.RetentionDays), Necessary: p.Necessary, Vendors: names(p.Vendors, vendorName)})
	}
	for _, c := range d.Categories {
		places := make([]string, 0, len(c.Places))
		for _, pl := range c.Places {
			place := h.say(lang, "system_"+pl.Kind, "key", pl.System)
			if pl.Country != "" {
				place += " (" + pl.Country + ")"
			}
			places = append(places, place)
		}
		cv := categoryView{named: named{Key: c.Key, Name: pick(c.Names, lang, c.Key)}, Special: c.Special, Retention: retention(c.RetentionDays),
			Places: strings.Join(places, ", "), Vendors: names(c.Vendors, vendorName)}
		if cv.Places == "" {
			cv.Places = h.say(lang, "none")
		}
		v.Categories = append(v.Categories, cv)
	}
	for _, vendor := range d.Vendors {
		v.Vendors = append(v.Vendors, vendorView{Vendor: vendor, Purposes: names(vendor.Purposes, purposeName)})
	}
	for _, k := range d.Rights.Kinds {
		v.Kinds = append(v.Kinds, named{Key: k, Name: h.say(lang, "kind_"+k), Description: h.say(lang, "kind_"+k+"_hint")})
	}
	for _, r := range d.Figures.Requests {
		rv := requestView{Kind: h.say(lang, "kind_"+r.Kind), Received: r.Received, Completed: r.Completed, Median: "—", OnTime: "—"}
		if r.MedianDays != nil {
			rv.Median = h.say(lang, "days", "n", fmt.Sprintf("%.1f", *r.MedianDays))
		}
		if r.OnTimeShare != nil {
			rv.OnTime = percent(*r.OnTimeShare)
		}
		v.Requests = append(v.Requests, rv)
	}
	for _, c := range d.Figures.Consent {
		v.Consent = append(v.Consent, consentView{ConsentFigure: c, Name: cmpOr(purposeName[c.Purpose], c.Purpose),
			Accepted: percent(c.AcceptedShare), Refused: percent(c.RefusedShare)})
	}
	v.Cookies = h.cookieViews(d, lang, purposeName)
	return v
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// HandlePage shows the company's transparency page in the reader's
// language.
func (h *Handler) HandlePage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lang := h.language(r)
		if h.Publisher == nil {
			h.fail(w, r, errs.NotFound("transparency page", "company"))
			return
		}
		s, err := h.Publisher.Current(r.Context())
		if err != nil {
			h.fail(w, r, err)
			return
		}
		h.render(w, r, http.StatusOK, "company", page{Title: h.say(lang, "page_title"), Data: h.viewOf(s.Document, lang)})
	})
}

// historyView is a version with its changes said in the reader's words.
type historyView struct {
	Version
	Lines []string
}

// HandleHistory lists the versions of the page with what changed.
func (h *Handler) HandleHistory() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lang := h.language(r)
		if h.Publisher == nil {
			h.fail(w, r, errs.NotFound("transparency page", "company"))
			return
		}
		// Building first records a change made since the last visit.
		if _, err := h.Publisher.Current(r.Context()); err != nil {
			h.fail(w, r, err)
			return
		}
		list, err := h.Publisher.History(r.Context())
		if err != nil {
			h.fail(w, r, err)
			return
		}
		views := make([]historyView, 0, len(list))
		for _, ver := range list {
			hv := historyView{Version: ver}
			for _, c := range ver.Changes {
				line := h.say(lang, "change_"+c.Kind, "section", h.say(lang, "section_"+c.Section))
				if c.Key != "" {
					line += ": " + c.Key
				}
				hv.Lines = append(hv.Lines, line)
			}
			views = append(views, hv)
		}
		h.render(w, r, http.StatusOK, "history", page{Title: h.say(lang, "history_title"), Data: views})
	})
}
