package incident

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/errs"
)

// RecordNotified moves incident id to notified from what was recorded of
// the telling (MarkNotified): the authority was told when the first report
// was filed (RecordFiling), the individuals when the last of their notices'
// emails went. The customers' notices must all be handled (none queued or
// being sent) when any were sent; MarkNotified says what else is missing
// (a report at any risk, the notices at high risk).
func (s *Service) RecordNotified(ctx context.Context, id, note string) (Incident, error) {
	inc, err := s.Get(ctx, id)
	if err != nil {
		return Incident{}, err
	}
	progress, err := s.NoticeProgress(ctx, id)
	if err != nil {
		return Incident{}, err
	}
	if progress.Queued+progress.Sending > 0 {
		return Incident{}, &errs.Error{Code: errs.CodeConflict, Message: "notices are still being sent",
			Fields: map[string]string{"individuals_at": "wait until every notice is sent or failed"}}
	}
	n := Notification{AuthorityAt: inc.AuthorityNotifiedAt, Note: note}
	var last sql.NullInt64
	if err := s.db.QueryRowContext(ctx, `SELECT MAX(sent_at) FROM incident_notices WHERE incident_id = $1`, id).Scan(&last); err != nil {
		return Incident{}, db.Classify(fmt.Errorf("incident: notified: %w", err))
	}
	n.IndividualsAt = db.OptTime(last)
	return s.MarkNotified(ctx, id, n)
}
