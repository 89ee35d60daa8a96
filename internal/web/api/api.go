// Package api holds the handlers of Steward's JSON API v1 and its OpenAPI
// document. Routes and their permissions are declared in internal/web.
package api

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/steward-dev/steward/internal/apikey"
	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/connector/httpsystem"
	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/disclosure"
	"github.com/steward-dev/steward/internal/dsr"
	"github.com/steward-dev/steward/internal/erasure"
	"github.com/steward-dev/steward/internal/ethics"
	"github.com/steward-dev/steward/internal/incident"
	"github.com/steward-dev/steward/internal/inventory"
	"github.com/steward-dev/steward/internal/outbox"
	"github.com/steward-dev/steward/internal/preference"
	"github.com/steward-dev/steward/internal/retention"
	"github.com/steward-dev/steward/internal/reveal"
	"github.com/steward-dev/steward/internal/vault"
	"github.com/steward-dev/steward/internal/web/httpx"
)

// Deps are what the API handlers need.
type Deps struct {
	Consent *consent.Service
	Keys    *apikey.Store
	Vault   *vault.Vault
	Audit   *audit.Log
	// Reveals limits and records reveals and detokenisations per key.
	Reveals *reveal.Limiter
	// BeforeSignInChange, when set, runs before a subject's "email" field
	// (the address the customer signs in to the portal with) is written,
	// with the new address, or deleted, with "": it tells the previous
	// address, if there is one and it differs. If it fails the field is not
	// written (503).
	BeforeSignInChange func(ctx context.Context, subject, address string) error
	// Hooks records the callbacks of the company's HTTP systems.
	Hooks *httpsystem.Service
	// Disclosures decides sharing with vendors; OnDisclosure, when set, is
	// told of each answer (to notify the customer of a pending one).
	Disclosures *disclosure.Service
	// Outbox keeps the webhook endpoints and messages.
	Outbox       *outbox.Service
	OnDisclosure func(ctx context.Context, d disclosure.Disclosure)
	Log          *slog.Logger
	// ObserveAnswers, when set, sees every batch of decisions (for metrics).
	ObserveAnswers func([]consent.Answer)
	// Requests is the data subject request workflow (/v1/requests); Now
	// is its clock for at-risk flags (time.Now when nil).
	Requests *dsr.Service
	Now      func() time.Time
	// SendAgentConfirmation, when set, emails the customer of an agent's
	// request (at to) the link to confirm it (token), naming the agent; without
	// it agents' requests are refused (503).
	SendAgentConfirmation func(ctx context.Context, req dsr.Request, to, agentName, token string) error
	// Retention keeps the legal holds (/v1/subjects/{id}/legal-hold).
	Retention *retention.Service
	// Inventory builds the data map and the record of processing
	// (/v1/inventory); nil answers 503.
	Inventory *inventory.Service
	// Erasures, when set, records each vault erasure in the erasure journal
	// (erasure.Journal), so that a restored backup forgets the subject again.
	Erasures erasure.Recorder
	// Incidents is the incident register (/v1/incidents); nil answers 503.
	Incidents *incident.Service
	// Preferences makes the preference centre's links; PublicURL is where
	// customers reach Steward, the links' base.
	Preferences *preference.Links
	PublicURL   string
	// Ethics keeps the purposes' ethics assessments
	// (/v1/purposes/{key}/assessment); nil answers 503.
	Ethics *ethics.Service
}

// Body size limits.
const (
	smallBody  = 64 << 10
	catalogMax = 1 << 20
	noticeMax  = 8 << 20
	batchMax   = 2 << 20
)

func (d *Deps) fail(w http.ResponseWriter, r *http.Request, err error) {
	httpx.Error(w, r, d.Log, err)
}

// list wraps collections so that they can grow fields without breaking clients.
type list[T any] struct {
	Items []T `json:"items"`
}
