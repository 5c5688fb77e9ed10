package native

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gemgate/gemgate/internal/auth"
	"github.com/gemgate/gemgate/internal/config"
	"github.com/gemgate/gemgate/internal/keypool"
	"github.com/gemgate/gemgate/internal/limits"
	"github.com/gemgate/gemgate/internal/resources"
	"github.com/gemgate/gemgate/internal/rpcstatus"
	"github.com/gemgate/gemgate/internal/upstream"
)

// Context caches live in the Google project of the key that created them: only that key can read,
// change, delete or generate with one. gemgate remembers the key and the client token of every cache
// created through it (internal/resources), sends each later call to that key, and shows a token only its
// own caches. Generate calls naming a cache are bound to its key by the executor, for every API.

// cacheMetaLimit bounds Google's answers about a cache (metadata, not contents).
const cacheMetaLimit = 1 << 20

// cacheTTLFallback is the lifetime recorded when Google's answer has no readable expireTime.
const cacheTTLFallback = time.Hour

type cacheMeta struct {
	Name       string `json:"name"`
	Model      string `json:"model"`
	ExpireTime string `json:"expireTime"`
}

// registerCaches mounts the cachedContents routes under prefix p.
func (h *Handler) registerCaches(mux *http.ServeMux, p string) {
	if h.Resources == nil {
		return
	}
	mux.Handle("POST "+p+"/cachedContents", h.authorized(h.createCache))
	mux.Handle("GET "+p+"/cachedContents", h.authorized(h.listCaches))
	mux.Handle("GET "+p+"/cachedContents/{id}", h.authorized(h.cacheCall))
	mux.Handle("PATCH "+p+"/cachedContents/{id}", h.authorized(h.cacheCall))
	mux.Handle("DELETE "+p+"/cachedContents/{id}", h.authorized(h.cacheCall))
	mux.Handle("GET "+p+"/models/{model}/operations/{id}", h.authorized(h.operationCall))
	mux.Handle("GET "+p+"/batches", h.authorized(h.listBatches))
	mux.Handle("GET "+p+"/batches/{id}", h.authorized(h.batchCall))
	mux.Handle("DELETE "+p+"/batches/{id}", h.authorized(h.batchCall))
	mux.Handle("POST "+p+"/batches/{id}", h.authorized(h.batchCall)) // {id}:cancel
}

// createCache creates a cache on the pool's next key (with the usual retries: nothing exists yet) and
// records who owns it.
func (h *Handler) createCache(w http.ResponseWriter, r *http.Request) {
	snap := h.Settings()
	body, err := limits.ReadBody(w, r, int64(config.MaxRequestBodyMB.Get(snap))<<20)
	if err != nil {
		rpcstatus.Write(w, http.StatusRequestEntityTooLarge, "The request body is larger than MAX_REQUEST_BODY_MB.")
		return
	}
	var req struct {
		Model string `json:"model"`
	}
	if json.Unmarshal(body, &req) != nil || req.Model == "" {
		rpcstatus.Write(w, http.StatusBadRequest, "A cachedContent needs a JSON body naming its model (\"model\": \"models/gemini-2.5-flash\").")
		return
	}
	model := strings.TrimPrefix(req.Model, "models/")
	resp, err := h.Exec.Do(r.Context(), upstream.Call{Path: "cachedContents", Body: body, Model: model, QuotaModel: model})
	if err != nil {
		upstream.WriteError(w, err)
		return
	}
	if resp.StatusCode == http.StatusOK {
		if err := h.rememberCache(r, resp.Body, resp.Key); err != nil {
			// Unrecorded, the cache would be unusable through gemgate: say so rather than hand out a name
			// that no later call can reach. It expires at Google on its own.
			rpcstatus.Write(w, http.StatusServiceUnavailable, "The cache was created but gemgate could not record it (database error); create it again.")
			return
		}
	}
	writeBody(w, resp)
}

// rememberCache records the cache in Google's answer as the caller's, held by key.
func (h *Handler) rememberCache(r *http.Request, answer []byte, key *keypool.Key) error {
	var m cacheMeta
	if err := json.Unmarshal(answer, &m); err != nil || !strings.HasPrefix(m.Name, "cachedContents/") {
		return errors.New("no cache name in Google's answer")
	}
	return h.Resources.Record(r.Context(), resources.Owner{Name: m.Name, KeyID: key.ID(),
		TokenID: auth.CallerID(r.Context()), Expires: expiry(m.ExpireTime)})
}

func expiry(s string) time.Time {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t
	}
	return time.Now().Add(cacheTTLFallback)
}

// ownedResource finds the key of a cache or operation the caller may use, or answers 404 as Google does
// for one that does not exist (another token's is not told apart from a missing one).
func (h *Handler) ownedResource(w http.ResponseWriter, r *http.Request, name string) (*keypool.Key, bool) {
	o, err := h.Resources.Lookup(r.Context(), name)
	switch {
	case errors.Is(err, resources.ErrUnknown):
	case err != nil:
		rpcstatus.Write(w, http.StatusServiceUnavailable, "gemgate could not read its resource records (database error); try again.")
		return nil, false
	case config.FilesUserIsolationEnabled.Get(h.Settings()) && o.TokenID != auth.CallerID(r.Context()):
	default:
		if key, ok := h.Exec.Pool.LookupID(o.KeyID); ok {
			return key, true
		}
		rpcstatus.Write(w, http.StatusNotFound, name+" was created with a Gemini key that gemgate no longer has; create it again.")
		return nil, false
	}
	rpcstatus.Write(w, http.StatusNotFound, "Requested entity was not found: "+name+".")
	return nil, false
}

// cacheCall gets, updates (TTL) or deletes one of the caller's caches, with the key that holds it.
func (h *Handler) cacheCall(w http.ResponseWriter, r *http.Request) {
	name := "cachedContents/" + r.PathValue("id")
	key, ok := h.ownedResource(w, r, name)
	if !ok {
		return
	}
	call := upstream.Call{Method: r.Method, Path: name, Key: key, Query: forwardQuery(r.URL)}
	if r.Method == http.MethodPatch {
		body, err := limits.ReadBody(w, r, cacheMetaLimit)
		if err != nil {
			rpcstatus.Write(w, http.StatusRequestEntityTooLarge, "A cache update is metadata; its body is limited to 1 MiB.")
			return
		}
		call.Body = body
	}
	resp, err := h.Exec.Do(r.Context(), call)
	if err != nil {
		upstream.WriteError(w, err)
		return
	}
	switch {
	case resp.StatusCode == http.StatusOK && r.Method == http.MethodDelete:
		_ = h.Resources.Forget(r.Context(), name)
	case resp.StatusCode == http.StatusOK && r.Method == http.MethodPatch:
		_ = h.rememberCache(r, resp.Body, key) // the new expireTime
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusForbidden:
		_ = h.Resources.Forget(r.Context(), name) // gone at Google (expired or deleted elsewhere)
	}
	writeBody(w, resp)
}

// batchCall gets, cancels ({id}:cancel) or deletes one of the caller's batches, with its key.
func (h *Handler) batchCall(w http.ResponseWriter, r *http.Request) {
	id, cancel := strings.CutSuffix(r.PathValue("id"), ":cancel")
	if r.Method == http.MethodPost && !cancel {
		rpcstatus.Write(w, http.StatusNotFound, "Expected POST .../batches/{id}:cancel.")
		return
	}
	name := "batches/" + id
	key, ok := h.ownedResource(w, r, name)
	if !ok {
		return
	}
	call := upstream.Call{Method: r.Method, Path: r.PathValue("id"), Key: key}
	call.Path = "batches/" + call.Path
	if cancel {
		call.Body = []byte("{}")
	}
	resp, err := h.Exec.Do(r.Context(), call)
	if err != nil {
		upstream.WriteError(w, err)
		return
	}
	switch {
	case resp.StatusCode == http.StatusOK && r.Method == http.MethodDelete:
		_ = h.Resources.Forget(r.Context(), name)
	case resp.StatusCode == http.StatusOK && r.Method == http.MethodGet:
		h.rememberFiles(r, key, batchResultsFile(resp.Body))
	}
	writeBody(w, resp)
}

// listCaches lists the caller's caches.
func (h *Handler) listCaches(w http.ResponseWriter, r *http.Request) {
	h.listOwned(w, r, "cachedContents", "cachedContents")
}

// listBatches lists the caller's batches, as Google does: as operations.
func (h *Handler) listBatches(w http.ResponseWriter, r *http.Request) {
	h.listOwned(w, r, "batches", "operations")
}

// listOwned lists the caller's resources of kind, each read live from Google with its own key, under
// field. pageToken is an offset, as in the Files listing.
func (h *Handler) listOwned(w http.ResponseWriter, r *http.Request, kind, field string) {
	offset, size, err := resources.Page(r.URL.Query(), 50)
	if err != nil {
		rpcstatus.Write(w, http.StatusBadRequest, err.Error())
		return
	}
	recs, err := h.Resources.List(r.Context(), auth.CallerID(r.Context()), kind, offset, size+1)
	if err != nil {
		rpcstatus.Write(w, http.StatusServiceUnavailable, "gemgate could not read its resource records (database error); try again.")
		return
	}
	items := []json.RawMessage{}
	out := map[string]any{}
	if len(recs) > size {
		recs, out["nextPageToken"] = recs[:size], strconv.Itoa(offset+size)
	}
	for _, rec := range recs {
		key, ok := h.Exec.Pool.LookupID(rec.KeyID)
		if !ok {
			continue
		}
		resp, err := h.Exec.Do(r.Context(), upstream.Call{Method: http.MethodGet, Path: rec.Name, Key: key})
		if err != nil || resp.StatusCode != http.StatusOK {
			if err == nil && (resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusForbidden) {
				_ = h.Resources.Forget(r.Context(), rec.Name)
			}
			continue
		}
		items = append(items, json.RawMessage(resp.Body))
	}
	if len(items) > 0 {
		out[field] = items
	}
	writeJSON(w, out)
}
