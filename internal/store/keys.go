package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// KeyState is what gemgate remembers about one Gemini API key across restarts.
type KeyState struct {
	Key           string
	FailureCount  int
	LastError     string // short text; cut to maxLastError characters
	LastErrorCode int
	LastErrorAt   time.Time // zero = never
	LastUsedAt    time.Time // zero = never
	// Disabled takes the key out of rotation (invalid, suspended), for DisabledReason.
	Disabled       bool
	DisabledReason string    // cut to 255 characters, the column's size
	Cooldowns      string    // JSON list of per-model cooldowns, as the key pool writes it; "" = none
	Tags           string    // comma separated
	Weight         int       // 0 or 1 = normal
	Project        string    // Google project the key belongs to; keys of one project share cooldowns
	UpdatedAt      time.Time // set by the store; ignored on save
}

const (
	// maxLastError keeps a message within MySQL's TEXT (65,535 bytes) even at 4 bytes a character.
	maxLastError      = 4000
	maxDisabledReason = 255
)

// LoadKeyStates returns every stored key state, oldest key first. Times are UTC; NULL times are zero.
func (s *Store) LoadKeyStates(ctx context.Context) ([]KeyState, error) {
	rows, err := s.db.QueryContext(ctx, s.q.loadKeys)
	if err != nil {
		return nil, fmt.Errorf("store: loading key states: %w", err)
	}
	defer rows.Close()
	var out []KeyState
	for rows.Next() {
		var st KeyState
		var lastErr, reason, cooldowns, tags, project sql.NullString
		var code sql.NullInt64
		var errAt, usedAt, updated dbTime
		if err := rows.Scan(&st.Key, &st.FailureCount, &lastErr, &code, &errAt, &usedAt, &st.Disabled, &reason, &cooldowns, &tags, &st.Weight, &project, &updated); err != nil {
			return nil, fmt.Errorf("store: loading key states: %w", err)
		}
		st.LastError, st.LastErrorCode, st.DisabledReason = lastErr.String, int(code.Int64), reason.String
		st.Cooldowns, st.Tags, st.Project = cooldowns.String, tags.String, project.String
		st.LastErrorAt, st.LastUsedAt, st.UpdatedAt = errAt.T, usedAt.T, updated.T
		if st.Key, err = s.seal.openKey(st.Key); err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: loading key states: %w", err)
	}
	return out, nil
}

// SaveKeyStates inserts or updates the states by Key in one transaction. When a key appears more than
// once, its last state wins. Times are stored in UTC at microsecond precision.
func (s *Store) SaveKeyStates(ctx context.Context, states []KeyState) error {
	if len(states) == 0 {
		return nil
	}
	// PostgreSQL refuses a statement that upserts the same row twice, so duplicates go first.
	pos := make(map[string]int, len(states))
	uniq := make([]KeyState, 0, len(states))
	for _, st := range states {
		if st.Key == "" {
			return errors.New("store: saving key states: a state has an empty key")
		}
		if i, ok := pos[st.Key]; ok {
			uniq[i] = st
			continue
		}
		pos[st.Key] = len(uniq)
		uniq = append(uniq, st)
	}
	// A fixed order makes concurrent savers lock rows in the same order, which avoids most deadlocks.
	slices.SortFunc(uniq, func(a, b KeyState) int { return strings.Compare(a.Key, b.Key) })
	if s.seal.on() {
		return s.saveSealedKeyStates(ctx, uniq)
	}
	ts := now()
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var full *sql.Stmt
		args := make([]any, 0, min(len(uniq), keyBatch)*len(keyColumns))
		for start := 0; start < len(uniq); start += keyBatch {
			part := uniq[start:min(start+keyBatch, len(uniq))]
			args = args[:0]
			for _, st := range part {
				args = append(args, st.Key, st.FailureCount,
					NullString(Clip(st.LastError, maxLastError)), NullInt(st.LastErrorCode),
					timeArg(st.LastErrorAt), timeArg(st.LastUsedAt),
					st.Disabled, NullString(Clip(st.DisabledReason, maxDisabledReason)), NullString(st.Cooldowns),
					NullString(Clip(st.Tags, 255)), st.Weight, NullString(Clip(st.Project, 255)), ts, ts)
			}
			var err error
			if len(part) == keyBatch {
				if full == nil {
					if full, err = tx.PrepareContext(ctx, s.q.upsertKeysFull); err != nil {
						return err
					}
					defer full.Close()
				}
				_, err = full.ExecContext(ctx, args...)
			} else {
				_, err = tx.ExecContext(ctx, upsertKeys(s.dialect, len(part)), args...)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: saving %d key states: %w", len(uniq), err)
	}
	return nil
}

// DeleteKeyStates removes the states of the given keys; unknown keys are ignored.
func (s *Store) DeleteKeyStates(ctx context.Context, keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	sorted := slices.Sorted(slices.Values(keys))
	sorted = slices.Compact(sorted)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if s.seal.on() {
			if err := s.deleteIn(ctx, tx, "t_api_keys", "key_hash", s.seal.keyHashes(sorted)); err != nil {
				return err
			}
		}
		return s.deleteIn(ctx, tx, "t_api_keys", "api_key", sorted)
	})
	if err != nil {
		return fmt.Errorf("store: deleting key states: %w", err)
	}
	return nil
}
