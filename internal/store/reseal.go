package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/gemgate/gemgate/internal/secret"
)

// SealReport counts the rows a SealExisting run rewrote.
type SealReport struct {
	Settings, Keys, Tokens int
	DuplicateKeys          int // plain rows of keys that also had an encrypted row, which was kept
}

// Changed reports whether the run rewrote anything.
func (r SealReport) Changed() bool { return r.Settings+r.Keys+r.Tokens+r.DuplicateKeys > 0 }

func (r SealReport) String() string {
	return fmt.Sprintf("%d secret settings, %d API keys and %d client tokens rewritten", r.Settings, r.Keys, r.Tokens)
}

// ErrNoSealer is SealExisting on a store opened without ENCRYPTION_KEY.
var ErrNoSealer = errors.New("store: ENCRYPTION_KEY is not set")

// SealExisting brings every stored secret into the form the store's ENCRYPTION_KEY asks for, in one
// transaction: encrypted (seal true) or back in plain text (seal false, to turn encryption off or to
// change the key). Rows already in that form are left alone, so running it again changes nothing, and
// a value the key cannot decrypt stops the run before anything is written.
func (s *Store) SealExisting(ctx context.Context, seal bool) (SealReport, error) {
	var rep SealReport
	if !s.seal.on() {
		return rep, ErrNoSealer
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		rep = SealReport{}
		var err error
		if rep.Settings, err = s.resealSettings(ctx, tx, seal); err != nil {
			return err
		}
		if rep.Keys, rep.DuplicateKeys, err = s.resealKeys(ctx, tx, seal); err != nil {
			return err
		}
		rep.Tokens, err = s.resealTokens(ctx, tx, seal)
		return err
	})
	if err != nil {
		return SealReport{}, fmt.Errorf("store: rewriting stored secrets: %w", err)
	}
	return rep, nil
}

// target returns a value in the wanted form and whether it differs from stored.
func (s *Store) target(purpose, stored string, seal bool) (string, bool, error) {
	plain, err := s.seal.sealer.Open(purpose, stored)
	if err != nil {
		return "", false, err
	}
	switch {
	case seal && !secret.IsSealed(stored) && plain != "":
		return s.seal.sealer.Seal(purpose, plain), true, nil
	case !seal && secret.IsSealed(stored):
		return plain, true, nil
	}
	return stored, false, nil
}

type row struct {
	id         any
	value, aux string
}

func queryRows(ctx context.Context, tx *sql.Tx, q string) ([]row, error) {
	rows, err := tx.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []row
	for rows.Next() {
		var r row
		var value, aux sql.NullString
		if err := rows.Scan(&r.id, &value, &aux); err != nil {
			return nil, err
		}
		r.value, r.aux = value.String, aux.String
		out = append(out, r)
	}
	return out, rows.Err()
}

func (s *Store) resealSettings(ctx context.Context, tx *sql.Tx, seal bool) (int, error) {
	rows, err := queryRows(ctx, tx, "SELECT "+s.q.keyColumn+", value, '' FROM t_settings")
	if err != nil {
		return 0, fmt.Errorf("reading t_settings: %w", err)
	}
	upd := s.Rebind("UPDATE t_settings SET value = ? WHERE " + s.q.keyColumn + " = ?")
	n := 0
	for _, r := range rows {
		name := asString(r.id)
		if seal && (s.seal.secretSetting == nil || !s.seal.secretSetting(name)) {
			continue
		}
		v, changed, err := s.target(purposeSetting+name, r.value, seal)
		if err != nil {
			return 0, fmt.Errorf("setting %s: %w", name, err)
		}
		if !changed {
			continue
		}
		if _, err := tx.ExecContext(ctx, upd, v, name); err != nil {
			return 0, fmt.Errorf("setting %s: %w", name, err)
		}
		n++
	}
	return n, nil
}

// resealKeys rewrites api_key and key_hash. A key written in plain text by an instance without the
// key after another one had written it encrypted has two rows; the encrypted one is the newer
// state, so the plain one goes.
func (s *Store) resealKeys(ctx context.Context, tx *sql.Tx, seal bool) (changed, dropped int, err error) {
	rows, err := queryRows(ctx, tx, "SELECT id, api_key, key_hash FROM t_api_keys ORDER BY id")
	if err != nil {
		return 0, 0, fmt.Errorf("reading t_api_keys: %w", err)
	}
	sealedHashes := map[string]bool{}
	for _, r := range rows {
		if secret.IsSealed(r.value) {
			plain, err := s.seal.sealer.Open(purposeAPIKey, r.value)
			if err != nil {
				return 0, 0, fmt.Errorf("t_api_keys row %v: %w", r.id, err)
			}
			sealedHashes[s.seal.sealer.LookupHash(plain)] = true
		}
	}
	upd := s.Rebind("UPDATE t_api_keys SET api_key = ?, key_hash = ? WHERE id = ?")
	del := s.Rebind("DELETE FROM t_api_keys WHERE id = ?")
	for _, r := range rows {
		v, rewrite, err := s.target(purposeAPIKey, r.value, seal)
		if err != nil {
			return 0, 0, fmt.Errorf("t_api_keys row %v: %w", r.id, err)
		}
		plain, _ := s.seal.sealer.Open(purposeAPIKey, r.value)
		hash := ""
		if seal {
			hash = s.seal.sealer.LookupHash(plain)
		}
		if seal && !secret.IsSealed(r.value) && sealedHashes[hash] {
			if _, err := tx.ExecContext(ctx, del, r.id); err != nil {
				return 0, 0, fmt.Errorf("t_api_keys row %v: %w", r.id, err)
			}
			dropped++
			continue
		}
		if !rewrite && hash == r.aux {
			continue
		}
		if _, err := tx.ExecContext(ctx, upd, v, NullString(hash), r.id); err != nil {
			return 0, 0, fmt.Errorf("t_api_keys row %v: %w", r.id, err)
		}
		changed++
	}
	return changed, dropped, nil
}

func (s *Store) resealTokens(ctx context.Context, tx *sql.Tx, seal bool) (int, error) {
	rows, err := queryRows(ctx, tx, "SELECT id, token, token_hash FROM t_client_tokens ORDER BY id")
	if err != nil {
		return 0, fmt.Errorf("reading t_client_tokens: %w", err)
	}
	upd := s.Rebind("UPDATE t_client_tokens SET token = ?, token_hash = ? WHERE id = ?")
	var plainHash *secret.Sealer // nil: SHA-256, the hash of tokens stored without a key
	n := 0
	for _, r := range rows {
		v, rewrite, err := s.target(purposeClientToken, r.value, seal)
		if err != nil {
			return 0, fmt.Errorf("t_client_tokens row %v: %w", r.id, err)
		}
		plain, _ := s.seal.sealer.Open(purposeClientToken, r.value)
		hash := plainHash.LookupHash(plain)
		if seal {
			hash = s.seal.sealer.LookupHash(plain)
		}
		if !rewrite && hash == r.aux {
			continue
		}
		if _, err := tx.ExecContext(ctx, upd, v, hash, r.id); err != nil {
			return 0, fmt.Errorf("t_client_tokens row %v: %w", r.id, err)
		}
		n++
	}
	return n, nil
}

// asString reads a name column that drivers return as string or []byte.
func asString(v any) string {
	switch t := v.(type) {
	case []byte:
		return string(t)
	case string:
		return t
	}
	return fmt.Sprint(v)
}
