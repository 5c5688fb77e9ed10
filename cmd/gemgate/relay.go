package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/gemgate/gemgate/internal/api"
	"github.com/gemgate/gemgate/internal/config"
	"github.com/gemgate/gemgate/internal/relay"
)

const relayUsage = `Usage: gemgate relay [--host H] [--port P] [--target URL] [--secret S]

A thin forwarding proxy to the Gemini API, to run on another server (or platform) than the gateway so
that Google sees the relay's address instead of the gateway's. Every request is forwarded unchanged,
keys included, and answers stream back as they arrive. CORS is allowed for browser clients. GET /health
is answered by the relay itself.

Point the gateway at it with BASE_URL=https://RELAY-HOST/v1beta. With a secret, the relay forwards only
requests that carry it: set CUSTOM_HEADERS={"X-Relay-Secret":"S"} on the gateway (or add
?relay_secret=S to the URL in other clients). The secret never reaches Google.

Environment: HOST and PORT (as for the gateway), RELAY_TARGET, RELAY_SECRET (preferable to --secret,
which other users of the machine can read in the process list).
`

func relayCmd(args []string, out io.Writer) error {
	fs := newFlags("relay", relayUsage, out)
	host := fs.String("host", "", "listen address (env "+config.Host.Name()+", default 0.0.0.0)")
	port := fs.Int("port", 0, "listen port (env "+config.Port.Name()+", default 8000)")
	target := fs.String("target", "", "where to forward (env RELAY_TARGET, default "+relay.DefaultTarget+")")
	secret := fs.String("secret", "", "shared secret the callers must send (env RELAY_SECRET)")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	addr, snap, err := relayAddr(*host, *port)
	if err != nil {
		return err
	}
	t := firstSet(*target, os.Getenv("RELAY_TARGET"), relay.DefaultTarget)
	u, err := relay.ParseTarget(t)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	h := relay.New(relay.Options{Target: u, Secret: firstSet(*secret, os.Getenv("RELAY_SECRET")), Logger: logger})

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", addr, err)
	}
	withSecret := "no secret: anyone who finds the address can use it"
	if firstSet(*secret, os.Getenv("RELAY_SECRET")) != "" {
		withSecret = "secret required"
	}
	fmt.Fprintf(out, "gemgate %s relay listening on http://%s, forwarding to %s (%s)\n", version, ln.Addr(), u, withSecret)
	// The relay faces the internet like gemgate does: the same bounds on what a client may hold, from
	// the same settings (env only: the relay has no database).
	srv := api.NewServer(h, logger, func() *config.Snapshot { return snap })
	return serveUntil(ctx, srv, api.Listen(ln, func() *config.Snapshot { return snap }), logger)
}

// relayAddr applies flags over HOST and PORT from env, validated as the gateway validates them, and
// returns the settings read from env with them.
func relayAddr(host string, port int) (string, *config.Snapshot, error) {
	overrides := map[string]string{config.Host.Name(): host}
	if port != 0 {
		overrides[config.Port.Name()] = strconv.Itoa(port)
	}
	env, err := readEnv(overrides)
	if err != nil {
		return "", nil, err
	}
	snap, err := config.FromEnv(env)
	if err != nil {
		return "", nil, fmt.Errorf("invalid setting: %w", err)
	}
	return net.JoinHostPort(config.Host.Get(snap), strconv.Itoa(config.Port.Get(snap))), snap, nil
}

// serveUntil serves until ctx ends, then lets requests in flight (streams included) finish for up to
// 30 seconds.
func serveUntil(ctx context.Context, srv *http.Server, ln net.Listener, logger *slog.Logger) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down; waiting up to 30s for requests in flight")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func firstSet(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}
