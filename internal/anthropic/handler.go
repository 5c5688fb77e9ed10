// Package anthropic serves Anthropic's Messages API (what Claude Code, Cline, Roo and Kilo speak) on
// top of Gemini, through the same translation core and key pool as the other APIs.
package anthropic

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/gemgate/gemgate/internal/auth"
	"github.com/gemgate/gemgate/internal/config"
	"github.com/gemgate/gemgate/internal/gemini"
	"github.com/gemgate/gemgate/internal/models"
	"github.com/gemgate/gemgate/internal/translate"
	"github.com/gemgate/gemgate/internal/upstream"
)

// Prefixes are where the API is served: Anthropic's own paths (clients append /v1/messages to their
// base URL) and the same under /anthropic for deployments that keep each API under its own prefix.
var Prefixes = []string{"", "/anthropic"}

// Handler serves the Anthropic routes.
type Handler struct {
	Exec     *upstream.Executor
	Settings func() *config.Snapshot
	Models   *gemini.ModelCache
	// Fetcher downloads image and document URLs; nil means one that reaches only public addresses.
	Fetcher *translate.Fetcher
}

// Register mounts the routes. GET /v1/models is shared with OpenAI's API: see ModelRoutes.
func (h *Handler) Register(mux *http.ServeMux) {
	for _, p := range Prefixes {
		mux.Handle("POST "+p+"/v1/messages", h.authorized(h.messages))
		mux.Handle("POST "+p+"/v1/messages/count_tokens", h.authorized(h.countTokens))
	}
	mux.Handle("GET /anthropic/v1/models", h.ModelRoutes())
	mux.Handle("GET /anthropic/v1/models/{model...}", h.ModelRoutes())
	mux.Handle("/anthropic/", http.HandlerFunc(notFound))
}

// ModelRoutes answers the model routes in Anthropic's shape, for mounting where OpenAI's share the path.
func (h *Handler) ModelRoutes() http.Handler { return h.authorized(h.listModels) }

// IsAnthropic reports a request from an Anthropic client: its SDKs always send anthropic-version, and
// x-api-key is how they carry the key.
func IsAnthropic(r *http.Request) bool {
	return r.Header.Get("anthropic-version") != "" || r.Header.Get("x-api-key") != ""
}

// authorized serves requests the front door (internal/api) accepted; it never reads credentials.
func (h *Handler) authorized(next http.HandlerFunc) http.Handler {
	return auth.Required(next, func(w http.ResponseWriter) {
		writeError(w, http.StatusUnauthorized, typeAuthentication, "Missing gemgate token: send one of ALLOWED_TOKENS as x-api-key or Authorization: Bearer.")
	})
}

func notFound(w http.ResponseWriter, r *http.Request) {
	writeError(w, http.StatusNotFound, typeNotFound, "Unknown route: "+r.Method+" "+r.URL.Path)
}

// prepared is one translated request, ready to be sent.
type prepared struct {
	req   *messagesRequest
	model models.Resolved
	tr    translation
	body  []byte
}

// prepare reads, checks and translates a request, and downloads the media it names.
func (h *Handler) prepare(w http.ResponseWriter, r *http.Request, snap *config.Snapshot, countOnly bool) (*prepared, error) {
	raw, err := translate.ReadBody(w, r, snap)
	if err != nil {
		return nil, err
	}
	small, blobs := translate.Detach(raw)
	p, err := translateBody(snap, small, countOnly)
	if err != nil {
		return nil, err
	}
	if err := h.fetcher().FetchAll(r.Context(), p.tr.media); err != nil {
		return nil, err
	}
	body, err := json.Marshal(p.tr.body)
	if err != nil {
		return nil, fmt.Errorf("encoding the Gemini request: %w", err)
	}
	p.body = blobs.Splice(body)
	return p, nil
}

// translateBody parses and translates a request body whose media are detached; the Gemini body is
// encoded once the media are fetched.
func translateBody(snap *config.Snapshot, small []byte, countOnly bool) (*prepared, error) {
	req, err := parseRequest(small, countOnly)
	if err != nil {
		return nil, err
	}
	model, err := translate.ResolveModel(snap, geminiModel(snap, req.Model))
	if err != nil {
		return nil, err
	}
	tr, err := translateRequest(snap, model, req)
	if err != nil {
		return nil, err
	}
	return &prepared{req: req, model: model, tr: tr}, nil
}

var publicFetcher = translate.NewFetcher(false)

func (h *Handler) fetcher() *translate.Fetcher {
	if h.Fetcher != nil {
		return h.Fetcher
	}
	return publicFetcher
}

// messages serves POST /v1/messages.
func (h *Handler) messages(w http.ResponseWriter, r *http.Request) {
	snap := h.Settings()
	p, err := h.prepare(w, r, snap, false)
	if err != nil {
		writeRequestError(w, err)
		return
	}
	call := upstream.Call{Path: translate.GenerateContentPath(p.model.Real), Body: p.body, Stream: p.req.Stream, Model: p.model.Requested}
	a := &answer{id: translate.RandomID("msg_", 24), model: p.req.Model, blocks: translate.Blocks{
		ShowThoughts: p.tr.thinking, CarrySignatures: p.tr.thinking,
		SearchLinks: p.model.Search && config.ShowSearchLink.Get(snap), NewCallID: newToolUseID,
	}}
	if !p.req.Stream {
		h.complete(w, r, call, a)
		return
	}
	translate.Stream(r.Context(), h.Exec, call, translate.StreamSettingsOf(snap), &streamSink{a: a, out: translate.NewSSEWriter(w), w: w})
}

func newToolUseID() string { return translate.RandomID("toolu_", 24) }

// complete serves a non-streamed request.
func (h *Handler) complete(w http.ResponseWriter, r *http.Request, call upstream.Call, a *answer) {
	resp, err := translate.Complete(r.Context(), h.Exec, call)
	if err != nil {
		writeFailure(w, err)
		return
	}
	a.blocks.Whole(resp)
	writeJSON(w, a.message())
}

// countTokens serves POST /v1/messages/count_tokens with Gemini's countTokens, which counts the whole
// request as generateContent would see it (system instruction and tools included).
func (h *Handler) countTokens(w http.ResponseWriter, r *http.Request) {
	snap := h.Settings()
	p, err := h.prepare(w, r, snap, true)
	if err != nil {
		writeRequestError(w, err)
		return
	}
	var inner bytes.Buffer
	inner.WriteString(`{"generateContentRequest":{"model":`)
	name, _ := json.Marshal("models/" + p.model.Real)
	inner.Write(name)
	inner.WriteByte(',')
	inner.Write(p.body[1:])
	inner.WriteByte('}')
	resp, err := h.Exec.Do(r.Context(), upstream.Call{Path: "models/" + p.model.Real + ":countTokens", Body: inner.Bytes(), Model: p.model.Requested})
	if err == nil && (resp.StatusCode < 200 || resp.StatusCode > 299) {
		err = &translate.Refused{Resp: resp}
	}
	if err != nil {
		writeFailure(w, err)
		return
	}
	var counted struct {
		TotalTokens int `json:"totalTokens"`
	}
	if err := json.Unmarshal(resp.Body, &counted); err != nil {
		writeError(w, http.StatusBadGateway, typeAPI, "Gemini answered countTokens with something that is not a token count.")
		return
	}
	writeJSON(w, struct {
		InputTokens int `json:"input_tokens"`
	}{counted.TotalTokens})
}

func writeJSON(w http.ResponseWriter, v any) {
	if err := translate.WriteJSON(w, v); err != nil {
		writeError(w, http.StatusInternalServerError, typeAPI, "could not encode the answer")
	}
}
