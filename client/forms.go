package client

import (
	"context"
	"net/http"
	"time"
)

// Form is one of a property's own forms that ask for consent (sign-up,
// checkout, contact). Choices made in it are recorded with source
// FormSource(ID): device events by the page's form snippet (/form.js), the
// customer's own by the back end after the form was posted.
type Form struct {
	Property  string    `json:"property"`
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Purposes  []string  `json:"purposes"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// FormInput declares or changes a form: its name, which customers read ("in
// form “Checkout”"), and the purposes it asks for (not necessary ones).
type FormInput struct {
	ID       string   `json:"id"`
	Name     string   `json:"name"`
	Purposes []string `json:"purposes"`
}

// Input returns the writable fields of f, for a read-modify-write update.
func (f *Form) Input() FormInput { return FormInput{ID: f.ID, Name: f.Name, Purposes: f.Purposes} }

// FormSource is the source of the choices made in the declared form id.
func FormSource(id string) Source { return Source("form:" + id) }

// ListForms lists a property's forms by id. It needs an admin key.
func (c *Client) ListForms(ctx context.Context, property string) ([]Form, error) {
	if property == "" {
		return nil, errEmpty("property key")
	}
	var out list[Form]
	err := c.do(ctx, http.MethodGet, path("/v1/properties/", property, "/forms"), nil, nil, &out, nil)
	return out.Items, err
}

// GetForm returns one form of a property. It needs an admin key.
func (c *Client) GetForm(ctx context.Context, property, id string) (*Form, error) {
	if property == "" || id == "" {
		return nil, errEmpty("property key and form id")
	}
	var out Form
	if err := c.do(ctx, http.MethodGet, path("/v1/properties/", property, "/forms/", id), nil, nil, &out, nil); err != nil {
		return nil, err
	}
	return &out, nil
}

// CreateForm declares a form of a property; an existing id is a conflict
// (409). It needs an admin key.
func (c *Client) CreateForm(ctx context.Context, property string, in FormInput) (*Form, error) {
	if property == "" {
		return nil, errEmpty("property key")
	}
	var out Form
	if err := c.do(ctx, http.MethodPost, path("/v1/properties/", property, "/forms"), nil, in, &out, nil); err != nil {
		return nil, err
	}
	return &out, nil
}

// UpdateForm changes the form in.ID of a property. It needs an admin key.
func (c *Client) UpdateForm(ctx context.Context, property string, in FormInput) (*Form, error) {
	if property == "" || in.ID == "" {
		return nil, errEmpty("property key and form id")
	}
	var out Form
	if err := c.do(ctx, http.MethodPut, path("/v1/properties/", property, "/forms/", in.ID), nil, in, &out, nil); err != nil {
		return nil, err
	}
	return &out, nil
}
