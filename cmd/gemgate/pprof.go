package main

import (
	"log/slog"
	"net/http"
	"net/http/pprof"
	"os"
	"time"
)

// pprofEnv names the address the runtime profiles are served on, e.g. 127.0.0.1:6060. It is read from
// the process environment only (not .env, not the settings table): profiling is a decision made when
// starting the process, it is off unless set, and it never shares the API's listener.
const pprofEnv = "GEMGATE_PPROF"

// serveProfiles starts the profile server when GEMGATE_PPROF is set. The profiles expose memory
// contents (including keys), so the address should be a loopback one.
func serveProfiles(logger *slog.Logger) {
	addr := os.Getenv(pprofEnv)
	if addr == "" {
		return
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	logger.Warn("serving runtime profiles on "+pprofEnv+"; keep this address private", "addr", addr)
	go func() {
		if err := srv.ListenAndServe(); err != nil {
			logger.Error("could not serve runtime profiles", "addr", addr, "err", err)
		}
	}()
}
