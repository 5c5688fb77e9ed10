package api

import (
	"net/http"
	"strings"
	"time"

	"github.com/gemgate/gemgate/internal/clientip"
	"github.com/gemgate/gemgate/internal/config"
	"github.com/gemgate/gemgate/internal/reqlog"
)

// routeKind names the API a path belongs to, for the request log; "" means the path is not logged
// (health checks, admin calls, static files).
func routeKind(path string) string {
	switch {
	case path == "/v1/keys/list", path == "/hf/v1/keys/list":
		return "" // Gemini Balance's admin key list (AdminPaths), not an API call
	case strings.HasPrefix(path, "/openai/"):
		return "openai-compat"
	case strings.HasPrefix(path, "/v1beta/"), strings.HasPrefix(path, "/gemini/"):
		return "gemini"
	case strings.HasPrefix(path, "/ws/"), strings.HasPrefix(path, "/v1alpha/"):
		return "gemini" // the Live API's WebSocket and ephemeral tokens
	case strings.HasPrefix(path, "/anthropic/"), strings.HasPrefix(path, "/v1/messages"):
		return "anthropic"
	case strings.HasPrefix(path, "/v1/responses"), strings.HasPrefix(path, "/hf/v1/responses"):
		return "openai-responses"
	case strings.HasPrefix(path, "/v1/"), strings.HasPrefix(path, "/hf/"):
		return "openai"
	case strings.HasPrefix(path, "/vertex-express/"):
		return "vertex"
	case strings.HasPrefix(path, "/upload/"), strings.HasPrefix(path, "/download/"):
		return "gemini" // the Files API's uploads; /img/ (hosted images) is not logged
	}
	return ""
}

// track gives every request an id (X-Request-Id) and, for API routes, opens the log entry that the
// later stages fill in and hands it to sink when the handler returns (after a stream has ended).
func track(sink reqlog.Sink, settings func() *config.Snapshot, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := reqlog.NewID()
		w.Header().Set("X-Request-Id", id)
		ctx := reqlog.WithID(r.Context(), id)
		kind := routeKind(r.URL.Path)
		if sink == nil || kind == "" || r.Method == http.MethodOptions {
			next.ServeHTTP(w, r.WithContext(ctx))
			return
		}
		e := &reqlog.Entry{ID: id, Start: time.Now(), Route: kind, Method: r.Method, Path: r.URL.Path}
		rec := &errorCapture{statusRecorder: statusRecorder{ResponseWriter: w}}
		// One copy of the request carries both values: WithContext copies the whole request.
		ctx = reqlog.With(ctx, e)
		next.ServeHTTP(rec, r.WithContext(ctx))
		if noteRefusal(ctx, rec) {
			// Refusals are counted per source (internal/logs); the address is worked out only for them.
			e.Source = clientip.Of(r, config.TrustedProxies.Get(settings()))
		}
		status := rec.status
		if r.Context().Err() != nil && status == 0 {
			status = 499 // the client left before any answer
		} else if status == 0 {
			status = http.StatusOK
		}
		e.Finish(status, time.Since(e.Start))
		sink.Submit(e)
	})
}
