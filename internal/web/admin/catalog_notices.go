package admin

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/errs"
)

// The privacy notices' pages (/admin/catalog/notices; permission notices):
// drafts are written and changed here; publishing shows first, language by
// language, what the draft changes in the notice in force, and publishes
// only on a second click that names the very draft reviewed.

const noticesPath = "/admin/catalog/notices"

var noticeInputs = []string{"version", "text", "text.en", "text.de", "text.fr", "text.es", "material"}

type noticeForm struct {
	formBase
	Texts    []langText
	Material bool
}

func (f *noticeForm) title() string {
	if f.Create {
		return "title_notice_new"
	}
	return "title_notice_edit"
}

func noticeFormOf(n consent.Notice, create bool) *noticeForm {
	return &noticeForm{formBase: formBase{Create: create, Key: n.Version}, Texts: langTexts(n.Texts), Material: n.Material}
}

// noticeList is the notices page: the notice in force first.
type noticeList struct {
	Current *consent.Notice
	Notices []consent.Notice
}

// HandleNotices lists the notices, published and drafts.
func (c *Console) HandleNotices() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		list, err := c.Consent.Notices(r.Context())
		if err != nil {
			c.fail(w, r, err)
			return
		}
		d := noticeList{Notices: list}
		if n, ok := c.Consent.CurrentNotice(); ok {
			d.Current = &n
		}
		notice := savedNotice(r, func(v string) bool { _, err := c.Consent.Notice(r.Context(), v); return err == nil })
		if v := r.URL.Query().Get("published"); v != "" && d.Current != nil && d.Current.Version == v {
			notice = say(r, "cat_notice_published", "version", v)
		}
		c.render(w, r, http.StatusOK, "catalog_notices", page{Title: "title_notices", Notice: notice, Data: d})
	})
}

// HandleNewNotice shows the form of a new draft.
func (c *Console) HandleNewNotice() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f := noticeFormOf(consent.Notice{}, true)
		if n, ok := c.Consent.CurrentNotice(); ok {
			// A new version starts from the notice in force.
			f.Texts = langTexts(n.Texts)
		}
		c.render(w, r, http.StatusOK, "catalog_notice", page{Title: f.title(), Data: f})
	})
}

// HandleEditNotice shows the form of a draft; a published notice cannot
// change, so it is refused.
func (c *Console) HandleEditNotice() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, err := c.draft(r)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		f := noticeFormOf(n, false)
		c.render(w, r, http.StatusOK, "catalog_notice", page{Title: f.title(), Data: f})
	})
}

// draft returns the draft notice of the request's path.
func (c *Console) draft(r *http.Request) (consent.Notice, error) {
	n, err := c.Consent.Notice(r.Context(), r.PathValue("version"))
	if err == nil && n.PublishedAt != nil {
		err = errs.New(errs.CodeConflict, "%s", say(r, "cat_notice_is_published", "version", n.Version))
	}
	return n, err
}

// HandlePutNotice creates (POST /admin/catalog/notices) or changes (POST
// …/{version}) a draft. It never publishes: that is the review page's.
func (c *Console) HandlePutNotice(create bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var kept consent.Notice
		version := strings.TrimSpace(r.PostFormValue("version"))
		if !create {
			var err error
			if kept, err = c.draft(r); err != nil {
				c.fail(w, r, err)
				return
			}
			version = kept.Version
		}
		n := consent.Notice{Version: version, Texts: postedTexts(r, "text", kept.Texts), Material: r.PostFormValue("material") == "on"}
		_, err := c.Consent.PutNotice(r.Context(), n, create, false)
		if err == nil {
			saved(w, r, noticesPath, n.Version)
			return
		}
		if e, ok := errs.As(err); ok && e.Code == errs.CodeInvalid {
			if msg, bad := e.Fields["version"]; bad {
				// The form's key input is named "version".
				delete(e.Fields, "version")
				e.Fields["key"] = msg
				if k, keyed := e.FieldKeys["version"]; keyed {
					delete(e.FieldKeys, "version")
					e.FieldKeys["key"] = k
				}
			}
		}
		if !c.catalogFailure(w, r, err, "catalog_notice", noticeFormOf(n, create), append(noticeInputs, "key")) {
			c.fail(w, r, err)
		}
	})
}

// languageDiff is what a draft changes in one language's text.
type languageDiff struct {
	Lang, Name string
	Lines      []diffLine
	Changed    bool
	// New and Dropped: the language has no text in the notice in force,
	// or none in the draft.
	New, Dropped bool
}

// noticeReview is the publish page.
type noticeReview struct {
	Draft    consent.Notice
	Current  *consent.Notice
	Langs    []languageDiff
	Changed  bool
	Material bool
}

// review diffs the draft against the notice in force, per language: the
// console's languages first, then any other the texts hold.
func (c *Console) review(n consent.Notice) noticeReview {
	d := noticeReview{Draft: n, Material: n.Material}
	var before map[string]string
	if cur, ok := c.Consent.CurrentNotice(); ok {
		d.Current, before = &cur, cur.Texts
	}
	langs := catalogLangs()
	var extra []string
	for _, texts := range []map[string]string{before, n.Texts} {
		for l := range texts {
			if !slices.Contains(langs, l) && !slices.Contains(extra, l) {
				extra = append(extra, l)
			}
		}
	}
	slices.Sort(extra)
	for _, l := range append(langs, extra...) {
		old, hadOld := before[l]
		cur, hasNew := n.Texts[l]
		if !hadOld && !hasNew {
			continue
		}
		lines := lineDiff(old, cur)
		ld := languageDiff{Lang: l, Name: words(l)["lang_name"], Lines: collapse(lines, 3), Changed: changed(lines), New: !hadOld, Dropped: !hasNew}
		if ld.Name == "" {
			ld.Name = l
		}
		d.Changed = d.Changed || ld.Changed
		d.Langs = append(d.Langs, ld)
	}
	return d
}

// HandleReviewNotice shows what publishing the draft changes, language by
// language, whether it is a material change, and the button that
// publishes it.
func (c *Console) HandleReviewNotice() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, err := c.draft(r)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		c.render(w, r, http.StatusOK, "catalog_publish", page{Title: "title_notice_publish", Data: c.review(n)})
	})
}

// HandlePublishNotice publishes a draft on the review page's confirmation,
// which names the content reviewed (its hash): a draft changed since, or a
// post without the confirmation, is shown for review again, unpublished.
// The service checks the hash and publishes in one statement.
func (c *Console) HandlePublishNotice() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		version := r.PathValue("version")
		_, err := c.Consent.PublishReviewedNotice(r.Context(), version, r.PostFormValue("confirm"))
		if errors.Is(err, consent.ErrNoticeChanged) {
			n, err := c.draft(r)
			if err != nil {
				c.fail(w, r, err)
				return
			}
			c.render(w, r, http.StatusConflict, "catalog_publish", page{Title: "title_notice_publish", Problem: say(r, "cat_notice_confirm_again"), Data: c.review(n)})
			return
		}
		if err != nil {
			c.fail(w, r, err)
			return
		}
		http.Redirect(w, r, noticesPath+"?published="+url.QueryEscape(version), http.StatusSeeOther)
	})
}
