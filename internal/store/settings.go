package store

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"slices"
)

// LoadSettings returns every row of t_settings as name -> value; a NULL value reads as "".
func (s *Store) LoadSettings(ctx context.Context) (map[string]string, error) {
	rows, err := s.db.QueryContext(ctx, s.q.loadSettings)
	if err != nil {
		return nil, fmt.Errorf("store: loading settings: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var name string
		var value sql.NullString
		if err := rows.Scan(&name, &value); err != nil {
			return nil, fmt.Errorf("store: loading settings: %w", err)
		}
		if out[name], err = s.seal.openSetting(name, value.String); err != nil {
			return nil, err
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: loading settings: %w", err)
	}
	return out, nil
}

// SaveSettings inserts or updates all values in one transaction: a reader sees all of them or none.
func (s *Store) SaveSettings(ctx context.Context, values map[string]string) error {
	if len(values) == 0 {
		return nil
	}
	// A fixed order makes concurrent savers lock rows in the same order, which avoids most deadlocks.
	names := slices.Sorted(maps.Keys(values))
	ts := now()
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, s.q.upsertSetting)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, name := range names {
			if _, err := stmt.ExecContext(ctx, name, s.seal.sealSetting(name, values[name]), name+" configuration setting", ts, ts); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: saving settings: %w", err)
	}
	return nil
}

// DeleteSettings removes the named rows; names without a row are ignored.
func (s *Store) DeleteSettings(ctx context.Context, names []string) error {
	if len(names) == 0 {
		return nil
	}
	sorted := slices.Sorted(slices.Values(names))
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		return s.deleteIn(ctx, tx, "t_settings", s.q.keyColumn, slices.Compact(sorted))
	})
	if err != nil {
		return fmt.Errorf("store: deleting settings: %w", err)
	}
	return nil
}
