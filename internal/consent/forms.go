// The company's own forms that ask for consent (sign-up, checkout,
// contact): declared per property, each a source of consent events of its
// own, "form:<id>".

package consent

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/errs"
)

// Form is a form of a property that asks for consent: a sign-up, checkout
// or contact form of the company's own pages. Choices made in it are
// recorded with source form:<ID> (FormSource), which only a declared form
// may be, and only for the purposes it asks for. A form is never deleted:
// the ledger names it, and the customer is told which form they chose in.
type Form struct {
	Property string `json:"property"`
	ID       string `json:"id"`
	// Name is what the customer is told: "Choices given in form Checkout".
	Name string `json:"name"`
	// Purposes are the purposes the form asks for, in the order it shows them.
	Purposes  []string  `json:"purposes"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// formSourcePrefix begins the source of a choice made in a form.
const formSourcePrefix = "form:"

// FormSource is the source of the choices made in form id.
func FormSource(id string) Source { return Source(formSourcePrefix + id) }

// FormID returns the form a choice was made in, when its source is one.
func (s Source) FormID() (string, bool) {
	id, ok := strings.CutPrefix(string(s), formSourcePrefix)
	return id, ok && id != ""
}

// maxFormPurposes bounds the purposes one form asks for.
const maxFormPurposes = 50

func (f *Form) validate(cat *catalog) errs.Problems {
	problems := errs.Problems{}
	if _, ok := cat.properties[f.Property]; !ok {
		problems.Add("property", "unknown_property", "property", strconv.Quote(f.Property))
	}
	if !ValidKey(f.ID) {
		problems.Add("id", "catalog_key")
	}
	checkLine(problems, "name", f.Name, 1, 200)
	switch {
	case len(f.Purposes) == 0:
		problems.Add("purposes", "name_a_purpose")
	case len(f.Purposes) > maxFormPurposes:
		problems.Add("purposes", "at_most", "max", maxFormPurposes)
	}
	for i, key := range f.Purposes {
		field := fmt.Sprintf("purposes[%d]", i)
		p, ok := cat.purposes[key]
		switch {
		case !ok:
			problems.Add(field, "unknown_purpose", "purpose", strconv.Quote(key))
		case p.Necessary:
			// A necessary purpose is not asked: nobody can refuse it.
			problems.Add(field, "form_necessary_purpose", "purpose", strconv.Quote(key))
		case slices.Contains(f.Purposes[:i], key):
			problems.Add(field, "form_purpose_twice", "purpose", strconv.Quote(key))
		}
	}
	return problems
}

// PutForm declares (create=true) or changes a form of a property. The
// write is audited (catalog.form.create or .update, target form
// PROPERTY/ID) and fails closed with the audit log.
func (s *Service) PutForm(ctx context.Context, f Form, create bool) (Form, error) {
	f.Purposes = nonNil(f.Purposes)
	if problems := f.validate(s.catalog.load()); len(problems) > 0 {
		return f, errs.FieldsKeyed(problems)
	}
	err := s.writeCatalog(ctx, "form", verb(create), f.Property+"/"+f.ID, func(tx *sql.Tx, now int64) error {
		if create {
			_, err := tx.ExecContext(ctx, `INSERT INTO consent_forms (`+formColumns+`) VALUES ($1, $2, $3, $4, $5, $5)`,
				f.Property, f.ID, f.Name, mustJSON(f.Purposes), now)
			if db.IsUniqueViolation(err) {
				return errs.New(errs.CodeConflict, "form %q of property %q already exists", f.ID, f.Property)
			}
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE consent_forms SET name = $3, purposes = $4, updated_at = $5 WHERE property = $1 AND id = $2`,
			f.Property, f.ID, f.Name, mustJSON(f.Purposes), now)
		return mustAffect(res, err, "form", f.Property+"/"+f.ID)
	})
	if err != nil {
		return f, err
	}
	return s.Form(f.Property, f.ID)
}

// Form returns a declared form of a property.
func (s *Service) Form(property, id string) (Form, error) {
	f, ok := s.catalog.load().forms[property][id]
	if !ok {
		return Form{}, errs.NotFound("form", property+"/"+id)
	}
	return *f, nil
}

// Forms lists the forms of a property, by id.
func (s *Service) Forms(property string) []Form {
	forms := s.catalog.load().forms[property]
	out := make([]Form, 0, len(forms))
	for _, f := range forms {
		out = append(out, *f)
	}
	slices.SortFunc(out, func(a, b Form) int { return strings.Compare(a.ID, b.ID) })
	return out
}

const formColumns = `property, id, name, purposes, created_at, updated_at`

func scanForm(scan func(...any) error) (Form, error) {
	var f Form
	var purposes string
	var created, updated int64
	if err := scan(&f.Property, &f.ID, &f.Name, &purposes, &created, &updated); err != nil {
		return f, err
	}
	if err := json.Unmarshal([]byte(purposes), &f.Purposes); err != nil {
		return f, fmt.Errorf("form %s/%s: purposes: %w", f.Property, f.ID, err)
	}
	f.CreatedAt, f.UpdatedAt = fromMicros(created), fromMicros(updated)
	return f, nil
}

func listForms(ctx context.Context, q db.Querier) ([]Form, error) {
	return db.QueryAll(ctx, q, `SELECT `+formColumns+` FROM consent_forms ORDER BY property, id`, nil, scanForm)
}
