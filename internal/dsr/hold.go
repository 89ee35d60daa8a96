package dsr

import (
	"context"
	"fmt"

	"github.com/steward-dev/steward/internal/errs"
)

// SetOnHold tells the service how to learn whether a subject's data is
// under a legal hold (retention.Service.OnHold): an erasure of a held
// subject is then not started, nor worked. Set it before serving; unset,
// no subject is held.
func (s *Service) SetOnHold(onHold func(ctx context.Context, subject string) (bool, error)) {
	s.onHold = onHold
}

// CheckNotHeld refuses the erasure r while a legal hold keeps its subject's
// data (GDPR Art. 17(3)(e): the data is needed for legal claims). Other
// kinds of request, and requests without a subject, pass.
func (s *Service) CheckNotHeld(ctx context.Context, r Request) error {
	if s.onHold == nil || r.Kind != KindErasure || r.SubjectID == "" {
		return nil
	}
	held, err := s.onHold(ctx, r.SubjectID)
	if err != nil {
		return fmt.Errorf("dsr: legal hold of request %s: %w", r.ID, err)
	}
	if held {
		return errs.New(errs.CodeConflict, "a legal hold keeps this customer's data: lift the hold on the customer's page, "+
			"or reject the request, naming the legal claim the data is kept for (GDPR Art. 17(3)(e))").Keyed("erasure_held")
	}
	return nil
}
