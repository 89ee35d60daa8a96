package app

import (
	"context"

	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/web"
)

// ready is the server's readiness (/readyz): the store answers and is
// fully migrated, and the consent ledger's hash chain verified.
func (a *App) ready(ctx context.Context) (web.ReadyStatus, error) {
	pending, err := a.DB.Pending(ctx)
	if err != nil {
		return web.ReadyStatus{}, errs.Wrap(errs.CodeUnavailable, err, "the store is not reachable")
	}
	if pending > 0 {
		return web.ReadyStatus{}, errs.New(errs.CodeUnavailable, "%d migrations are not applied yet", pending)
	}
	if a.LedgerCheckpoints != nil {
		if ok, reason := a.LedgerCheckpoints.Status(); !ok {
			return web.ReadyStatus{}, errs.New(errs.CodeUnavailable, "%s", reason)
		}
	}
	return web.ReadyStatus{LedgerSeq: a.Consent.Index().MaxSeq()}, nil
}
