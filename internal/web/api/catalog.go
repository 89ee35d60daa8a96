package api

import (
	"net/http"

	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/web/httpx"
)

type propertyInput struct {
	Key                 string                    `json:"key"`
	Name                string                    `json:"name"`
	Domains             []string                  `json:"domains"`
	JurisdictionRules   consent.JurisdictionRules `json:"jurisdiction_rules"`
	DefaultJurisdiction string                    `json:"default_jurisdiction"`
	PolicyURL           string                    `json:"policy_url"`
	Banner              consent.BannerSettings    `json:"banner"`
}

func (in propertyInput) property() consent.Property {
	return consent.Property{Key: in.Key, Name: in.Name, Domains: in.Domains, JurisdictionRules: in.JurisdictionRules,
		DefaultJurisdiction: in.DefaultJurisdiction, PolicyURL: in.PolicyURL, Banner: in.Banner}
}

// keyFromPath puts the path's key into the body's, refusing a mismatch.
func keyFromPath(r *http.Request, name string, bodyKey *string) error {
	pathKey := r.PathValue(name)
	if *bodyKey != "" && *bodyKey != pathKey {
		return errs.Invalid(name, "the body says %q but the URL says %q", *bodyKey, pathKey)
	}
	*bodyKey = pathKey
	return nil
}

// HandlePutProperty creates (POST) or replaces (PUT /{key}) a property.
func (d *Deps) HandlePutProperty(create bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, err := httpx.Decode[propertyInput](w, r, catalogMax)
		if err == nil && !create {
			err = keyFromPath(r, "key", &in.Key)
		}
		if err != nil {
			d.fail(w, r, err)
			return
		}
		p, err := d.Consent.PutProperty(r.Context(), in.property(), create)
		if err != nil {
			d.fail(w, r, err)
			return
		}
		httpx.Encode(w, statusFor(create), p)
	})
}

func statusFor(create bool) int {
	if create {
		return http.StatusCreated
	}
	return http.StatusOK
}

// HandleGetProperty returns one property.
func (d *Deps) HandleGetProperty() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := d.Consent.Property(r.PathValue("key"))
		if err != nil {
			d.fail(w, r, err)
			return
		}
		httpx.Encode(w, http.StatusOK, p)
	})
}

// HandleListProperties lists the properties.
func (d *Deps) HandleListProperties() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httpx.Encode(w, http.StatusOK, list[consent.Property]{Items: d.Consent.Properties()})
	})
}

type purposeInput struct {
	Key           string             `json:"key"`
	Name          map[string]string  `json:"name"`
	Description   map[string]string  `json:"description"`
	LegalBasis    consent.LegalBasis `json:"legal_basis"`
	Necessary     bool               `json:"necessary"`
	SaleOrSharing bool               `json:"sale_or_sharing"`
	Position      int                `json:"position"`
	Cookies       []string           `json:"cookies"`
	RetentionDays int                `json:"retention_days"`
	// Kind is processing when omitted; Channels and Frequency are a
	// communication topic's.
	Kind      consent.PurposeKind `json:"kind"`
	Channels  []consent.Channel   `json:"channels"`
	Frequency consent.Frequency   `json:"frequency"`
}

// HandlePutPurpose creates (POST) or replaces (PUT /{key}) a purpose.
func (d *Deps) HandlePutPurpose(create bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, err := httpx.Decode[purposeInput](w, r, catalogMax)
		if err == nil && !create {
			err = keyFromPath(r, "key", &in.Key)
		}
		if err != nil {
			d.fail(w, r, err)
			return
		}
		p, err := d.Consent.PutPurpose(r.Context(), consent.Purpose{Key: in.Key, Names: in.Name, Descriptions: in.Description,
			LegalBasis: in.LegalBasis, Necessary: in.Necessary, SaleOrSharing: in.SaleOrSharing, Position: in.Position,
			Cookies: in.Cookies, RetentionDays: in.RetentionDays, Kind: in.Kind, Channels: in.Channels, Frequency: in.Frequency}, create)
		if err != nil {
			d.fail(w, r, err)
			return
		}
		httpx.Encode(w, statusFor(create), p)
	})
}

// HandleGetPurpose returns one purpose.
func (d *Deps) HandleGetPurpose() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := d.Consent.Purpose(r.PathValue("key"))
		if err != nil {
			d.fail(w, r, err)
			return
		}
		httpx.Encode(w, http.StatusOK, p)
	})
}

// HandleListPurposes lists the purposes.
func (d *Deps) HandleListPurposes() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httpx.Encode(w, http.StatusOK, list[consent.Purpose]{Items: d.Consent.Purposes()})
	})
}

type vendorInput struct {
	Key               string                    `json:"key"`
	Name              string                    `json:"name"`
	Purposes          []string                  `json:"purposes"`
	DataCategories    []string                  `json:"data_categories"`
	Country           string                    `json:"country"`
	PrivacyURL        string                    `json:"privacy_url"`
	TransferSafeguard consent.TransferSafeguard `json:"transfer_safeguard"`
}

// HandlePutVendor creates (POST) or replaces (PUT /{key}) a vendor.
func (d *Deps) HandlePutVendor(create bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, err := httpx.Decode[vendorInput](w, r, catalogMax)
		if err == nil && !create {
			err = keyFromPath(r, "key", &in.Key)
		}
		if err != nil {
			d.fail(w, r, err)
			return
		}
		v, err := d.Consent.PutVendor(r.Context(), consent.Vendor{Key: in.Key, Name: in.Name, Purposes: in.Purposes,
			DataCategories: in.DataCategories, Country: in.Country, PrivacyURL: in.PrivacyURL,
			TransferSafeguard: in.TransferSafeguard}, create)
		if err != nil {
			d.fail(w, r, err)
			return
		}
		httpx.Encode(w, statusFor(create), v)
	})
}

// HandleGetVendor returns one vendor.
func (d *Deps) HandleGetVendor() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, err := d.Consent.Vendor(r.PathValue("key"))
		if err != nil {
			d.fail(w, r, err)
			return
		}
		httpx.Encode(w, http.StatusOK, v)
	})
}

// HandleListVendors lists the vendors.
func (d *Deps) HandleListVendors() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httpx.Encode(w, http.StatusOK, list[consent.Vendor]{Items: d.Consent.Vendors()})
	})
}

type noticeInput struct {
	Version  string            `json:"version"`
	Text     map[string]string `json:"text"`
	Material bool              `json:"material"`
	Publish  bool              `json:"publish"`
}

// HandlePutNotice creates (POST) or replaces a draft (PUT /{version}) notice,
// publishing it when "publish" is true.
func (d *Deps) HandlePutNotice(create bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, err := httpx.Decode[noticeInput](w, r, noticeMax)
		if err == nil && !create {
			err = keyFromPath(r, "version", &in.Version)
		}
		if err != nil {
			d.fail(w, r, err)
			return
		}
		n, err := d.Consent.PutNotice(r.Context(), consent.Notice{Version: in.Version, Texts: in.Text, Material: in.Material}, create, in.Publish)
		if err != nil {
			d.fail(w, r, err)
			return
		}
		httpx.Encode(w, statusFor(create), n)
	})
}

// HandlePublishNotice publishes a draft notice.
func (d *Deps) HandlePublishNotice() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, err := d.Consent.PublishNotice(r.Context(), r.PathValue("version"))
		if err != nil {
			d.fail(w, r, err)
			return
		}
		httpx.Encode(w, http.StatusOK, n)
	})
}

// HandleGetNotice returns one notice.
func (d *Deps) HandleGetNotice() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, err := d.Consent.Notice(r.Context(), r.PathValue("version"))
		if err != nil {
			d.fail(w, r, err)
			return
		}
		httpx.Encode(w, http.StatusOK, n)
	})
}

// HandleListNotices lists the notices.
func (d *Deps) HandleListNotices() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		notices, err := d.Consent.Notices(r.Context())
		if err != nil {
			d.fail(w, r, err)
			return
		}
		httpx.Encode(w, http.StatusOK, list[consent.Notice]{Items: notices})
	})
}

type categoryInput struct {
	Key           string            `json:"key"`
	Name          map[string]string `json:"name"`
	Description   map[string]string `json:"description"`
	Special       bool              `json:"special"`
	InHouse       bool              `json:"in_house"`
	RetentionDays int               `json:"retention_days"`
	Position      int               `json:"position"`
}

// HandlePutCategory creates (POST) or replaces (PUT /{key}) a data category.
func (d *Deps) HandlePutCategory(create bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, err := httpx.Decode[categoryInput](w, r, catalogMax)
		if err == nil && !create {
			err = keyFromPath(r, "key", &in.Key)
		}
		if err != nil {
			d.fail(w, r, err)
			return
		}
		c, err := d.Consent.PutCategory(r.Context(), consent.Category{Key: in.Key, Names: in.Name, Descriptions: in.Description,
			Special: in.Special, InHouse: in.InHouse, RetentionDays: in.RetentionDays, Position: in.Position}, create)
		if err != nil {
			d.fail(w, r, err)
			return
		}
		httpx.Encode(w, statusFor(create), c)
	})
}

// HandleGetCategory returns one data category.
func (d *Deps) HandleGetCategory() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := d.Consent.Category(r.PathValue("key"))
		if err != nil {
			d.fail(w, r, err)
			return
		}
		httpx.Encode(w, http.StatusOK, c)
	})
}

// HandleListCategories lists the data categories by position, then key.
func (d *Deps) HandleListCategories() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httpx.Encode(w, http.StatusOK, list[consent.Category]{Items: d.Consent.Categories()})
	})
}

type formInput struct {
	ID       string   `json:"id"`
	Name     string   `json:"name"`
	Purposes []string `json:"purposes"`
}

// HandlePutForm declares (POST /v1/properties/{key}/forms) or changes (PUT
// …/forms/{id}) a form of a property that asks for consent.
func (d *Deps) HandlePutForm(create bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, err := httpx.Decode[formInput](w, r, catalogMax)
		if err == nil && !create {
			err = keyFromPath(r, "id", &in.ID)
		}
		if err != nil {
			d.fail(w, r, err)
			return
		}
		property := r.PathValue("key")
		if _, err := d.Consent.Property(property); err != nil {
			d.fail(w, r, err)
			return
		}
		f, err := d.Consent.PutForm(r.Context(), consent.Form{Property: property, ID: in.ID, Name: in.Name, Purposes: in.Purposes}, create)
		if err != nil {
			d.fail(w, r, err)
			return
		}
		httpx.Encode(w, statusFor(create), f)
	})
}

// HandleGetForm returns one form of a property.
func (d *Deps) HandleGetForm() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, err := d.Consent.Form(r.PathValue("key"), r.PathValue("id"))
		if err != nil {
			d.fail(w, r, err)
			return
		}
		httpx.Encode(w, http.StatusOK, f)
	})
}

// HandleListForms lists the forms of a property.
func (d *Deps) HandleListForms() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		property := r.PathValue("key")
		if _, err := d.Consent.Property(property); err != nil {
			d.fail(w, r, err)
			return
		}
		httpx.Encode(w, http.StatusOK, list[consent.Form]{Items: d.Consent.Forms(property)})
	})
}
