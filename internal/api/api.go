// Package api assembles gemgate's HTTP surface: routes, client authentication and the middleware every
// request goes through (panic recovery, CORS, access log).
package api

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/gemgate/gemgate/internal/anthropic"
	"github.com/gemgate/gemgate/internal/auth"
	"github.com/gemgate/gemgate/internal/native"
	"github.com/gemgate/gemgate/internal/openai"
	"github.com/gemgate/gemgate/internal/reqlog"
	"github.com/gemgate/gemgate/internal/rpcstatus"
)

// Deps are what the routes need.
type Deps struct {
	// Tokens are the client tokens the front door accepts on every API route.
	Tokens *auth.Tokens
	Gemini *native.Handler
	OpenAI *openai.Handler
	// Anthropic serves Anthropic's Messages API when set.
	Anthropic *anthropic.Handler
	Admin     http.Handler // mounted under /api/ when set
	// Web is the admin panel, mounted on exactly the patterns in WebRoutes so that unknown paths keep
	// the JSON 404.
	Web       http.Handler
	WebRoutes []string
	Logger    *slog.Logger
	// Sink receives the record of every API request when set (the request and error logs).
	Sink reqlog.Sink
	// Metrics serves GET /metrics when set; it does its own access control.
	Metrics http.Handler
	// More are further APIs that mount their own routes (Files API, image hosting, Vertex Express).
	More []Routes
}

// AdminPaths are admin routes outside /api/ (Gemini Balance's /v1/keys/list); the admin handler
// authenticates them like every admin route.
var AdminPaths = []string{"GET /v1/keys/list", "GET /hf/v1/keys/list"}

// Routes is a part of the API that mounts its own routes.
type Routes interface{ Register(mux *http.ServeMux) }

// New returns the root handler.
func New(d Deps) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", health)
	if d.Metrics != nil {
		mux.Handle("GET /metrics", d.Metrics)
	}
	d.Gemini.Register(mux)
	d.OpenAI.Register(mux)
	for _, m := range d.More {
		m.Register(mux)
	}
	if d.Anthropic != nil {
		d.Anthropic.Register(mux)
	}
	if d.Admin != nil {
		mux.Handle("/api/", d.Admin)
		for _, p := range AdminPaths {
			mux.Handle(p, d.Admin)
		}
	}
	if d.Web != nil {
		for _, pattern := range d.WebRoutes {
			mux.Handle(pattern, d.Web)
		}
	}
	mux.HandleFunc("/", notFound)
	logger := d.Logger
	if logger == nil {
		logger = slog.Default()
	}
	// Normalization runs before tracking so the request log sees the path that was served.
	routes := normalizeURLs(d.Gemini.Settings, mux, track(d.Sink, d.Gemini.Settings, frontDoor(d.Tokens, accessLog(logger, mux))))
	return recoverer(logger, securityHeaders(d.Gemini.Settings, cors(routes)))
}

var healthBody = []byte(`{"status":"healthy"}`)

// health is the liveness probe: no auth, no I/O, so it answers in microseconds even under load.
func health(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(healthBody)
}

func notFound(w http.ResponseWriter, r *http.Request) {
	writeJSONError(w, http.StatusNotFound, "No such route: "+r.Method+" "+r.URL.Path)
}

// writeJSONError is the error shape for routes that belong to no particular API.
func writeJSONError(w http.ResponseWriter, code int, msg string) {
	rpcstatus.Write(w, code, msg)
}

// recoverer turns a panic into a clear JSON error instead of a dropped connection, and logs the stack.
func recoverer(logger *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v) // the deliberate way to abort a response; net/http handles it
			}
			logger.ErrorContext(r.Context(), "panic serving request", "request_id", w.Header().Get("X-Request-Id"),
				"method", r.Method, "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
			writeJSONError(w, http.StatusInternalServerError, "gemgate hit an internal error; it has been logged")
		}()
		next.ServeHTTP(w, r)
	})
}

// cors lets browser-based chat clients call the API directly. Credentials are not allowed: API calls
// carry their token in a header, and the admin cookie must never be usable cross-site.
func cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if origin := r.Header.Get("Origin"); origin != "" && !strings.HasPrefix(r.URL.Path, "/api/") {
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", "*")
			h.Set("Access-Control-Expose-Headers", "*")
			if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
				h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE, OPTIONS")
				h.Set("Access-Control-Allow-Headers", "*")
				h.Set("Access-Control-Max-Age", "600")
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// statusRecorder remembers the status for the access log and passes Flush through for streams.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the real writer (Flush, deadlines).
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// accessLog logs each request at debug level. The query string is left out: clients may carry their
// token in ?key=.
func accessLog(logger *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !logger.Enabled(r.Context(), slog.LevelDebug) {
			next.ServeHTTP(w, r)
			return
		}
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		logger.DebugContext(r.Context(), "request", "method", r.Method, "path", r.URL.Path, "status", rec.status, "duration", time.Since(start))
	})
}

// WriteJSON writes v as JSON with status code.
func WriteJSON(w http.ResponseWriter, code int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		writeJSONError(w, http.StatusInternalServerError, "could not encode the answer")
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(code)
	_, _ = w.Write(body)
}
