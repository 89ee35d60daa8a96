package admin

import (
	"net/http"
	"strings"

	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/outbox"
)

type webhooksData struct {
	Endpoints []outbox.Endpoint
	Dead      []outbox.Message
	Types     []string
	// Secret is the new endpoint's (or rotated) secret, shown once.
	Secret, SecretFor string
	Form              struct{ URL, Description string }
}

func (c *Console) webhooksPage(w http.ResponseWriter, r *http.Request, status int, p page, d *webhooksData) {
	var err error
	if d.Endpoints, err = c.Outbox.Endpoints(r.Context()); err != nil {
		c.fail(w, r, err)
		return
	}
	dead, err := c.Outbox.DeadLetters(r.Context(), outbox.Filter{Limit: 50})
	if err != nil {
		c.fail(w, r, err)
		return
	}
	d.Dead, d.Types = dead.Messages, outbox.EventTypes()
	p.Title, p.Data = "title_webhooks", d
	c.render(w, r, status, "webhooks", p)
}

// HandleWebhooks lists the endpoints and the dead letters.
func (c *Console) HandleWebhooks() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.webhooksPage(w, r, http.StatusOK, page{}, &webhooksData{})
	})
}

// HandleCreateWebhook adds an endpoint and shows its secret once.
func (c *Console) HandleCreateWebhook() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d := &webhooksData{}
		d.Form.URL, d.Form.Description = strings.TrimSpace(r.PostFormValue("url")), strings.TrimSpace(r.PostFormValue("description"))
		e, secret, err := c.Outbox.CreateEndpoint(r.Context(), outbox.Endpoint{URL: d.Form.URL, Description: d.Form.Description, EventTypes: r.PostForm["types"]})
		if e, ok := errs.As(err); ok && e.Code == errs.CodeInvalid {
			c.webhooksPage(w, r, http.StatusBadRequest, page{Problem: say(r, "wh_not_added"), Fields: fieldMessages(r, e)}, d)
			return
		}
		if err != nil {
			c.fail(w, r, err)
			return
		}
		d.Secret, d.SecretFor = secret, e.ID
		c.webhooksPage(w, r, http.StatusOK, page{Notice: say(r, "wh_added_notice")}, d)
	})
}

// HandleWebhookAction enables, disables or rotates the secret of an
// endpoint.
func (c *Console) HandleWebhookAction() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, d := r.PathValue("id"), &webhooksData{}
		var err error
		switch r.PathValue("op") {
		case "enable", "disable":
			on := r.PathValue("op") == "enable"
			_, err = c.Outbox.UpdateEndpoint(r.Context(), id, outbox.EndpointUpdate{Enabled: &on})
		case "rotate":
			var secret string
			if _, secret, err = c.Outbox.RotateSecret(r.Context(), id); err == nil {
				d.Secret, d.SecretFor = secret, id
				c.webhooksPage(w, r, http.StatusOK, page{Notice: say(r, "wh_rotated_notice")}, d)
				return
			}
		case "delete":
			err = c.Outbox.DeleteEndpoint(r.Context(), id)
		default:
			err = errs.NotFound("action", r.PathValue("op"))
		}
		if err != nil {
			c.fail(w, r, err)
			return
		}
		http.Redirect(w, r, "/admin/webhooks", http.StatusSeeOther)
	})
}

// HandleReplayWebhook sends a dead letter again, with its webhook-id.
func (c *Console) HandleReplayWebhook() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := c.Outbox.Replay(r.Context(), r.PathValue("id")); err != nil {
			c.fail(w, r, err)
			return
		}
		http.Redirect(w, r, "/admin/webhooks", http.StatusSeeOther)
	})
}
