// Package openai serves OpenAI's API on top of Gemini: chat completions (translated to and from
// generateContent), models, embeddings, and a pass-through to Google's own OpenAI-compatible endpoint.
package openai

import (
	"net/http"

	"github.com/gemgate/gemgate/internal/auth"
	"github.com/gemgate/gemgate/internal/config"
	"github.com/gemgate/gemgate/internal/gemini"
	"github.com/gemgate/gemgate/internal/upstream"
)

// Prefixes are where the translated API is served (the reference's /v1 and /hf/v1).
var Prefixes = []string{"/v1", "/hf/v1"}

// PassthroughPrefix is where Google's own OpenAI-compatible endpoint is relayed.
const PassthroughPrefix = "/openai/v1"

// Handler serves the OpenAI routes.
type Handler struct {
	Exec     *upstream.Executor
	Settings func() *config.Snapshot
	Models   *gemini.ModelCache
	// Images hosts generated images (chat answers, images endpoint); nil inlines them as data: URLs.
	Images ImageHost
	// Paid chooses the executor and key of Imagen calls (PAID_KEY); nil uses the pool.
	Paid PaidKey
	// AnthropicModels, when set, answers the model routes for Anthropic clients (they send
	// anthropic-version or x-api-key), which share /v1/models with OpenAI's.
	AnthropicModels http.Handler
}

// Register mounts the routes.
func (h *Handler) Register(mux *http.ServeMux) {
	for _, p := range Prefixes {
		mux.Handle("POST "+p+"/chat/completions", h.authorized(h.chat))
		mux.Handle("GET "+p+"/models", h.anthropicAware(h.authorized(h.listModels)))
		mux.Handle("GET "+p+"/models/{model...}", h.anthropicAware(h.authorized(h.getModel)))
		mux.Handle("POST "+p+"/responses", h.authorized(h.responses))
		mux.Handle("POST "+p+"/embeddings", h.authorized(h.embeddings))
		mux.Handle("POST "+p+"/images/generations", h.authorized(h.images))
		mux.Handle("POST "+p+"/audio/speech", h.authorized(h.speech))
		mux.Handle("POST "+p+"/audio/transcriptions", h.authorized(h.transcriptions))
		mux.Handle("POST "+p+"/audio/translations", h.authorized(h.translations))
		mux.Handle(p+"/", http.HandlerFunc(notFound))
	}
	p := PassthroughPrefix
	mux.Handle("GET "+p+"/models", h.authorized(h.passthroughModels))
	mux.Handle("POST "+p+"/chat/completions", h.authorized(h.passthroughChat))
	mux.Handle("POST "+p+"/embeddings", h.authorized(h.passthroughEmbeddings))
	// Google's compatible endpoint has Imagen but no speech; both are served the way /v1 serves them.
	mux.Handle("POST "+p+"/images/generations", h.authorized(h.images))
	mux.Handle("POST "+p+"/audio/speech", h.authorized(h.speech))
	mux.Handle("POST "+p+"/audio/transcriptions", h.authorized(h.transcriptions))
	mux.Handle("POST "+p+"/audio/translations", h.authorized(h.translations))
	mux.Handle(p+"/", http.HandlerFunc(notFound))
}

// authorized serves requests the front door (internal/api) accepted; it never reads credentials.
func (h *Handler) authorized(next http.HandlerFunc) http.Handler {
	return auth.Required(next, func(w http.ResponseWriter) {
		WriteError(w, http.StatusUnauthorized, "Missing gemgate token: send one of ALLOWED_TOKENS as Authorization: Bearer <token>.",
			TypeAuthentication, "missing_api_key", "")
	})
}

// anthropicAware hands requests from Anthropic clients to AnthropicModels.
func (h *Handler) anthropicAware(next http.Handler) http.Handler {
	if h.AnthropicModels == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("anthropic-version") != "" || r.Header.Get("x-api-key") != "" {
			h.AnthropicModels.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func notFound(w http.ResponseWriter, r *http.Request) {
	WriteError(w, http.StatusNotFound, "Unknown route: "+r.Method+" "+r.URL.Path, TypeInvalidRequest, "unknown_url", "")
}
