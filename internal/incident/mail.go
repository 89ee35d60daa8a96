package incident

import (
	"context"
	"fmt"

	"github.com/steward-dev/steward/internal/notify"
	"github.com/steward-dev/steward/internal/staff"
)

// ReportAndTell opens a draft for a suspected incident (Report) and emails
// the security officers. The draft opens whether or not the mail goes:
// told is false when mail is not configured or no officer could be
// reached, and the caller says so.
func (s *Service) ReportAndTell(ctx context.Context, title, description string) (inc Incident, told bool, err error) {
	if inc, err = s.Report(ctx, title, description); err != nil {
		return inc, false, err
	}
	if !s.MailOn() {
		return inc, false, nil
	}
	alert := notify.IncidentAlert{Brand: s.cfg.Brand, Event: notify.IncidentReported, IncidentID: inc.ID, ConsoleURL: s.consoleURL(inc.ID)}
	if err := s.tellOfficers(ctx, alert); err != nil {
		s.log.WarnContext(ctx, "incident: the security officers could not be emailed", "incident", inc.ID, "error", err)
		return inc, false, nil
	}
	return inc, true, nil
}

func (s *Service) consoleURL(id string) string { return s.cfg.ConsoleURL + "/admin/incidents/" + id }

// Officers returns the enabled staff accounts whose role handles incidents
// (the permission "incidents").
func (s *Service) Officers(ctx context.Context) ([]staff.Account, error) {
	if s.cfg.Staff == nil {
		return nil, nil
	}
	accounts, err := s.cfg.Staff.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("incident: officers: %w", err)
	}
	var out []staff.Account
	for _, a := range accounts {
		if !a.Disabled && a.Role.Can(staff.PermIncidents) {
			out = append(out, a)
		}
	}
	return out, nil
}

// tellOfficers sends alert to every officer, each in their language. It
// fails when there is no officer or a message cannot be sent.
func (s *Service) tellOfficers(ctx context.Context, alert notify.IncidentAlert) error {
	officers, err := s.Officers(ctx)
	if err != nil {
		return err
	}
	if len(officers) == 0 {
		return fmt.Errorf("incident: no security officer to tell")
	}
	rendered := map[string]notify.Message{}
	for _, officer := range officers {
		lang := officer.Language
		if lang == "" {
			lang = notify.DefaultLanguage
		}
		msg, ok := rendered[lang]
		if !ok {
			if msg, err = s.cfg.Mail.Render(lang, notify.TemplateIncidentAlert, alert); err != nil {
				return fmt.Errorf("incident: render alert: %w", err)
			}
			rendered[lang] = msg
		}
		msg.To = officer.Email
		if err := s.cfg.Sender.Send(ctx, msg); err != nil {
			return fmt.Errorf("incident: send alert: %w", err)
		}
	}
	return nil
}
