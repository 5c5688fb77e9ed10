package main

import (
	"context"
	"fmt"
	"io"
	"slices"

	"github.com/gemgate/gemgate/internal/config"
	"github.com/gemgate/gemgate/internal/secret"
)

const tokenHintUsage = `Usage: gemgate token show-hint [--db FILE]

Shows which admin token (AUTH_TOKEN) is in force, masked, so it can be told apart from the one in env
or .env without printing it. After the first start the stored token wins over env; to replace a lost
token, run: gemgate token reset
`

func tokenHint(args []string, out io.Writer) error {
	fs := newFlags("token show-hint", tokenHintUsage, out)
	db := dbFlag(fs)
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	mgr, st, err := openExisting(context.Background(), *db)
	if err != nil {
		return err
	}
	defer st.Close()
	announceGenerated(out, mgr)
	snap := mgr.Current()
	tok := config.AuthToken.Get(snap)
	fmt.Fprintf(out, "The admin token in force is %s (%d characters), stored in the database.\n", secret.Mask(tok), len(tok))
	if slices.Contains(config.AllowedTokens.Get(snap), tok) {
		fmt.Fprintln(out, "It is also one of ALLOWED_TOKENS.")
	}
	if env, ok := mgr.Env(config.AuthToken.Name()); ok && env != "" && env != tok {
		fmt.Fprintf(out, "The AUTH_TOKEN in env or .env (%s) is not in force: the stored value wins after the first start.\n"+
			"Log in with the stored token, or replace it with: gemgate token reset\n", secret.Mask(env))
	}
	return nil
}
