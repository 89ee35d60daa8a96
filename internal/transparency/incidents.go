package transparency

import (
	"cmp"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/incident"
	"github.com/steward-dev/steward/internal/web/httpx"
)

// count is one line of an account's counts, named in the reader's
// language.
type count struct {
	Key, Name string
	N         int
}

// account is a published account as a page shows it in one language:
// nothing but what the officer wrote for the public and the counts.
type account struct {
	ID        string
	Version   int
	Published time.Time
	First     time.Time
	incident.AccountText
	// Fallback: the text is English, the reader's language was not written.
	Fallback bool
	Affected int
	// AffectedLine says Affected in words ("3 people").
	AffectedLine  string
	Categories    []count
	Jurisdictions []count
	URL           string
}

// view turns a published account into what the pages show in lang.
func (h *Handler) view(a incident.Account, lang string) account {
	text, fallback := a.Text(lang)
	v := account{ID: a.IncidentID, Version: a.Version, Published: a.PublishedAt, First: a.FirstPublishedAt, AccountText: text,
		Fallback: fallback, Affected: a.Affected, AffectedLine: h.say(lang, "affected_total", "n", a.Affected), URL: "/transparency/incidents/" + url.PathEscape(a.IncidentID) + "?lang=" + lang}
	for key, n := range a.ByCategory {
		name := h.CategoryName(key, lang)
		if name == "" {
			name = key
		}
		v.Categories = append(v.Categories, count{Key: key, Name: name, N: n})
	}
	for key, n := range a.ByJurisdiction {
		name := key
		if key == incident.UnknownJurisdiction {
			name = h.say(lang, "jurisdiction_unknown")
		}
		v.Jurisdictions = append(v.Jurisdictions, count{Key: key, Name: name, N: n})
	}
	largest := func(a, b count) int { return cmp.Or(cmp.Compare(b.N, a.N), cmp.Compare(a.Key, b.Key)) }
	slices.SortFunc(v.Categories, largest)
	slices.SortFunc(v.Jurisdictions, largest)
	return v
}

// HandleIncidents lists the published accounts, the latest first.
func (h *Handler) HandleIncidents() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lang := h.language(r)
		list, err := h.Incidents.Published(r.Context())
		if err != nil {
			h.fail(w, r, err)
			return
		}
		views := make([]account, 0, len(list))
		for _, a := range list {
			views = append(views, h.view(a, lang))
		}
		h.render(w, r, http.StatusOK, "incidents", page{Title: h.say(lang, "incidents_title"), Data: views})
	})
}

// HandleIncident shows one published account; an incident without one (or
// withdrawn, or unknown) is not found, alike.
func (h *Handler) HandleIncident() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lang := h.language(r)
		a, err := h.Incidents.PublishedAccount(r.Context(), r.PathValue("id"))
		if err != nil {
			h.fail(w, r, err)
			return
		}
		v := h.view(a, lang)
		h.render(w, r, http.StatusOK, "incident", page{Title: v.Title, Data: v})
	})
}

// fail shows err as a page: not found in the reader's language, anything
// else logged (without the path) and said as a failure on our side.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	lang := h.language(r)
	if errs.Is(err, errs.CodeNotFound) {
		h.render(w, r, http.StatusNotFound, "error", page{Title: h.say(lang, "not_found_title"), Problem: h.say(lang, "not_found")})
		return
	}
	h.Log.ErrorContext(r.Context(), "transparency", "error", err)
	h.render(w, r, http.StatusInternalServerError, "error", page{Title: h.say(lang, "error_title"), Problem: h.say(lang, "error_internal")})
}

// jsonAccount is a published account in the JSON feed: the texts in every
// language written (English always), the counts, the dates.
type jsonAccount struct {
	ID               string                          `json:"id"`
	Version          int                             `json:"version"`
	URL              string                          `json:"url"`
	PublishedAt      time.Time                       `json:"published_at"`
	FirstPublishedAt time.Time                       `json:"first_published_at"`
	Texts            map[string]incident.AccountText `json:"texts"`
	Affected         jsonCounts                      `json:"affected"`
}

type jsonCounts struct {
	Total          int            `json:"total"`
	ByCategory     map[string]int `json:"by_category"`
	ByJurisdiction map[string]int `json:"by_jurisdiction"`
}

// HandleIncidentsJSON serves the published accounts as JSON, the latest
// first: the same accounts as the list page, with every language written.
func (h *Handler) HandleIncidentsJSON() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		list, err := h.Incidents.Published(r.Context())
		if err != nil {
			httpx.Error(w, r, h.Log, err)
			return
		}
		out := struct {
			Incidents []jsonAccount `json:"incidents"`
		}{Incidents: make([]jsonAccount, 0, len(list))}
		for _, a := range list {
			out.Incidents = append(out.Incidents, jsonAccount{ID: a.IncidentID, Version: a.Version,
				URL: "/transparency/incidents/" + url.PathEscape(a.IncidentID), PublishedAt: a.PublishedAt, FirstPublishedAt: a.FirstPublishedAt,
				Texts: a.Texts, Affected: jsonCounts{Total: a.Affected, ByCategory: a.ByCategory, ByJurisdiction: a.ByJurisdiction}})
		}
		body, err := json.Marshal(out)
		if err != nil {
			httpx.Error(w, r, h.Log, err)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "public, max-age=300")
		w.Header().Set("Access-Control-Allow-Origin", "*")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		_, _ = w.Write(append(body, '\n'))
	})
}
