package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/gemgate/gemgate/internal/app"
	"github.com/gemgate/gemgate/internal/config"
	"github.com/gemgate/gemgate/internal/store"
)

const encryptUsage = `Usage: gemgate encrypt-existing [--db FILE] [--decrypt]

Encrypts, in place and in one transaction, the secrets stored in the database in plain text: the
secret settings (API_KEYS, ALLOWED_TOKENS, AUTH_TOKEN, PAID_KEY, ...), the keys in t_api_keys and the
client tokens. It needs ENCRYPTION_KEY, in the environment or .env. Values already encrypted are left
alone, so running it twice changes nothing; a value that ENCRYPTION_KEY cannot decrypt stops it
before anything is written. gemgate also does this by itself at start when ENCRYPTION_KEY is set.

--decrypt writes everything back in plain text: to stop encrypting, or to change the key (decrypt
with the old key, then start with the new one). Stop every gemgate instance using the database first.
`

func encryptExisting(args []string, out io.Writer) error {
	fs := newFlags("encrypt-existing", encryptUsage, out)
	db := dbFlag(fs)
	decrypt := fs.Bool("decrypt", false, "write the secrets back in plain text instead")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	env, err := readEnv(map[string]string{config.SQLiteDatabase.Name(): *db})
	if err != nil {
		return err
	}
	boot, err := config.FromEnv(env)
	if err != nil {
		return fmt.Errorf("invalid setting: %w", err)
	}
	cfg := app.StoreConfig(boot)
	if cfg.Sealer == nil {
		return errors.New("ENCRYPTION_KEY is not set (in the environment or .env); see docs/security.md")
	}
	if cfg.Type == "" || cfg.Type == "sqlite" {
		path := store.SQLiteFile(cfg.SQLitePath)
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("no database at %s; run this in gemgate's working folder, or pass --db", path)
		}
	}
	ctx := context.Background()
	st, err := store.Open(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	rep, err := st.SealExisting(ctx, !*decrypt)
	if err != nil {
		return err
	}
	verb := "Encrypted"
	if *decrypt {
		verb = "Decrypted"
	}
	fmt.Fprintf(out, "%s: %d secret settings, %d API keys, %d client tokens (%s).\n", verb, rep.Settings, rep.Keys, rep.Tokens, st.Describe())
	if rep.DuplicateKeys > 0 {
		fmt.Fprintf(out, "Removed %d plain-text key rows that also had an encrypted row.\n", rep.DuplicateKeys)
	}
	if !rep.Changed() {
		fmt.Fprintln(out, "Nothing to do: every secret was already in that form.")
	}
	return nil
}
