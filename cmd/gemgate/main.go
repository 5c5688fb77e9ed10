// Command gemgate is a gateway that pools many Google Gemini API keys behind one endpoint.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gemgate/gemgate/internal/api"
	"github.com/gemgate/gemgate/internal/app"
	"github.com/gemgate/gemgate/internal/applog"
	"github.com/gemgate/gemgate/internal/config"
	"github.com/gemgate/gemgate/internal/upstream"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `gemgate — one endpoint for many Gemini API keys

Usage:
  gemgate [serve] [--host H] [--port P] [--db FILE]   run the gateway (default)
  gemgate demo [--port P]                              run with a built-in fake Gemini and sample keys
  gemgate token reset [--db FILE]                      make a new admin token, store and print it
  gemgate token show-hint [--db FILE]                  show which admin token is in force (masked)
  gemgate keys import [--db FILE] FILE                 add every Gemini key found in FILE
  gemgate keys export [--db FILE] [--status S]         print the keys (usable, disabled or all)
  gemgate import --from SOURCE [--db FILE]             copy a Gemini Balance database (SQLite file or MySQL DSN)
  gemgate migrate [--db FILE]                          update the database schema and exit
  gemgate encrypt-existing [--db FILE] [--decrypt]     encrypt the stored secrets with ENCRYPTION_KEY
  gemgate check [--port P] [--url URL]                 container health check: exit 0 when /health answers
  gemgate relay [--port P] [--target URL] [--secret S] forwarding proxy to Google, to hide the server's IP
  gemgate version                                      print the version

Settings come from the environment, a .env file in the working folder, and the database
(see docs/settings.md). Run "gemgate <command> --help" for a command's flags.
`

func main() {
	upstream.UserAgent = "gemgate/" + version
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "gemgate:", err)
		os.Exit(1)
	}
}

func run(args []string, out io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && (isHelp(args[0]) || !strings.HasPrefix(args[0], "-")) {
		cmd, args = args[0], args[1:]
	}
	if isHelp(cmd) {
		fmt.Fprint(out, usage)
		return nil
	}
	do, ok := commands[cmd]
	if !ok {
		return fmt.Errorf("unknown command %q\n\n%s", cmd, usage)
	}
	err := do(args, out)
	if errors.Is(err, flag.ErrHelp) {
		return nil // --help printed the usage
	}
	return err
}

// isHelp tells an argument that asks for usage rather than naming a command or a flag.
func isHelp(arg string) bool {
	switch arg {
	case "help", "-h", "-help", "--help":
		return true
	}
	return false
}

// commands are the subcommands run dispatches to, by name.
var commands = map[string]func(args []string, out io.Writer) error{
	"serve":            func(args []string, out io.Writer) error { return serve(args, out, false) },
	"demo":             func(args []string, out io.Writer) error { return serve(args, out, true) },
	"token":            token,
	"relay":            relayCmd,
	"keys":             keys,
	"check":            check,
	"migrate":          migrate,
	"import":           importCmd,
	"encrypt-existing": encryptExisting,
	"version":          versionCmd,
}

const versionUsage = `Usage: gemgate version

Prints gemgate's version.
`

func versionCmd(args []string, out io.Writer) error {
	if err := parseNoArgs(newFlags("version", versionUsage, out), args); err != nil {
		return err
	}
	fmt.Fprintln(out, "gemgate", version)
	return nil
}

// readEnv reads settings from the environment and ./.env, then applies command-line overrides.
func readEnv(overrides map[string]string) (map[string]string, error) {
	env, err := config.ReadEnv(".env", os.Environ())
	if err != nil {
		return nil, err
	}
	for k, v := range overrides {
		if v != "" {
			env[k] = v
		}
	}
	return env, nil
}

const serveUsage = `Usage: gemgate %[1]s [--host H] [--port P] [--db FILE]

Runs the gateway%[2]s.
Settings come from the environment, a .env file in the working folder, and
the database (see docs/settings.md); the flags override their settings for this run.
`

func serve(args []string, out io.Writer, demo bool) error {
	name, what := "serve", ""
	if demo {
		name, what = "demo", " with a built-in fake Gemini and sample keys"
	}
	fs := newFlags(name, fmt.Sprintf(serveUsage, name, what), out)
	host := fs.String("host", "", "listen address (setting "+config.Host.Name()+")")
	port := fs.Int("port", 0, "listen port (setting "+config.Port.Name()+")")
	db := dbFlag(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	overrides := map[string]string{config.Host.Name(): *host, config.SQLiteDatabase.Name(): *db}
	if *port != 0 {
		overrides[config.Port.Name()] = strconv.Itoa(*port)
	}
	env, err := readEnv(overrides)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	// LOG_LEVEL and LOG_FORMAT apply from the first line (env) and follow the settings live.
	level := new(slog.LevelVar)
	lines := applog.NewSwitch(os.Stderr, level, applog.ParseFormat(env[config.LogFormat.Name()]))
	logger := slog.New(lines)
	slog.SetDefault(logger)

	var d *demoUpstream
	if demo {
		if d, err = startDemo(env); err != nil {
			return err
		}
		defer d.Close()
	}
	a, err := app.New(ctx, app.Options{Env: env, Logger: logger, Version: version})
	if err != nil {
		return err
	}
	defer a.Close()
	if d != nil {
		if err := d.Attach(ctx, a); err != nil {
			return err
		}
	}
	snap := a.Settings.Current()
	level.Set(config.LogLevelOf(snap))
	lines.SetFormat(applog.ParseFormat(config.LogFormat.Get(snap)))
	applyMemoryLimit(snap)
	applyGCPercent(snap)
	a.Settings.OnChange(func(_, next *config.Snapshot) {
		level.Set(config.LogLevelOf(next))
		lines.SetFormat(applog.ParseFormat(config.LogFormat.Get(next)))
		applyMemoryLimit(next)
		applyGCPercent(next)
	})
	// From here on, lines go through the app's logger: request ids, and keys and tokens scrubbed.
	logger = a.Logger
	slog.SetDefault(logger)
	serveProfiles(logger)

	// Before listening: a first start that fails there (port busy) must not lose the generated token.
	announceUnclaimed(ctx, out, a)
	addr := net.JoinHostPort(config.Host.Get(snap), strconv.Itoa(config.Port.Get(snap)))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", addr, err)
	}
	releaseStartupMemory()
	announce(out, a, ln.Addr().String(), d)
	if d != nil {
		go d.Traffic(ctx, ln.Addr().String())
	}
	srv := api.NewServer(a.Handler, logger, a.Settings.Current)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(api.Listen(ln, a.Settings.Current)) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down; waiting up to 30s for requests in flight")
	// Streams still running after the grace period end with an error event; a.Close (deferred) then
	// writes every log entry the finished requests left.
	return api.Shutdown(srv, 30*time.Second, a.AbortUpstream)
}

func announce(out io.Writer, a *app.App, addr string, d *demoUpstream) {
	host, port, _ := net.SplitHostPort(addr)
	if host == "0.0.0.0" || host == "::" || host == "" {
		host = "127.0.0.1"
	}
	base := "http://" + net.JoinHostPort(host, port)
	total, usable := a.Pool.Counts()
	fmt.Fprintf(out, "gemgate %s listening on %s (%d keys, %d usable)\n", version, base, total, usable)
	if d != nil {
		d.Announce(out, base)
	}
}

// announceUnclaimed prints the admin token gemgate generated, on every start until someone has logged
// in with it. Hosts without a shell (Hugging Face, Render) show this output in their log view.
func announceUnclaimed(ctx context.Context, out io.Writer, a *app.App) {
	t := a.UnclaimedAuthToken(ctx)
	if t == "" {
		return
	}
	fmt.Fprintf(out, "\nNo AUTH_TOKEN was set, so one was generated and stored. Until someone logs in with it, every start shows it again:\n\n    %s\n\n"+
		"Log in to the admin panel (/) with it. Lost it anyway? Run: gemgate token reset, or without a shell set AUTH_TOKEN and\n"+
		"%s=%s in the host's secrets and restart.\n\n", t, config.EnvOverrides.Name(), config.AuthToken.Name())
}

const tokenUsage = `Usage:
  gemgate token reset [--db FILE]       make a new admin token (AUTH_TOKEN), store and print it
  gemgate token show-hint [--db FILE]   show which admin token is in force (masked)
`

func token(args []string, out io.Writer) error {
	switch {
	case len(args) == 0:
		return errors.New("token needs a command: reset or show-hint\n\n" + tokenUsage)
	case isHelp(args[0]):
		fmt.Fprint(out, tokenUsage)
		return nil
	case args[0] == "show-hint":
		return tokenHint(args[1:], out)
	case args[0] != "reset":
		return fmt.Errorf("unknown token command %q\n\n%s", args[0], tokenUsage)
	}
	fs := newFlags("token reset", "Usage: gemgate token reset [--db FILE]\n\nMakes a new admin token (AUTH_TOKEN), stores and prints it.\n", out)
	db := dbFlag(fs)
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	env, err := readEnv(map[string]string{config.SQLiteDatabase.Name(): *db})
	if err != nil {
		return err
	}
	ctx := context.Background()
	mgr, st, err := app.OpenSettings(ctx, env)
	if err != nil {
		return err
	}
	defer st.Close()
	tok := config.NewToken()
	if err := mgr.Update(ctx, map[string]string{config.AuthToken.Name(): tok}); err != nil {
		return err
	}
	fmt.Fprintf(out, "New admin token (AUTH_TOKEN), stored in the database; a running gemgate picks it up within 15 seconds:\n\n    %s\n", tok)
	return nil
}
