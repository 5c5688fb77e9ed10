// Package native serves Google's native Gemini API (generateContent, streamGenerateContent, countTokens,
// embedContent, batchEmbedContents, models) through the key pool. Requests pass through faithfully:
// gemgate forwards the client's bytes and adds only what a setting explicitly asks for.
package native

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/gemgate/gemgate/internal/auth"
	"github.com/gemgate/gemgate/internal/config"
	"github.com/gemgate/gemgate/internal/gemini"
	"github.com/gemgate/gemgate/internal/limits"
	"github.com/gemgate/gemgate/internal/models"
	"github.com/gemgate/gemgate/internal/reqlog"
	"github.com/gemgate/gemgate/internal/resources"
	"github.com/gemgate/gemgate/internal/rpcstatus"
	"github.com/gemgate/gemgate/internal/translate"
	"github.com/gemgate/gemgate/internal/upstream"
)

// Prefixes are the path prefixes the native API is served under: Google's own, and the reference's
// /gemini alias (the genai SDKs add /v1beta or /v1 to a base URL ending in /gemini).
var Prefixes = []string{"/v1beta", "/gemini/v1beta", "/gemini/v1"}

// Handler serves the native routes.
type Handler struct {
	Exec     *upstream.Executor
	Settings func() *config.Snapshot
	Models   *gemini.ModelCache
	// Resources remembers who owns the context caches created through gemgate; nil leaves the
	// cachedContents routes unmounted (the Vertex Express handler).
	Resources *resources.Registry
}

// Register mounts the routes under every prefix.
func (h *Handler) Register(mux *http.ServeMux) {
	for _, p := range Prefixes {
		mux.Handle("GET "+p+"/models", h.authorized(h.listModels))
		mux.Handle("GET "+p+"/models/{model}", h.authorized(h.getModel))
		mux.Handle("POST "+p+"/models/{call}", h.authorized(h.modelCall))
		h.registerCaches(mux, p)
		mux.Handle(p+"/", http.HandlerFunc(notFound))
	}
}

// actions are the model methods gemgate serves, with whether they stream.
var actions = map[string]bool{
	"generateContent":        false,
	"streamGenerateContent":  true,
	"countTokens":            false,
	"embedContent":           false,
	"batchEmbedContents":     false,
	"predictLongRunning":     false, // Veo video: answers an operation, polled on the key that started it
	"batchGenerateContent":   false, // Batch Mode: answers a batch, read on the key that holds it
	"asyncBatchEmbedContent": false, // Batch Mode for embeddings: the same kind of batch
}

// startsResource marks the methods whose answer is a resource (an operation or a batch) that lives in
// the project of the key that made it: gemgate records it for the caller, to be read on that key.
var startsResource = map[string]bool{"predictLongRunning": true, "batchGenerateContent": true, "asyncBatchEmbedContent": true}

// authorized serves requests the front door (internal/api) accepted; it never reads credentials.
func (h *Handler) authorized(next http.HandlerFunc) http.Handler {
	return auth.Required(next, func(w http.ResponseWriter) {
		rpcstatus.Write(w, http.StatusUnauthorized, "Missing gemgate token: send one of ALLOWED_TOKENS as ?key=, the x-goog-api-key header or Authorization: Bearer.")
	})
}

// notFound answers unknown paths and wrong methods under the Gemini prefixes in Google's shape.
func notFound(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	if strings.Contains(path, "/models") {
		rpcstatus.Write(w, http.StatusMethodNotAllowed,
			"Method "+r.Method+" is not allowed on "+path+"; model calls are POST .../models/{model}:{method}, listings are GET.")
		return
	}
	rpcstatus.Write(w, http.StatusNotFound, "No such route: "+path)
}

func (h *Handler) modelCall(w http.ResponseWriter, r *http.Request) {
	model, action, ok := strings.Cut(r.PathValue("call"), ":")
	if !ok || model == "" {
		rpcstatus.Write(w, http.StatusNotFound,
			"Expected .../models/{model}:{method}, e.g. models/gemini-2.5-flash:generateContent.")
		return
	}
	stream, known := actions[action]
	if !known {
		rpcstatus.Write(w, http.StatusNotFound, "Unknown method "+action+" on models/"+model+".")
		return
	}
	snap := h.Settings()
	res := models.Resolve(snap, model)
	if err := models.Check(snap, res); err != nil {
		rpcstatus.Write(w, checkStatus(snap, res), err.Error()+".")
		return
	}
	body, err := readBody(w, r, snap)
	if err != nil {
		return
	}
	body, err = prepare(snap, res, action, body)
	if err != nil {
		rpcstatus.Write(w, http.StatusBadRequest, err.Error())
		return
	}
	target := model
	if res.Real != res.Requested {
		target = res.Real
	}
	call := upstream.Call{
		Path:   "models/" + target + ":" + action,
		Query:  forwardQuery(r.URL),
		Body:   body,
		Stream: stream,
		Model:  model,
	}
	if action == "generateContent" {
		call.Empty = gemini.EmptyAnswer
	}
	sources := res.Search && config.ShowSearchLink.Get(snap)
	if st := translate.StreamSettingsOf(snap); stream && call.Query.Get("alt") == "sse" && (st.Fake || st.Pace.Enabled || sources) {
		streamEdited(w, r, h.Exec, call, st, sources)
		return
	}
	resp, err := h.Exec.Do(r.Context(), call)
	if err != nil {
		upstream.WriteError(w, err)
		return
	}
	if resp.Stream != nil {
		relayStream(w, r, resp)
		return
	}
	if resp.StatusCode == http.StatusOK && startsResource[action] && h.Resources != nil {
		if err := h.rememberOperation(r, resp.Body, resp.Key); err != nil {
			rpcstatus.Write(w, http.StatusServiceUnavailable, "The operation was started but gemgate could not record it (database error); start it again.")
			return
		}
	}
	if resp.StatusCode == http.StatusOK && action == "generateContent" {
		recordUsage(r, resp)
		if sources {
			resp.Body = withSources(resp.Body)
		}
	}
	writeBody(w, resp)
}

// checkStatus is 404 for a model hidden by FILTERED_MODELS (as if it did not exist, like the model
// list) and 400 for a variant that is not offered (the reference's answer).
func checkStatus(snap *config.Snapshot, res models.Resolved) int {
	if slices.Contains(config.FilteredModels.Get(snap), res.Real) {
		return http.StatusNotFound
	}
	return http.StatusBadRequest
}

// readBody reads the request body up to MAX_REQUEST_BODY_MB and checks it is JSON. It writes the error
// itself, in Google's shape.
func readBody(w http.ResponseWriter, r *http.Request, snap *config.Snapshot) ([]byte, error) {
	limit := int64(config.MaxRequestBodyMB.Get(snap)) << 20
	body, err := limits.ReadBody(w, r, limit)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			rpcstatus.Write(w, http.StatusRequestEntityTooLarge,
				"Request body is larger than MAX_REQUEST_BODY_MB.")
		} else {
			rpcstatus.Write(w, http.StatusBadRequest, "Could not read the request body: "+err.Error())
		}
		return nil, err
	}
	return body, nil
}

// forwardQuery keeps every query parameter except the client's token. The values are the call's to
// read: a stream's usual ?alt=sse is one map shared by every call (streamEdited clones it to edit it).
func forwardQuery(u *url.URL) url.Values {
	switch u.RawQuery {
	case "":
		return nil // most calls have none: no map to parse it into
	case "alt=sse":
		return sseQuery
	}
	q := u.Query()
	if len(q) == 0 {
		return nil
	}
	q.Del("key")
	return q
}

var sseQuery = url.Values{"alt": {"sse"}}

// recordUsage hands the answer's token counts to the request log (only when the request is logged,
// so nothing is parsed otherwise).
func recordUsage(r *http.Request, resp *upstream.Response) {
	if reqlog.From(r.Context()) == nil {
		return
	}
	usageOf := gemini.UsageOf
	if resp.ValidJSON {
		usageOf = gemini.UsageOfValid // the executor validated it
	}
	if u, ok := usageOf(resp.Body); ok {
		reqlog.SetUsage(r.Context(), u)
	}
}

var jsonContentType = []string{"application/json; charset=UTF-8"}

func writeBody(w http.ResponseWriter, resp *upstream.Response) {
	// Upstream's value is passed on as the slice it came in (Header.Set would allocate one per answer).
	ct := resp.Header["Content-Type"]
	if len(ct) == 0 || ct[0] == "" {
		ct = jsonContentType
	} else if len(ct) > 1 {
		ct = ct[:1:1]
	}
	w.Header()["Content-Type"] = ct
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(resp.Body)
}
