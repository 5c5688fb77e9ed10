package app

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/gemgate/gemgate/internal/config"
	"github.com/gemgate/gemgate/internal/secret"
	"github.com/gemgate/gemgate/internal/store"
)

// sealerOf builds the cipher of ENCRYPTION_KEY, nil when it is empty. The setting's own check has
// already refused every value NewSealer refuses; openStore still refuses to go on without the cipher
// when a key is set, rather than store secrets in plain text.
func sealerOf(snap *config.Snapshot) *secret.Sealer {
	s, err := secret.NewSealer(config.EncryptionKey.Get(snap))
	if err != nil {
		return nil
	}
	return s
}

func secretSetting(name string) bool {
	d, ok := config.Lookup(name)
	return ok && d.Secret
}

// openStore opens the database, waiting up to DB_CONNECT_TIMEOUT for one that does not answer yet
// and logging each attempt, and with ENCRYPTION_KEY set encrypts the secrets still stored in plain
// text (a database from before the key was set), so that reads and writes find one form only.
func openStore(ctx context.Context, boot *config.Snapshot, logger *slog.Logger) (*store.Store, error) {
	cfg := StoreConfig(boot)
	if config.EncryptionKey.Get(boot) != "" && cfg.Sealer == nil {
		_, err := secret.NewSealer(config.EncryptionKey.Get(boot))
		return nil, errors.Join(errors.New("ENCRYPTION_KEY cannot be used"), err)
	}
	wait := time.Duration(config.DBConnectTimeout.Get(boot)) * time.Second
	st, err := store.OpenRetry(ctx, cfg, wait, func(attempt int, err error, pause time.Duration) {
		logger.Warn("the database does not answer yet; trying again", "attempt", attempt, "retry_in", pause,
			"gives_up_after", wait, "err", err)
	})
	if err != nil {
		return nil, err
	}
	if cfg.Sealer == nil {
		return st, nil
	}
	rep, err := st.SealExisting(ctx, true)
	if err != nil {
		st.Close()
		return nil, err
	}
	if rep.Changed() {
		logger.Info("ENCRYPTION_KEY: encrypted the secrets still stored in plain text", "settings", rep.Settings,
			"api_keys", rep.Keys, "client_tokens", rep.Tokens, "duplicate_key_rows_removed", rep.DuplicateKeys)
	}
	return st, nil
}
