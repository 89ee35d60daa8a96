package admin

import (
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/retention"
	"github.com/steward-dev/steward/internal/reveal"
	"github.com/steward-dev/steward/internal/staff"
	"github.com/steward-dev/steward/internal/vault"
)

type searchData struct {
	Query    string
	Subjects []string
	Searched bool
}

// HandleCustomerSearch finds customers by exact external id or email
// address. There is no list to browse: an empty query shows no one.
func (c *Console) HandleCustomerSearch() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := strings.TrimSpace(r.URL.Query().Get("q"))
		d := searchData{Query: q}
		if q == "" {
			c.render(w, r, http.StatusOK, "customers", page{Title: "title_customers", Data: d})
			return
		}
		d.Searched = true
		subjects, err := c.findSubjects(r, q)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		// A search is a look into who is a customer: it is recorded, with the
		// kind of query and not the query itself (it may be an address).
		kind := "external_id"
		if strings.Contains(q, "@") {
			kind = "email"
		}
		if _, err := c.Audit.Append(r.Context(), audit.Entry{Actor: actor(r), Action: "customer.search",
			Details: audit.MustDetails(map[string]any{"by": kind, "matches": len(subjects)})}); err != nil {
			c.fail(w, r, errs.Wrap(errs.CodeUnavailable, err, say(r, "problem_audit_search")))
			return
		}
		if len(subjects) == 1 {
			http.Redirect(w, r, "/admin/customers/"+url.PathEscape(subjects[0]), http.StatusSeeOther)
			return
		}
		d.Subjects = subjects
		c.render(w, r, http.StatusOK, "customers", page{Title: "title_customers", Data: d})
	})
}

func (c *Console) findSubjects(r *http.Request, q string) ([]string, error) {
	ctx := r.Context()
	if strings.Contains(q, "@") {
		return c.Vault.Find(ctx, "email", q)
	}
	if !vault.ValidSubject(q) {
		return nil, errs.Invalid("q", "%s", say(r, "cu_external_id"))
	}
	fields, err := c.Vault.List(ctx, q)
	if err != nil && errs.CodeOf(err) != errs.CodeNotFound {
		return nil, err
	}
	if len(fields) > 0 {
		return []string{q}, nil
	}
	events, err := c.Consent.Events(ctx, consent.EventFilter{Subject: q, Limit: 1})
	if err != nil {
		return nil, err
	}
	if len(events) > 0 {
		return []string{q}, nil
	}
	return nil, nil
}

// consentRow is the latest event of one property, purpose and vendor.
type consentRow struct {
	Property, Purpose, Vendor string
	Action                    consent.Action
	Source                    consent.Source
	At                        time.Time
}

type customerData struct {
	Subject   string
	Erased    bool
	Fields    []vault.FieldInfo
	Consents  []consentRow
	Accesses  []audit.Stored
	CanReveal error // why this staff member may not reveal, nil when they may
	Fresh     bool  // whether the sign-in is recent enough to reveal
	Revealed  *revealedField
	Names     names // of the staff and keys in Accesses
	// HoldsOn says whether legal holds can be seen and placed; Holds are
	// the customer's, newest first (an open one first).
	HoldsOn bool
	Holds   []retention.Hold
	// HoldReason is the reason typed, kept when the form is refused.
	HoldReason string
}

// OpenHold is the customer's open legal hold, or nil.
func (d *customerData) OpenHold() *retention.Hold {
	if len(d.Holds) > 0 && d.Holds[0].Open() {
		return &d.Holds[0]
	}
	return nil
}

type revealedField struct {
	Name, Value string
	AuditSeq    int64
}

// CustomerViewWindow is how long one recorded view of a customer's record
// covers a staff member's further views of it: views within an hour of
// the first, in one sign-in, are one access (a reload, going back after a
// reveal). A new sign-in, or an hour later, records a new access. Reveals
// are always recorded, each on its own.
const CustomerViewWindow = time.Hour

// HandleCustomer shows one customer: fields masked (their values are never
// read for this page), consents, and who accessed the record.
func (c *Console) HandleCustomer() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, err := c.customer(r, r.PathValue("id"))
		if err != nil {
			c.fail(w, r, err)
			return
		}
		if err := c.recordView(r, d.Subject); err != nil {
			c.fail(w, r, errs.Wrap(errs.CodeUnavailable, err, say(r, "problem_audit_record")))
			return
		}
		c.render(w, r, http.StatusOK, "customer", page{Title: say(r, "title_customer", "id", d.Subject), Data: d})
	})
}

// recordView records that the signed-in staff member opened a customer's
// record, unless they did within CustomerViewWindow of this sign-in.
func (c *Console) recordView(r *http.Request, subject string) error {
	ctx := r.Context()
	since := c.Now().Add(-CustomerViewWindow)
	if s := sessionOf(r); s != nil && s.AuthenticatedAt.After(since) {
		since = s.AuthenticatedAt
	}
	prior, err := c.Audit.Search(ctx, audit.Query{Actor: actor(r), Action: "customer.view", Target: audit.Subject(subject), Since: since, Limit: 1})
	if err == nil && len(prior.Entries) > 0 {
		return nil
	}
	// When the search fails the view is recorded again: an extra entry,
	// never a missing one.
	_, err = c.Audit.Append(ctx, audit.Entry{Actor: actor(r), Action: "customer.view", Target: audit.Subject(subject),
		Details: audit.MustDetails(map[string]any{"masked": true})})
	return err
}

func (c *Console) customer(r *http.Request, subject string) (*customerData, error) {
	ctx := r.Context()
	if !vault.ValidSubject(subject) {
		return nil, errs.NotFound("customer", subject)
	}
	d := &customerData{Subject: subject}
	fields, err := c.Vault.List(ctx, subject)
	switch {
	case errors.Is(err, vault.ErrErased):
		d.Erased = true
	case err != nil && errs.CodeOf(err) != errs.CodeNotFound:
		return nil, err
	}
	d.Fields = fields
	events, err := c.Consent.Events(ctx, consent.EventFilter{Subject: subject, Limit: 10000})
	if err != nil {
		return nil, err
	}
	latest := map[[3]string]int{}
	shown := map[[3]string]consent.Event{} // the event of each row
	for _, e := range events {
		k := [3]string{e.Property, e.Purpose, e.Vendor}
		row := consentRow{Property: e.Property, Purpose: e.Purpose, Vendor: e.Vendor, Action: e.Action, Source: e.Source, At: e.At}
		if i, ok := latest[k]; ok {
			// The choice decisions use: ledger order, not claimed times.
			if prev := shown[k]; e.Supersedes(&prev) {
				d.Consents[i], shown[k] = row, e
			}
			continue
		}
		latest[k], shown[k] = len(d.Consents), e
		d.Consents = append(d.Consents, row)
	}
	slices.SortFunc(d.Consents, func(a, b consentRow) int {
		return strings.Compare(a.Property+"\x00"+a.Purpose+"\x00"+a.Vendor, b.Property+"\x00"+b.Purpose+"\x00"+b.Vendor)
	})
	if len(d.Fields) == 0 && len(d.Consents) == 0 && !d.Erased {
		return nil, errs.NotFound("customer", subject)
	}
	if c.Retention != nil {
		d.HoldsOn = true
		if d.Holds, err = c.Retention.Holds(ctx, subject); err != nil {
			return nil, err
		}
	}
	accesses, err := c.Audit.Search(ctx, audit.Query{Target: audit.Subject(subject), Limit: 50})
	if err != nil {
		return nil, err
	}
	d.Accesses, d.Names = accesses.Entries, c.names(r)
	session := sessionOf(r)
	if session.Account.Role.Can(staff.PermReveal) {
		d.CanReveal = c.Staff.CanReveal(ctx, session.Account)
		d.Fresh = session.Fresh(c.Now(), c.FreshSignIn)
	} else {
		d.CanReveal = errs.New(errs.CodeForbidden, "%s", say(r, "cu_role_masked", "role", roleName(session.Account.Role)))
	}
	return d, nil
}

// emailLike finds an email address in free text: purposes and tickets go
// to the audit log, which must not hold personal data.
var emailLike = regexp.MustCompile(`[^\s@]+@[^\s@]+\.[^\s@]+`)

func checkPurpose(r *http.Request, purpose, ticket string) map[string]string {
	problems := map[string]string{}
	if n := len(purpose); n < 5 || n > 500 {
		problems["purpose"] = say(r, "cu_purpose_length")
	}
	if n := len(ticket); n < 1 || n > 100 {
		problems["ticket"] = say(r, "cu_ticket_length")
	}
	for field, text := range map[string]string{"purpose": purpose, "ticket": ticket} {
		if emailLike.MatchString(text) {
			problems[field] = say(r, "cu_no_personal_data")
		}
	}
	return problems
}

// HandleReveal shows one field's plaintext. It needs, in this order: a
// role that may reveal and current training, a sign-in younger than
// FreshSignIn, a purpose and a ticket, and room under the staff member's
// reveal limit, counted and recorded with the audit entry in one
// transaction before the value is read out.
func (c *Console) HandleReveal() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		session := sessionOf(r)
		subject, name := r.PathValue("id"), r.PostFormValue("field")
		purpose, ticket := strings.TrimSpace(r.PostFormValue("purpose")), strings.TrimSpace(r.PostFormValue("ticket"))
		if err := c.Staff.CanReveal(ctx, session.Account); err != nil {
			c.fail(w, r, err)
			return
		}
		back := "/admin/customers/" + url.PathEscape(subject)
		if !session.Fresh(c.Now(), c.FreshSignIn) {
			http.Redirect(w, r, "/admin/reauth?next="+url.QueryEscape(back), http.StatusSeeOther)
			return
		}
		if problems := checkPurpose(r, purpose, ticket); len(problems) > 0 {
			c.fail(w, r, errs.Fields(problems))
			return
		}
		// Read first (missing, erased, sealed: nothing to record); the value
		// leaves the process only after the entry is written, counted
		// against the staff member's limit in the same transaction.
		rec, err := c.Vault.Get(ctx, subject, name)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		stored, err := c.Reveals.Record(ctx, audit.Entry{Actor: actor(r), Action: reveal.ActionReveal, Target: audit.Subject(subject),
			Details: audit.MustDetails(map[string]any{"fields": []string{name}, "purpose": purpose, "ticket": ticket,
				"role": string(session.Account.Role), "via": "console"})})
		if errors.Is(err, reveal.ErrTooMany) {
			c.render(w, r, http.StatusTooManyRequests, "error", page{Title: say(r, "title_too_many_reveals"),
				Problem: say(r, "cu_too_many_reveals", "n", c.Reveals.Limit(), "minutes", int(c.Reveals.Window()/time.Minute))})
			return
		}
		if err != nil {
			c.fail(w, r, err)
			return
		}
		d, err := c.customer(r, subject)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		d.Revealed = &revealedField{Name: name, Value: string(rec.Value), AuditSeq: stored.Seq}
		c.render(w, r, http.StatusOK, "customer", page{Title: say(r, "title_customer", "id", subject), Data: d})
	})
}
