package inventory

import (
	"slices"
	"time"
)

// Controller is the organisation responsible for the processing (GDPR
// Art. 30(1)(a)).
type Controller struct {
	Name    string `json:"name"`
	Email   string `json:"email"`
	Address string `json:"address"`
	Phone   string `json:"phone"`
	URL     string `json:"url"`
}

// ROPA is the record of processing activities (GDPR Art. 30(1)), one
// activity per purpose, derived from the map.
type ROPA struct {
	GeneratedAt time.Time  `json:"generated_at"`
	Controller  Controller `json:"controller"`
	Activities  []Activity `json:"activities"`
	// Systems are where the data is held, with their security measures
	// (Art. 30(1)(g)).
	Systems []SystemRecord `json:"systems"`
	// Gaps are what the record lacks (see Map.Gaps).
	Gaps []Gap `json:"gaps"`
}

// Subject categories (Art. 30(1)(c)).
const (
	// SubjectsCustomers are the company's customers, known by id.
	SubjectsCustomers = "customers"
	// SubjectsVisitors are the visitors of the company's websites and
	// apps, known by a device id, whom the banner asks.
	SubjectsVisitors = "visitors"
)

// Activity is one processing activity: a purpose and everything the
// record must say of it.
type Activity struct {
	Purpose    string            `json:"purpose"`
	Names      map[string]string `json:"name"`
	LegalBasis string            `json:"legal_basis"`
	// SubjectCategories are SubjectsCustomers and, for purposes the banner
	// asks about (consent, legitimate interest), SubjectsVisitors.
	SubjectCategories []string            `json:"subject_categories"`
	DataCategories    []DataCategory      `json:"data_categories"`
	Recipients        []ActivityRecipient `json:"recipients"`
	// Transfers are the recipients in third countries (outside the EEA),
	// with their safeguard.
	Transfers []Transfer `json:"transfers"`
	// RetentionDays is the purpose's own retention (0: none set); each
	// data category says its own, the longer of the two.
	RetentionDays int      `json:"retention_days"`
	Systems       []string `json:"systems"`
}

// DataCategory is a category of data an activity uses, with how long it
// is kept for it: the longer of the category's and the purpose's
// retention (0: none set).
type DataCategory struct {
	Key           string `json:"key"`
	Name          string `json:"name"`
	Special       bool   `json:"special"`
	RetentionDays int    `json:"retention_days"`
}

// ActivityRecipient is a vendor receiving data for an activity.
type ActivityRecipient struct {
	Key     string `json:"key"`
	Name    string `json:"name"`
	Country string `json:"country"`
}

// Transfer is data sent to a recipient in a third country.
type Transfer struct {
	Recipient string `json:"recipient"`
	Country   string `json:"country"`
	Safeguard string `json:"safeguard"`
}

// SystemRecord is a system as the record names it.
type SystemRecord struct {
	Key              string     `json:"key"`
	Kind             SystemKind `json:"kind"`
	Owner            string     `json:"owner"`
	Location         string     `json:"location"`
	Description      string     `json:"description"`
	Categories       []string   `json:"categories"`
	SecurityMeasures string     `json:"security_measures"`
}

// BuildROPA derives the record of processing from m, as of now.
func BuildROPA(m Map, controller Controller, now time.Time) ROPA {
	r := ROPA{GeneratedAt: now.UTC(), Controller: controller, Activities: make([]Activity, 0, len(m.Purposes)),
		Systems: make([]SystemRecord, 0, len(m.Systems)), Gaps: m.Gaps}
	categories := make(map[string]Category, len(m.Categories))
	for _, c := range m.Categories {
		categories[c.Key] = c
	}
	recipients := make(map[string]Recipient, len(m.Recipients))
	for _, rc := range m.Recipients {
		recipients[rc.Key] = rc
	}
	for _, p := range m.Purposes {
		a := Activity{Purpose: p.Key, Names: p.Names, LegalBasis: p.LegalBasis, SubjectCategories: []string{SubjectsCustomers},
			DataCategories: make([]DataCategory, 0, len(p.Categories)), Recipients: make([]ActivityRecipient, 0, len(p.Recipients)),
			Transfers: []Transfer{}, RetentionDays: p.RetentionDays, Systems: p.Systems}
		if p.LegalBasis == "consent" || p.LegalBasis == "legitimate_interest" {
			a.SubjectCategories = append(a.SubjectCategories, SubjectsVisitors)
		}
		for _, key := range p.Categories {
			c := categories[key]
			a.DataCategories = append(a.DataCategories, DataCategory{Key: key, Name: c.Names["en"], Special: c.Special,
				RetentionDays: max(c.RetentionDays, p.RetentionDays)})
		}
		for _, key := range p.Recipients {
			rc := recipients[key]
			a.Recipients = append(a.Recipients, ActivityRecipient{Key: rc.Key, Name: rc.Name, Country: rc.Country})
			if rc.ThirdCountry {
				a.Transfers = append(a.Transfers, Transfer{Recipient: rc.Key, Country: rc.Country, Safeguard: rc.Safeguard})
			}
		}
		r.Activities = append(r.Activities, a)
	}
	for _, s := range m.Systems {
		r.Systems = append(r.Systems, SystemRecord{Key: s.Key, Kind: s.Kind, Owner: s.Facts.Owner, Location: s.Facts.Location,
			Description: s.Facts.Description, Categories: slices.Clone(s.Categories), SecurityMeasures: s.Facts.SecurityMeasures})
	}
	return r
}
