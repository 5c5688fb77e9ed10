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
		kind := routeKind(r.URL.Path)
		if sink == nil || kind == "" || r.Method == http.MethodOptions {
			t := &untracked{}
			t.idHeader[0] = id
			w.Header()["X-Request-Id"] = t.idHeader[:]
			t.scope.Init(r.Context(), id, nil)
			next.ServeHTTP(w, r.WithContext(&t.scope))
			return
		}
		t := &tracked{}
		t.idHeader[0] = id
		w.Header()["X-Request-Id"] = t.idHeader[:]
		e := &t.entry
		e.ID, e.Start, e.Route, e.Method, e.Path = id, time.Now(), kind, r.Method, r.URL.Path
		e.Attempts = t.attempts[:0]
		t.rec.ResponseWriter = w
		t.scope.Init(r.Context(), id, e)
		ctx := &t.scope
		next.ServeHTTP(&t.rec, r.WithContext(ctx))
		rec := t.rec
		t.rec = errorCapture{} // the writer keeps the entry, and with it t, for a while: not the response
		if noteRefusal(ctx, &rec) {
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

// tracked is everything track keeps for a logged request, in one allocation: the scope that is the
// request's context, the entry, the response recorder, the first attempt's room and the X-Request-Id
// header's value.
type tracked struct {
	scope    reqlog.Scope
	entry    reqlog.Entry
	rec      errorCapture
	attempts [1]reqlog.Attempt
	idHeader [1]string
}

// untracked is the same for a request that is not logged.
type untracked struct {
	scope    reqlog.Scope
	idHeader [1]string
}
