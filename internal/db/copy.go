package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// CopySource yields the rows of a bulk load, as pgx.CopyFromSource does:
// Next advances, Values returns the row (one value per column), Err the
// error that ended it.
type CopySource interface {
	Next() bool
	Values() ([]any, error)
	Err() error
}

// CopyFunc bulk-loads rows into columns of table with PostgreSQL's COPY
// (binary), inside the transaction it was handed with, and returns how
// many rows it wrote.
type CopyFunc func(ctx context.Context, table string, columns []string, rows CopySource) (int64, error)

// TxCopy runs fn in a transaction as Tx does; on PostgreSQL it also hands
// fn a CopyFunc that loads rows in that same transaction, many times
// faster than INSERT statements for a restore's millions of rows. On
// SQLite copyFrom is nil: there, INSERTs in one transaction are the fast way.
// fn must not use tx while a copy runs.
func (d *DB) TxCopy(ctx context.Context, fn func(tx *sql.Tx, copyFrom CopyFunc) error) error {
	if d.Dialect != Postgres {
		return d.Tx(ctx, func(tx *sql.Tx) error { return fn(tx, nil) })
	}
	conn, err := d.sql.Conn(ctx)
	if err != nil {
		return Classify(fmt.Errorf("begin: %w", err))
	}
	defer conn.Close()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return Classify(fmt.Errorf("begin: %w", err))
	}
	copyFrom := func(ctx context.Context, table string, columns []string, rows CopySource) (int64, error) {
		var n int64
		// The driver's connection is the one the transaction runs on:
		// the COPY is part of it.
		err := conn.Raw(func(driverConn any) error {
			c, ok := driverConn.(*stdlib.Conn)
			if !ok {
				return errors.New("copy: the connection is not pgx's")
			}
			var err error
			n, err = c.Conn().CopyFrom(ctx, pgx.Identifier{table}, columns, rows)
			return err
		})
		if err != nil {
			return n, fmt.Errorf("copy into %s: %w", table, err)
		}
		return n, nil
	}
	if err := fn(tx, copyFrom); err != nil {
		_ = tx.Rollback()
		return Classify(err)
	}
	if err := tx.Commit(); err != nil {
		return Classify(fmt.Errorf("commit: %w", err))
	}
	return nil
}
