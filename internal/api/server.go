package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"time"

	"github.com/gemgate/gemgate/internal/clientip"
	"github.com/gemgate/gemgate/internal/config"
	"github.com/gemgate/gemgate/internal/limits"
	"github.com/gemgate/gemgate/internal/rpcstatus"
)

// Server limits. There is no WriteTimeout: it would cut long streams, whose upstream side TIME_OUT
// bounds instead. What a client may hold (header time and size, body pace, connections per address)
// comes from the settings.
const (
	IdleTimeout = 120 * time.Second
	// AbortGrace is how long handlers get, once their upstream calls are cut at the end of the
	// shutdown grace period, to end their answers with an error and return.
	AbortGrace = 5 * time.Second
)

// NewServer is the HTTP server gemgate serves h with; serve and the tests build it here so that both
// run with the same limits. Header time and size are read from settings once; the body pace at every
// request. Serve it on Listen's listener for the per-address connection cap.
func NewServer(h http.Handler, logger *slog.Logger, settings func() *config.Snapshot) *http.Server {
	if logger == nil {
		logger = slog.Default()
	}
	snap := settings()
	return &http.Server{
		Handler:           limits.Bodies(h, func() limits.Pace { return bodyPace(settings()) }),
		ReadHeaderTimeout: time.Duration(config.ClientHeaderTimeout.Get(snap)) * time.Second,
		IdleTimeout:       IdleTimeout,
		// net/http allows 4 KiB more than this for the request line; the setting is what clients see.
		MaxHeaderBytes: config.ClientMaxHeaderKB.Get(snap) << 10,
		ErrorLog:       slog.NewLogLogger(logger.Handler(), slog.LevelDebug),
	}
}

func bodyPace(snap *config.Snapshot) limits.Pace {
	secs := config.ClientBodyTimeout.Get(snap)
	return limits.Pace{Window: time.Duration(secs) * time.Second, MinBytes: int64(secs) * int64(config.ClientBodyMinRate.Get(snap))}
}

// Listen wraps ln with the cap on connections per client address (CLIENT_MAX_CONNECTIONS_PER_IP),
// read at every accept. The proxies in TRUSTED_PROXIES are not capped: each of their connections
// carries whichever client the proxy is serving, so the proxy limits its clients, not gemgate.
func Listen(ln net.Listener, settings func() *config.Snapshot) net.Listener {
	return limits.PerAddress(ln, func(peer netip.Addr) int {
		snap := settings()
		if clientip.InList(peer, config.TrustedProxies.Get(snap)) {
			return 0
		}
		return config.ClientMaxConnsPerIP.Get(snap)
	}, tooManyConnections)
}

// tooManyConnections is the whole HTTP answer to a connection over the cap, in Google's error shape
// (the request was not read, so its API is unknown).
func tooManyConnections(limit int) []byte {
	msg := fmt.Sprintf("Too many connections from your address: at most %d at once (%s). Close idle connections or wait for some to finish.",
		limit, config.ClientMaxConnsPerIP.Name())
	body, _ := json.Marshal(struct {
		Error rpcstatus.Status `json:"error"`
	}{rpcstatus.Status{Code: http.StatusTooManyRequests, Message: msg, Status: rpcstatus.StatusFor(http.StatusTooManyRequests)}})
	return []byte("HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json; charset=UTF-8\r\n" +
		"Connection: close\r\nRetry-After: 1\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + string(body))
}

// Shutdown stops srv without losing what it accepted: it stops listening at once and gives requests in
// flight grace to finish. Requests still running then (long streams) have their upstream calls ended
// by abort, so that each handler closes its answer with an error in its API's shape and returns; only
// what is still open AbortGrace later is closed outright. When Shutdown returns no handler is running
// any more unless it reports an error, so every log entry has been handed to the log writer.
func Shutdown(srv *http.Server, grace time.Duration, abort func()) error {
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	err := srv.Shutdown(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		return ignoreClosed(err)
	}
	if abort != nil {
		abort()
	}
	actx, acancel := context.WithTimeout(context.Background(), AbortGrace)
	defer acancel()
	if err := srv.Shutdown(actx); !errors.Is(err, context.DeadlineExceeded) {
		return ignoreClosed(err)
	}
	if err := srv.Close(); err != nil {
		return fmt.Errorf("closing the connections left after the shutdown grace period: %w", err)
	}
	return fmt.Errorf("requests were still running %s after the shutdown began; their connections were closed", grace+AbortGrace)
}

func ignoreClosed(err error) error {
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}
