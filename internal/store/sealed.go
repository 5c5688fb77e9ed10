package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"

	"github.com/gemgate/gemgate/internal/secret"
)

// Where each encrypted value lives; part of what the cipher authenticates, so a ciphertext copied to
// another column or setting does not decrypt.
const (
	purposeAPIKey      = "t_api_keys.api_key"
	purposeClientToken = "t_client_tokens.token"
	purposeSetting     = "t_settings:"
)

// sealing applies ENCRYPTION_KEY to what the store reads and writes. Without a sealer every value is
// written as it is, and only a value that is encrypted fails to read, with a message that says why.
type sealing struct {
	sealer        *secret.Sealer
	secretSetting func(name string) bool
}

func newSealing(cfg Config) sealing {
	return sealing{sealer: cfg.Sealer, secretSetting: cfg.SecretSetting}
}

// on reports whether secrets are written encrypted.
func (s sealing) on() bool { return s.sealer != nil }

func (s sealing) openSetting(name, v string) (string, error) {
	plain, err := s.sealer.Open(purposeSetting+name, v)
	if err != nil {
		return "", fmt.Errorf("store: reading setting %s: %w", name, err)
	}
	return plain, nil
}

func (s sealing) sealSetting(name, v string) string {
	if !s.on() || s.secretSetting == nil || !s.secretSetting(name) {
		return v
	}
	return s.sealer.Seal(purposeSetting+name, v)
}

func (s sealing) openKey(v string) (string, error) {
	plain, err := s.sealer.Open(purposeAPIKey, v)
	if err != nil {
		return "", fmt.Errorf("store: reading t_api_keys: %w", err)
	}
	return plain, nil
}

// keyHashes are the lookup hashes of keys, for finding their rows when api_key is encrypted.
func (s sealing) keyHashes(keys []string) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = s.sealer.LookupHash(k)
	}
	return out
}

// saveSealedKeyStates is SaveKeyStates with encrypted keys: rows are matched on key_hash, since a new
// ciphertext of the same key never equals the stored one, and an existing row keeps its ciphertext.
func (s *Store) saveSealedKeyStates(ctx context.Context, states []KeyState) error {
	ts := now()
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		for start := 0; start < len(states); start += keyBatch {
			part := states[start:min(start+keyBatch, len(states))]
			args := make([]any, 0, len(part)*(len(keyColumns)+1))
			for _, st := range part {
				args = append(args, s.seal.sealer.Seal(purposeAPIKey, st.Key), st.FailureCount,
					NullString(Clip(st.LastError, maxLastError)), NullInt(st.LastErrorCode),
					timeArg(st.LastErrorAt), timeArg(st.LastUsedAt),
					st.Disabled, NullString(Clip(st.DisabledReason, maxDisabledReason)), NullString(st.Cooldowns),
					NullString(Clip(st.Tags, 255)), st.Weight, NullString(Clip(st.Project, 255)), ts, ts,
					s.seal.sealer.LookupHash(st.Key))
			}
			if _, err := tx.ExecContext(ctx, upsertSealedKeys(s.dialect, len(part)), args...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: saving %d key states: %w", len(states), err)
	}
	return nil
}

// upsertSealedKeys is upsertKeys keyed on key_hash.
func upsertSealedKeys(d Dialect, n int) string {
	cols := append(slices.Clone(keyColumns), "key_hash")
	return rebind(d, d.Upsert("t_api_keys", cols, n, []string{"key_hash"}, keyUpdates, nil))
}
