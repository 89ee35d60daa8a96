package admin

import (
	"net/http"
	"slices"
	"strings"

	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/ethics"
)

// The purposes' pages (/admin/catalog/purposes; permission settings): why
// data is used, with texts in each language, the legal basis the banner
// and the decisions follow, and the cookies the banner deletes; or a
// communication topic, with its channels and frequency, which the
// preference centre offers instead of the banner.

const purposesPath = "/admin/catalog/purposes"

var purposeInputs = []string{"key", "name", "name.en", "name.de", "name.fr", "name.es",
	"description", "description.en", "description.de", "description.fr", "description.es",
	"legal_basis", "necessary", "sale_or_sharing", "position", "cookies", "retention_days", "kind", "channels", "frequency"}

// legalBases are the legal bases a purpose may rest on, in the order the
// form offers them; their labels are the catalog's basis_* words.
var legalBases = []consent.LegalBasis{consent.BasisConsent, consent.BasisLegitimateInterest, consent.BasisContract, consent.BasisLegalObligation}

// purposeKinds are the kinds of purpose the form offers; their labels are
// the catalog's cat_kind_* words.
var purposeKinds = []consent.PurposeKind{consent.KindProcessing, consent.KindCommunication}

type purposeForm struct {
	formBase
	Names, Descriptions      []langText
	LegalBasis               string
	LegalBases               []consent.LegalBasis
	Necessary, SaleOrSharing bool
	Position, RetentionDays  string
	Cookies                  string
	// Kind, Channels and Frequency say whether the purpose is a
	// communication topic, sent by which channels, how often.
	Kind        string
	Kinds       []consent.PurposeKind
	Channels    []channelBox
	Frequency   string
	Frequencies []consent.Frequency
}

// channelBox is one channel's checkbox.
type channelBox struct {
	Channel consent.Channel
	Checked bool
}

func (f *purposeForm) title() string {
	if f.Create {
		return "title_purpose_new"
	}
	return "title_purpose_edit"
}

func purposeFormOf(p consent.Purpose, create bool) *purposeForm {
	return &purposeForm{formBase: formBase{Create: create, Key: p.Key}, Names: langTexts(p.Names), Descriptions: langTexts(p.Descriptions),
		LegalBasis: string(p.LegalBasis), LegalBases: legalBases, Necessary: p.Necessary, SaleOrSharing: p.SaleOrSharing,
		Position: itoa(p.Position), RetentionDays: itoa(p.RetentionDays), Cookies: strings.Join(p.Cookies, "\n"),
		Kind: string(p.Kind), Kinds: purposeKinds, Channels: channelBoxes(p.Channels), Frequency: string(p.Frequency), Frequencies: consent.Frequencies}
}

func channelBoxes(chosen []consent.Channel) []channelBox {
	boxes := make([]channelBox, len(consent.Channels))
	for i, ch := range consent.Channels {
		boxes[i] = channelBox{Channel: ch, Checked: slices.Contains(chosen, ch)}
	}
	return boxes
}

// postedChannels are the channels ticked, as posted.
func postedChannels(r *http.Request) []consent.Channel {
	var out []consent.Channel
	for _, v := range r.PostForm["channels"] {
		out = append(out, consent.Channel(v))
	}
	return out
}

// purposeRow is a purpose of the list with where its ethics assessment
// stands (nil when the console runs without the assessments).
type purposeRow struct {
	consent.Purpose
	Assessment *ethics.Summary
}

// HandlePurposes lists the purposes, each with where its ethics assessment
// stands: a purpose that needs one is used only once a privacy officer
// approved it.
func (c *Console) HandlePurposes() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		notice := savedNotice(r, func(k string) bool { _, err := c.Consent.Purpose(k); return err == nil })
		var summaries []ethics.Summary
		if c.Ethics != nil {
			var err error
			if summaries, err = c.Ethics.Summaries(r.Context()); err != nil {
				c.fail(w, r, err)
				return
			}
		}
		purposes := c.Consent.Purposes()
		rows := make([]purposeRow, len(purposes))
		for i, p := range purposes {
			rows[i].Purpose = p
			for j := range summaries {
				if summaries[j].Purpose == p.Key {
					rows[i].Assessment = &summaries[j]
				}
			}
		}
		c.render(w, r, http.StatusOK, "catalog_purposes", page{Title: "title_purposes", Notice: notice, Data: rows})
	})
}

// HandleNewPurpose shows the form of a new purpose.
func (c *Console) HandleNewPurpose() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f := purposeFormOf(consent.Purpose{LegalBasis: consent.BasisConsent}, true)
		c.render(w, r, http.StatusOK, "catalog_purpose", page{Title: f.title(), Data: f})
	})
}

// HandleEditPurpose shows the form of an existing purpose.
func (c *Console) HandleEditPurpose() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := c.Consent.Purpose(r.PathValue("key"))
		if err != nil {
			c.fail(w, r, err)
			return
		}
		f := purposeFormOf(p, false)
		c.render(w, r, http.StatusOK, "catalog_purpose", page{Title: f.title(), Data: f})
	})
}

// HandlePutPurpose creates (POST /admin/catalog/purposes) or replaces
// (POST …/{key}) a purpose.
func (c *Console) HandlePutPurpose(create bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var kept consent.Purpose
		key := strings.TrimSpace(r.PostFormValue("key"))
		if !create {
			var err error
			if kept, err = c.Consent.Purpose(r.PathValue("key")); err != nil {
				c.fail(w, r, err)
				return
			}
			key = kept.Key
		}
		p := consent.Purpose{Key: key, Names: postedTexts(r, "name", kept.Names), Descriptions: postedTexts(r, "description", kept.Descriptions),
			LegalBasis: consent.LegalBasis(r.PostFormValue("legal_basis")), Necessary: r.PostFormValue("necessary") == "on",
			SaleOrSharing: r.PostFormValue("sale_or_sharing") == "on", Cookies: lines(r.PostFormValue("cookies")),
			Kind: consent.PurposeKind(r.PostFormValue("kind")), Channels: postedChannels(r), Frequency: consent.Frequency(r.PostFormValue("frequency"))}
		if p.Kind != consent.KindCommunication {
			// The form keeps the boxes of a processing purpose; they say nothing.
			p.Channels, p.Frequency = nil, ""
		}
		f := purposeFormOf(p, create)
		f.Position, f.RetentionDays, f.Cookies = r.PostFormValue("position"), r.PostFormValue("retention_days"), r.PostFormValue("cookies")
		local := map[string]string{}
		p.Position = number(r, "position", f.Position, local)
		p.RetentionDays = number(r, "retention_days", f.RetentionDays, local)
		err := fieldsErr(local)
		if err == nil {
			_, err = c.Consent.PutPurpose(r.Context(), p, create)
		}
		if err == nil {
			saved(w, r, purposesPath, p.Key)
			return
		}
		if !c.catalogFailure(w, r, err, "catalog_purpose", f, purposeInputs) {
			c.fail(w, r, err)
		}
	})
}
