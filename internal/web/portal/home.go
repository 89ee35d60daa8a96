package portal

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/dsr"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/fulfil"
	"github.com/steward-dev/steward/internal/provenance"
	"github.com/steward-dev/steward/internal/receipt"
	"github.com/steward-dev/steward/internal/vault"
)

// consentRow is a property's purpose with the customer's latest choice.
type consentRow struct {
	Property, PropertyName string
	Purpose, PurposeName   string
	Allowed                bool
	Recorded               bool
	At                     time.Time
	EventID                string
	Source                 consent.Source
	// Given says when and where the latest choice was made: "Given on 3
	// May 2026 in form “Checkout”" (package provenance).
	Given string
	// Objectable is a legitimate-interest purpose: the customer turns it
	// off by objecting (consent.ActionObject), which holds until they
	// allow it again themselves.
	Objectable bool
}

// holdRow is a restriction (Purpose "" for every purpose) or an
// objection of the customer, as they may see it.
type holdRow struct {
	PurposeName string
	Since       time.Time // restrictions only
	// Purpose is the restriction's purpose key ("" for every purpose),
	// which the customer's own lift names; LiftPending says staff asked to
	// lift it and the customer is being told first (GDPR Art. 18(3)).
	Purpose     string
	LiftPending bool
}

// fieldRow is a protected field; Value is set only when shown.
type fieldRow struct {
	vault.FieldInfo
	Value string
}

// accessRow is one access to the customer's data, as they may see it.
type accessRow struct {
	At                time.Time
	Who, Why, What    string
	StaffName, Ticket string
}

// historyRow is one of the customer's consent events.
type historyRow struct {
	consent.Event
	PurposeName, PropertyName string
	// Where says where the choice was made: "in form “Checkout”".
	Where string
}

// purposeRow says why the company uses data, on which legal basis.
type purposeRow struct {
	Name, Description, LegalBasis string
}

type homeData struct {
	Pending   []disclosureRow
	Received  []disclosureRow
	Found     []fulfil.Found
	Searched  bool
	CanSearch bool
	History   []historyRow
	Purposes  []purposeRow
	Requests  []dsr.Request
	Kinds     []dsr.Kind
	Filed     *dsr.Request
	// Form is the request form's input, shown again when it was refused.
	Form     requestForm
	Known    bool
	Consents []consentRow
	Fields   []fieldRow
	Shown    bool
	Accesses []accessRow
	Erased   bool
	// Reports are the finished erasures' reports, by request id.
	Reports map[string][]fulfil.Place
	// Correctables are the fields the customer may propose new values for.
	Correctables []correctRow
	// Shared counts the disclosures to third parties, asked and made.
	Shared int
	// Restrictions and Objections hold the use of the customer's data.
	Restrictions []holdRow
	Objections   []holdRow
	// Notices are the breach notices sent to the customer, newest first.
	Notices []breachNotice
	// Topics are the communication topics (the preference centre's) with
	// the customer's choices.
	Topics []topicRow
}

// freshFor is how recent a sign-in must be to show vault values.
const freshFor = 10 * time.Minute

// HandleHome shows the customer everything the company holds and does
// with their data, and what they can change.
func (p *Portal) HandleHome() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, err := p.home(r, false)
		if err != nil {
			p.fail(w, r, err)
			return
		}
		p.render(w, r, http.StatusOK, "home", p.homePage(r, d))
	})
}

func (p *Portal) homePage(r *http.Request, d *homeData) page {
	email, _ := p.Customers.Email(r.Context(), sessionOf(r))
	return page{Title: "home_title", Email: email, Data: d}
}

func (p *Portal) home(r *http.Request, show bool) (*homeData, error) {
	ctx := r.Context()
	session := sessionOf(r)
	d := &homeData{Known: session.SubjectID != "", Kinds: dsr.Kinds, CanSearch: p.FindInSystems != nil}
	var err error
	if d.Requests, err = p.Requests.ListForRequester(ctx, session.EmailHash); err != nil {
		return nil, err
	}
	for i := range d.Requests {
		if d.Requests[i].ID == r.URL.Query().Get("filed") {
			d.Filed = &d.Requests[i]
		}
	}
	if err := p.erasureReports(r, d); err != nil {
		return nil, err
	}
	if !d.Known {
		d.Correctables = p.correctables(messages[language(r)], "", nil)
		return d, nil
	}
	subject := session.SubjectID
	if d.Notices, err = p.breachNotices(r, subject); err != nil {
		return nil, err
	}
	if d.Consents, d.History, err = p.consents(r, subject); err != nil {
		return nil, err
	}
	if d.Topics, err = p.topicRows(r, subject, nil); err != nil {
		return nil, err
	}
	if props := p.Consent.Properties(); len(props) > 0 {
		for i := range d.Topics {
			if d.Topics[i].Property == "" {
				// A first choice is recorded for the first property; the
				// decision is the subject's, whatever the property.
				d.Topics[i].Property = props[0].Key
			}
		}
	}
	if d.Pending, d.Received, err = p.disclosures(r, subject); err != nil {
		return nil, err
	}
	d.Shared = len(d.Pending) + len(d.Received)
	if d.Restrictions, d.Objections, err = p.holds(r, subject); err != nil {
		return nil, err
	}
	lang := language(r)
	for _, purpose := range p.Consent.Purposes() {
		d.Purposes = append(d.Purposes, purposeRow{Name: localName(purpose.Names, lang, purpose.Key),
			Description: localName(purpose.Descriptions, lang, ""), LegalBasis: string(purpose.LegalBasis)})
	}
	fields, err := p.Vault.List(ctx, subject)
	switch {
	case errors.Is(err, vault.ErrErased):
		d.Erased = true
	case err != nil && errs.CodeOf(err) != errs.CodeNotFound:
		return nil, err
	}
	for _, f := range fields {
		row := fieldRow{FieldInfo: f}
		if show {
			rec, err := p.Vault.Get(ctx, subject, f.Name)
			if err != nil {
				return nil, err
			}
			row.Value = string(rec.Value)
		}
		d.Fields = append(d.Fields, row)
	}
	d.Shown = show && len(d.Fields) > 0
	d.Correctables = p.correctables(messages[language(r)], subject, d.Fields)
	page, err := p.Audit.Accesses(ctx, subject, 0, 100)
	if err != nil {
		return nil, err
	}
	t := messages[language(r)]
	for _, e := range page.Entries {
		details := e.Details.Map()
		switch e.Action {
		case "vault.reveal", "vault.detokenize", "customer.view":
		case vault.ActionPut, vault.ActionDelete:
			// A change of the address they sign in with is shown: whoever
			// holds the new address can sign in as them (a deletion is the
			// first half of a change in two steps).
			if details["field"] != "email" || (e.Action == vault.ActionPut && details["lookup_changed"] != true) {
				continue
			}
		default:
			continue // the customer's own acts and system work are not accesses
		}
		row := accessRow{At: e.At, Why: fmt.Sprint(orEmpty(details["purpose"])), Ticket: fmt.Sprint(orEmpty(details["ticket"]))}
		switch e.Actor.Kind {
		case audit.KindStaff:
			row.Who = t["staff_member"]
			if role, ok := details["role"].(string); ok {
				row.Who += " (" + say(t, "role_", role) + ")"
			}
			if p.StaffName != nil {
				if name, err := p.StaffName(ctx, e.Actor.ID); err == nil {
					row.StaffName = name
				}
			}
		default:
			row.Who = t["system"]
		}
		if fields, ok := details["fields"].([]any); ok {
			names := make([]string, len(fields))
			for i, f := range fields {
				names[i] = say(t, "field_", f)
			}
			row.What = strings.Join(names, ", ")
		}
		if e.Action == "customer.view" {
			row.What = t["access_masked"]
		}
		if e.Action == vault.ActionPut || e.Action == vault.ActionDelete {
			row.What = t["signin_changed"]
		}
		d.Accesses = append(d.Accesses, row)
	}
	return d, nil
}

func orEmpty(v any) any {
	if v == nil {
		return ""
	}
	return v
}

// consents lists, for every property, each purpose that needs a choice,
// with the customer's latest event (grant allows; deny and withdraw do not).
func (p *Portal) consents(r *http.Request, subject string) ([]consentRow, []historyRow, error) {
	events, err := p.Consent.Events(r.Context(), consent.EventFilter{Subject: subject, LinkedDevices: true, Limit: 10000})
	if err != nil {
		return nil, nil, err
	}
	lang := language(r)
	words := catalog.Printer(lang)
	history := make([]historyRow, 0, len(events))
	for i := len(events) - 1; i >= 0; i-- { // newest first
		name, site := events[i].Purpose, events[i].Property
		if purpose, err := p.Consent.Purpose(name); err == nil {
			name = localName(purpose.Names, lang, name)
		}
		if prop, err := p.Consent.Property(site); err == nil && prop.Name != "" {
			site = prop.Name
		}
		row := historyRow{Event: events[i], PurposeName: name, PropertyName: site, Where: provenance.Where(words, p.Consent, events[i])}
		if vendor, err := p.Consent.Vendor(row.Vendor); row.Vendor != "" && err == nil && vendor.Name != "" {
			row.Vendor = vendor.Name // the page names it; the receipt link uses the id
		}
		history = append(history, row)
	}
	latest := map[[2]string]consent.Event{}
	for _, e := range events {
		if e.Vendor != "" {
			continue // vendor-level choices are made in the banner's details
		}
		k := [2]string{e.Property, e.Purpose}
		if prev, ok := latest[k]; !ok || e.Supersedes(&prev) {
			latest[k] = e
		}
	}
	var rows []consentRow
	for _, prop := range p.Consent.Properties() {
		for _, purpose := range p.Consent.Purposes() {
			if purpose.Necessary || purpose.Communication() {
				continue // communication topics have their own list (Topics)
			}
			row := consentRow{Property: prop.Key, PropertyName: prop.Name, Purpose: purpose.Key, PurposeName: localName(purpose.Names, lang, purpose.Key),
				Objectable: purpose.LegalBasis == consent.BasisLegitimateInterest}
			if e, ok := latest[[2]string{prop.Key, purpose.Key}]; ok {
				row.Recorded, row.Allowed, row.At, row.EventID, row.Source = true, e.Action == consent.ActionGrant, e.At, e.ID, e.Source
				row.Given = provenance.Sentence(words, p.Consent, e)
			}
			rows = append(rows, row)
		}
	}
	// Only properties the customer has used: those with a recorded choice.
	used := map[string]bool{}
	for _, row := range rows {
		used[row.Property] = used[row.Property] || row.Recorded
	}
	return slices.DeleteFunc(rows, func(row consentRow) bool { return !used[row.Property] }), history, nil
}

// holds returns the customer's restrictions in force and the purposes
// they objected to, as decisions see them.
func (p *Portal) holds(r *http.Request, subject string) (restrictions, objections []holdRow, err error) {
	lang := language(r)
	list, err := p.Consent.Restrictions(r.Context(), subject)
	if err != nil {
		return nil, nil, err
	}
	pending, err := p.Consent.PendingLifts(r.Context(), subject)
	if err != nil {
		return nil, nil, err
	}
	for _, res := range list {
		row := holdRow{Since: res.PlacedAt, Purpose: res.Purpose}
		for _, l := range pending {
			// One whose notice failed is not going ahead: not shown.
			row.LiftPending = row.LiftPending || l.NoticeProblem == "" && (l.Purpose == "" || l.Purpose == res.Purpose)
		}
		if purpose, err := p.Consent.Purpose(res.Purpose); err == nil {
			row.PurposeName = localName(purpose.Names, lang, res.Purpose)
		}
		restrictions = append(restrictions, row)
	}
	for _, purpose := range p.Consent.Purposes() {
		a, err := p.Consent.Decider().Decide(&consent.Question{Subject: subject, Purpose: purpose.Key}, false)
		if err == nil && a.Reason == consent.ReasonObjected {
			objections = append(objections, holdRow{PurposeName: localName(purpose.Names, lang, purpose.Key)})
		}
	}
	return restrictions, objections, nil
}

func localName(names map[string]string, lang, fallback string) string {
	if n := names[lang]; n != "" {
		return n
	}
	if n := names["en"]; n != "" {
		return n
	}
	return fallback
}

// HandleChangeConsent records the customer's choice as a ledger event with
// source "portal": the same effect as the banner's.
func (p *Portal) HandleChangeConsent() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		session := sessionOf(r)
		if session.SubjectID == "" {
			p.fail(w, r, errs.New(errs.CodeNotFound, "consents_none"))
			return
		}
		action := consent.Action(r.PostFormValue("action"))
		if action != consent.ActionGrant && action != consent.ActionWithdraw && action != consent.ActionObject {
			p.fail(w, r, errs.Invalid("action", "must be grant, withdraw or object"))
			return
		}
		// channel, for a communication topic, narrows the choice to one
		// of its channels (ValidateEvents checks it is one).
		e := consent.Event{ID: newEventID(), Property: r.PostFormValue("property"), Subject: session.SubjectID,
			Purpose: r.PostFormValue("purpose"), Channel: consent.Channel(r.PostFormValue("channel")), Action: action, Source: consent.SourcePortal}
		if notice, ok := p.Consent.CurrentNotice(); ok {
			e.NoticeVersion = notice.Version
		}
		events := []consent.Event{e}
		if err := p.Consent.ValidateEvents(events, consent.Author{Kind: consent.AuthorPortal}); err != nil {
			p.fail(w, r, err)
			return
		}
		if _, err := p.Consent.Append(r.Context(), events); err != nil {
			p.fail(w, r, err)
			return
		}
		http.Redirect(w, r, "/privacy/home?lang="+language(r)+"#consents", http.StatusSeeOther)
	})
}

// newEventID returns a random UUID (version 4) for a ledger event.
func newEventID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// HandleShowData shows the customer's protected values, within freshFor of
// a sign-in with a code; each showing is recorded.
func (p *Portal) HandleShowData() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		session := sessionOf(r)
		if !session.Fresh(p.Now(), freshFor) {
			if err := p.Customers.SignOut(r.Context(), session.Token); err != nil {
				p.fail(w, r, err)
				return
			}
			p.binding(w, r)
			p.render(w, r, http.StatusUnauthorized, "start", page{Title: "signin_title", Problem: "show_values_hint"})
			return
		}
		if session.SubjectID != "" {
			if _, err := p.Audit.Append(r.Context(), audit.Entry{Actor: audit.ActorFrom(r.Context()), Action: "portal.show_own_data",
				Target: audit.Subject(session.SubjectID)}); err != nil {
				p.fail(w, r, errs.Wrap(errs.CodeUnavailable, err, "error_title"))
				return
			}
		}
		d, err := p.home(r, true)
		if err != nil {
			p.fail(w, r, err)
			return
		}
		p.render(w, r, http.StatusOK, "home", p.homePage(r, d))
	})
}

// receiptData is what a receipt's page shows.
type receiptData struct {
	Event                                 consent.Event
	PropertyName, PurposeName, VendorName string
	// Where says where the choice was made (package provenance).
	Where      string
	Controller string
	ReceiptID  string
	// Checked: the signature was checked against the published key set;
	// Verified: it verifies.
	Checked, Verified bool
	JWKSURL, File     string
	// Self is the page's path (its download adds ?format=jws); Back the
	// page it was reached from.
	Self, Back string
}

// HandleReceipt shows the receipt of one of the customer's own consent
// events as a page they can read (what, when, under which notice, whether
// its signature verifies and how to check it themselves); with
// ?format=jws it serves the signed receipt itself, to keep or verify.
func (p *Portal) HandleReceipt() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.showReceipt(w, r, sessionOf(r).SubjectID, r.URL.Path, "/privacy/home")
	})
}

// showReceipt serves the receipt of the event named by the path's property
// and id when it is subject's: a page whose download link is self, and
// whose way back is back; with ?format=jws the signed receipt itself.
func (p *Portal) showReceipt(w http.ResponseWriter, r *http.Request, subject, self, back string) {
	e, err := p.Consent.Event(r.Context(), r.PathValue("property"), r.PathValue("id"))
	owned := err == nil && subject != "" && e.Subject == subject
	if err == nil && !owned && subject != "" && e.Subject == "" {
		// A choice on a device the company linked to the customer (a
		// banner's, a form's) is theirs too.
		owned, err = p.Consent.LinkedTo(r.Context(), e.Device, subject)
	}
	if err != nil || !owned {
		p.fail(w, r, errs.NotFound("receipt", r.PathValue("id"))) // another person's event is not found
		return
	}
	// The receipt as issued at append, never signed again from the row.
	jws := e.Receipt
	if jws == "" {
		p.fail(w, r, errs.NotFound("receipt", r.PathValue("id")))
		return
	}
	if r.URL.Query().Get("format") != "jws" {
		lang := language(r)
		d := receiptData{Event: e, PropertyName: e.Property, PurposeName: e.Purpose, VendorName: e.Vendor,
			JWKSURL: p.PublicURL + "/.well-known/jwks.json", File: "consent-receipt-" + e.ID + ".jws", Self: self, Back: back}
		if prop, err := p.Consent.Property(e.Property); err == nil && prop.Name != "" {
			d.PropertyName = prop.Name
		}
		if purpose, err := p.Consent.Purpose(e.Purpose); err == nil {
			d.PurposeName = localName(purpose.Names, lang, e.Purpose)
		}
		if vendor, err := p.Consent.Vendor(e.Vendor); e.Vendor != "" && err == nil && vendor.Name != "" {
			d.VendorName = vendor.Name
		}
		if len(p.JWKS) > 0 {
			signed, err := receipt.Verify(jws, p.JWKS)
			d.Checked, d.Verified = true, err == nil
			if err == nil {
				// The page says what the signed receipt says, not what
				// the row says now: a row edited in the database
				// cannot put words in the receipt's mouth.
				d.Event.Action, d.Event.Source = consent.Action(signed.Steward.Action), consent.Source(signed.Steward.Source)
				d.Event.Purpose, d.Event.Vendor, d.Event.Channel = signed.Steward.Purpose, signed.Steward.Vendor, consent.Channel(signed.Steward.Channel)
				d.Event.NoticeVersion, d.Event.GPC = signed.Steward.NoticeVersion, signed.Steward.GPC
				d.Event.At = time.Unix(signed.ConsentTimestamp, 0).UTC()
				d.ReceiptID = signed.ConsentReceiptID
				if len(signed.PIIControllers) > 0 {
					d.Controller = signed.PIIControllers[0].PIIController
				}
			}
		}
		d.Where = provenance.Where(catalog.Printer(lang), p.Consent, d.Event)
		p.render(w, r, http.StatusOK, "receipt", page{Title: "receipt_title", Data: d})
		return
	}
	w.Header().Set("Content-Type", "application/jose")
	w.Header().Set("Content-Disposition", `attachment; filename="consent-receipt-`+e.ID+`.jws"`)
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte(jws))
}

// HandleFindInSystems shows how many of the customer's rows each connected
// system holds, by table and category; the search is recorded.
func (p *Portal) HandleFindInSystems() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		session := sessionOf(r)
		if p.FindInSystems == nil {
			p.fail(w, r, errs.NotFound("search", "systems"))
			return
		}
		email, err := p.Customers.Email(r.Context(), session)
		if err != nil {
			p.fail(w, r, err)
			return
		}
		target := audit.Target{}
		if session.SubjectID != "" {
			target = audit.Subject(session.SubjectID)
		}
		if _, err := p.Audit.Append(r.Context(), audit.Entry{Actor: audit.ActorFrom(r.Context()), Action: "portal.find_in_systems", Target: target}); err != nil {
			p.fail(w, r, errs.Wrap(errs.CodeUnavailable, err, "error_title"))
			return
		}
		found, err := p.FindInSystems(r.Context(), session.SubjectID, email)
		if err != nil {
			p.fail(w, r, err)
			return
		}
		d, err := p.home(r, false)
		if err != nil {
			p.fail(w, r, err)
			return
		}
		d.Found, d.Searched = found, true
		p.render(w, r, http.StatusOK, "home", p.homePage(r, d))
	})
}

// erasureReports reads the report of each finished erasure in d: the page
// shows what was erased where (counts, never values) where an archive's
// download link would be.
func (p *Portal) erasureReports(r *http.Request, d *homeData) error {
	for _, req := range d.Requests {
		if req.Kind != dsr.KindErasure || req.State != dsr.StateCompleted || p.ErasureReport == nil {
			continue
		}
		report, err := p.ErasureReport(r.Context(), req.ID)
		if err != nil {
			return err
		}
		if d.Reports == nil {
			d.Reports = map[string][]fulfil.Place{}
		}
		d.Reports[req.ID] = report.Places()
	}
	return nil
}

// say names a field, category, action or source in the reader's
// language: T[prefix+key], else the key in words ("sale_of_data" → "sale
// of data"), for names the catalog does not know.
func say(T map[string]string, prefix string, key any) string {
	k := fmt.Sprint(key)
	if s := T[prefix+k]; s != "" {
		return s
	}
	return strings.ReplaceAll(k, "_", " ")
}
