package store

import (
	"context"
	"database/sql"
)

// InTx runs fn in a transaction, again from the start (up to a few times) when the engine aborted it
// for a deadlock or a lock timeout, for packages that keep their own tables in the database.
func (s *Store) InTx(ctx context.Context, fn func(tx *sql.Tx) error) error { return s.inTx(ctx, fn) }
