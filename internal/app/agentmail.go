package app

import (
	"context"
	"fmt"
	"net/url"

	"github.com/steward-dev/steward/internal/config"
	"github.com/steward-dev/steward/internal/dsr"
	"github.com/steward-dev/steward/internal/notify"
)

// agentMailType is how the email templates name a kind of request.
var agentMailType = map[dsr.Kind]string{dsr.KindAccess: "access", dsr.KindExport: "export", dsr.KindRectification: "rectify",
	dsr.KindErasure: "erase", dsr.KindRestriction: "restrict", dsr.KindObjection: "object"}

// sendAgentConfirmation emails the customer of an agent's request filed
// through the API the link that confirms it, in the request's language,
// as the portal's agent form does; nil when no mail is configured (the
// API then refuses agents' requests).
func (a *App) sendAgentConfirmation(cfg config.Config) func(ctx context.Context, req dsr.Request, to, agentName, token string) error {
	if a.Mailer == nil {
		return nil
	}
	return func(ctx context.Context, req dsr.Request, to, agentName, token string) error {
		ag, err := a.Requests.AgentOf(ctx, req.ID)
		if err != nil {
			return err
		}
		if ag == nil {
			return fmt.Errorf("request %s has no agent", req.ID)
		}
		link := cfg.PublicURL + "/privacy/agent/confirm/" + url.PathEscape(req.ID) + "?" + url.Values{"token": {token}, "lang": {req.Language}}.Encode()
		msg, err := a.mail.Render(req.Language, notify.TemplateAgentConfirm, notify.AgentConfirm{
			Brand:     notify.Brand{CompanyName: cfg.Controller.Name, LogoURL: cfg.Brand.LogoURL, Colour: cfg.Brand.Colour},
			AgentName: agentName, RequestID: req.ID, Type: agentMailType[req.Kind], ExpiresAt: ag.ExpiresAt, ConfirmURL: link})
		if err != nil {
			return fmt.Errorf("agent confirmation: %w", err)
		}
		msg.To = to
		return a.Mailer.Send(ctx, msg)
	}
}
