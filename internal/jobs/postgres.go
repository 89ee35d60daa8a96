package jobs

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/steward-dev/steward/internal/db"
)

// openListenerPool returns a pgx pool for River's LISTEN connection,
// connected exactly as store's connections are: same server, credentials
// and search_path, so that River listens on the channels of the schema its
// tables are in. The connection string is read back from one of store's
// connections, so that db.DB need not keep its URL (with the password).
func openListenerPool(ctx context.Context, store *db.DB) (*pgxpool.Pool, error) {
	conn, err := store.RiverHandle().Conn(ctx)
	if err != nil {
		return nil, db.Classify(fmt.Errorf("jobs: listener: %w", err))
	}
	var connString string
	err = conn.Raw(func(driverConn any) error {
		c, ok := driverConn.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("connection is a %T, want pgx's stdlib", driverConn)
		}
		connString = c.Conn().Config().ConnString()
		return nil
	})
	conn.Close()
	if err != nil {
		return nil, fmt.Errorf("jobs: listener: %w", err)
	}
	cfg, err := pgxpool.ParseConfig(connString)
	if err != nil {
		return nil, fmt.Errorf("jobs: listener: parse connection: %w", err)
	}
	// River hijacks one connection for LISTEN and uses the pool for
	// nothing else.
	cfg.MinConns, cfg.MaxConns = 0, 1
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, db.Classify(fmt.Errorf("jobs: listener: %w", err))
	}
	return pool, nil
}
