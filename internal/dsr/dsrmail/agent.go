package dsrmail

import (
	"context"
	"fmt"
	"net/url"

	"github.com/steward-dev/steward/internal/dsr"
	"github.com/steward-dev/steward/internal/notify"
)

// AgentConfirmations emails the customer of an agent's request filed
// through the API the link that confirms it.
type AgentConfirmations struct {
	Requests  *dsr.Service
	Sender    notify.Sender
	Mail      *notify.Templates
	Brand     notify.Brand
	PortalURL string
}

// Func returns the sender the API calls, in the request's language, as
// the portal's agent form does; nil when no mail is configured (the API
// then refuses agents' requests).
func (m *AgentConfirmations) Func() func(ctx context.Context, req dsr.Request, to, agentName, token string) error {
	if m.Sender == nil {
		return nil
	}
	return m.Send
}

// Send emails to the link that confirms req.
func (m *AgentConfirmations) Send(ctx context.Context, req dsr.Request, to, agentName, token string) error {
	ag, err := m.Requests.AgentOf(ctx, req.ID)
	if err != nil {
		return err
	}
	if ag == nil {
		return fmt.Errorf("request %s has no agent", req.ID)
	}
	link := m.PortalURL + "/privacy/agent/confirm/" + url.PathEscape(req.ID) + "?" + url.Values{"token": {token}, "lang": {req.Language}}.Encode()
	msg, err := m.Mail.Render(req.Language, notify.TemplateAgentConfirm, notify.AgentConfirm{
		Brand: m.Brand, AgentName: agentName, RequestID: req.ID, Type: mailType[req.Kind], ExpiresAt: ag.ExpiresAt, ConfirmURL: link})
	if err != nil {
		return fmt.Errorf("agent confirmation: %w", err)
	}
	msg.To = to
	return m.Sender.Send(ctx, msg)
}
