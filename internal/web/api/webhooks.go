package api

import (
	"net/http"
	"time"

	"github.com/steward-dev/steward/internal/outbox"
	"github.com/steward-dev/steward/internal/web/httpx"
)

// endpointView is a webhook endpoint as the API shows it; its secret is
// shown once, when made or rotated.
type endpointView struct {
	ID                  string     `json:"id"`
	URL                 string     `json:"url"`
	Description         string     `json:"description"`
	EventTypes          []string   `json:"event_types"`
	Enabled             bool       `json:"enabled"`
	DisabledReason      string     `json:"disabled_reason,omitempty"`
	SecretVersion       int        `json:"secret_version"`
	PreviousSecretUntil *time.Time `json:"previous_secret_until,omitempty"`
	CreatedAt           time.Time  `json:"created_at"`
	Secret              string     `json:"secret,omitempty"`
}

func viewEndpoint(e outbox.Endpoint, secret string) endpointView {
	v := endpointView{ID: e.ID, URL: e.URL, Description: e.Description, EventTypes: e.EventTypes, Enabled: e.Enabled,
		DisabledReason: e.DisabledReason, SecretVersion: e.SecretVersion, CreatedAt: e.CreatedAt, Secret: secret}
	if v.EventTypes == nil {
		v.EventTypes = []string{}
	}
	if !e.PreviousSecretUntil.IsZero() {
		t := e.PreviousSecretUntil
		v.PreviousSecretUntil = &t
	}
	return v
}

// messageView is a webhook message with its delivery state.
type messageView struct {
	ID          string     `json:"id"`
	EndpointID  string     `json:"endpoint_id"`
	EventType   string     `json:"event_type"`
	State       string     `json:"state"`
	CreatedAt   time.Time  `json:"created_at"`
	Attempts    int        `json:"attempts"`
	LastStatus  int        `json:"last_status,omitempty"`
	LastError   string     `json:"last_error,omitempty"`
	DeliveredAt *time.Time `json:"delivered_at,omitempty"`
	DeadReason  string     `json:"dead_reason,omitempty"`
}

func viewMessage(m outbox.Message) messageView {
	v := messageView{ID: m.ID, EndpointID: m.EndpointID, EventType: m.EventType, State: string(m.State), CreatedAt: m.CreatedAt,
		Attempts: m.Attempts, LastStatus: m.LastStatus, LastError: m.LastError, DeadReason: m.DeadReason}
	if !m.DeliveredAt.IsZero() {
		t := m.DeliveredAt
		v.DeliveredAt = &t
	}
	return v
}

type messagePage struct {
	Items []messageView `json:"items"`
	Next  string        `json:"next"`
}

func viewPage(p outbox.Page) messagePage {
	out := messagePage{Items: make([]messageView, len(p.Messages)), Next: p.Next}
	for i, m := range p.Messages {
		out.Items[i] = viewMessage(m)
	}
	return out
}

// HandleListEndpoints lists the webhook endpoints.
func (d *Deps) HandleListEndpoints() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		endpoints, err := d.Outbox.Endpoints(r.Context())
		if err != nil {
			d.fail(w, r, err)
			return
		}
		out := make([]endpointView, len(endpoints))
		for i, e := range endpoints {
			out[i] = viewEndpoint(e, "")
		}
		httpx.Encode(w, http.StatusOK, list[endpointView]{Items: out})
	})
}

// HandleCreateEndpoint adds an endpoint and shows its secret once.
func (d *Deps) HandleCreateEndpoint() http.Handler {
	type request struct {
		URL         string   `json:"url"`
		Description string   `json:"description"`
		EventTypes  []string `json:"event_types"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, err := httpx.Decode[request](w, r, smallBody)
		if err != nil {
			d.fail(w, r, err)
			return
		}
		e, secret, err := d.Outbox.CreateEndpoint(r.Context(), outbox.Endpoint{URL: in.URL, Description: in.Description, EventTypes: in.EventTypes})
		if err != nil {
			d.fail(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		httpx.Encode(w, http.StatusCreated, viewEndpoint(e, secret))
	})
}

// HandleGetEndpoint returns an endpoint.
func (d *Deps) HandleGetEndpoint() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e, err := d.Outbox.Endpoint(r.Context(), r.PathValue("id"))
		if err != nil {
			d.fail(w, r, err)
			return
		}
		httpx.Encode(w, http.StatusOK, viewEndpoint(e, ""))
	})
}

// HandleUpdateEndpoint changes an endpoint's URL, description, event types
// or whether it is enabled.
func (d *Deps) HandleUpdateEndpoint() http.Handler {
	type request struct {
		URL         *string   `json:"url"`
		Description *string   `json:"description"`
		EventTypes  *[]string `json:"event_types"`
		Enabled     *bool     `json:"enabled"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, err := httpx.Decode[request](w, r, smallBody)
		if err != nil {
			d.fail(w, r, err)
			return
		}
		e, err := d.Outbox.UpdateEndpoint(r.Context(), r.PathValue("id"), outbox.EndpointUpdate{URL: in.URL, Description: in.Description,
			EventTypes: in.EventTypes, Enabled: in.Enabled})
		if err != nil {
			d.fail(w, r, err)
			return
		}
		httpx.Encode(w, http.StatusOK, viewEndpoint(e, ""))
	})
}

// HandleDeleteEndpoint removes an endpoint.
func (d *Deps) HandleDeleteEndpoint() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := d.Outbox.DeleteEndpoint(r.Context(), r.PathValue("id")); err != nil {
			d.fail(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// HandleRotateSecret gives an endpoint a new secret, shown once; the old
// one keeps signing beside it for a day.
func (d *Deps) HandleRotateSecret() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e, secret, err := d.Outbox.RotateSecret(r.Context(), r.PathValue("id"))
		if err != nil {
			d.fail(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		httpx.Encode(w, http.StatusOK, viewEndpoint(e, secret))
	})
}

// HandleEndpointMessages lists an endpoint's messages, newest first.
func (d *Deps) HandleEndpointMessages() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := d.Outbox.Messages(r.Context(), r.PathValue("id"), outbox.Filter{After: r.URL.Query().Get("after")})
		if err != nil {
			d.fail(w, r, err)
			return
		}
		httpx.Encode(w, http.StatusOK, viewPage(p))
	})
}

// HandleDeadLetters lists the messages that could not be delivered.
func (d *Deps) HandleDeadLetters() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := d.Outbox.DeadLetters(r.Context(), outbox.Filter{After: r.URL.Query().Get("after")})
		if err != nil {
			d.fail(w, r, err)
			return
		}
		httpx.Encode(w, http.StatusOK, viewPage(p))
	})
}

// HandleReplay sends a message again, with the same webhook-id.
func (d *Deps) HandleReplay() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m, err := d.Outbox.Replay(r.Context(), r.PathValue("id"))
		if err != nil {
			d.fail(w, r, err)
			return
		}
		httpx.Encode(w, http.StatusAccepted, viewMessage(m))
	})
}
