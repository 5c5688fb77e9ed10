package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"
)

// Server limits. There is no WriteTimeout: it would cut long streams, whose upstream side TIME_OUT
// bounds instead.
const (
	// ReadHeaderTimeout is how long a client may take to send its request headers: a client that
	// trickles them (slowloris) holds a connection for this long at most.
	ReadHeaderTimeout = 10 * time.Second
	IdleTimeout       = 120 * time.Second
	MaxHeaderBytes    = 1 << 20
	// AbortGrace is how long handlers get, once their upstream calls are cut at the end of the
	// shutdown grace period, to end their answers with an error and return.
	AbortGrace = 5 * time.Second
)

// NewServer is the HTTP server gemgate serves h with; serve and the tests build it here so that both
// run with the same limits.
func NewServer(h http.Handler, logger *slog.Logger) *http.Server {
	if logger == nil {
		logger = slog.Default()
	}
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: ReadHeaderTimeout,
		IdleTimeout:       IdleTimeout,
		MaxHeaderBytes:    MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelDebug),
	}
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
