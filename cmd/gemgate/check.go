package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/gemgate/gemgate/internal/config"
)

const checkUsage = `Usage: gemgate check [--port P] [--host H] [--url URL]

Health check for containers: asks GET /health of the gemgate (or relay) running here and exits 0 when it
answers 200 within 3 seconds, 1 otherwise. The port comes from PORT (env or .env), like the server's.
`

// checkTimeout is below Docker's default health-check timeout (30 s) and far above a healthy answer.
const checkTimeout = 3 * time.Second

func check(args []string, out io.Writer) error {
	fs := newFlags("check", checkUsage, out)
	port := fs.Int("port", 0, "port gemgate listens on (setting "+config.Port.Name()+")")
	host := fs.String("host", "", "address gemgate listens on (setting "+config.Host.Name()+")")
	target := fs.String("url", "", "full URL to check instead, e.g. http://127.0.0.1:8000/health")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	u := *target
	if u == "" {
		var err error
		if u, err = healthURL(*host, *port); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), checkTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("health check: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("health check: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("health check: %s answered %s", u, resp.Status)
	}
	fmt.Fprintln(out, "ok")
	return nil
}

// healthURL points at this host's listener: the wildcard addresses mean "every interface", of which
// loopback is the one a check inside the container can always reach.
func healthURL(host string, port int) (string, error) {
	overrides := map[string]string{config.Host.Name(): host}
	if port != 0 {
		overrides[config.Port.Name()] = strconv.Itoa(port)
	}
	env, err := readEnv(overrides)
	if err != nil {
		return "", err
	}
	snap, err := config.FromEnv(env)
	if err != nil {
		return "", fmt.Errorf("invalid setting: %w", err)
	}
	h := config.Host.Get(snap)
	if ip := net.ParseIP(h); h == "" || (ip != nil && ip.IsUnspecified()) {
		h = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(h, strconv.Itoa(config.Port.Get(snap))) + "/health", nil
}
