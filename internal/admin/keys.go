package admin

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/gemgate/gemgate/internal/config"
	"github.com/gemgate/gemgate/internal/keypool"
	"github.com/gemgate/gemgate/internal/rpcstatus"
	"github.com/gemgate/gemgate/internal/upstream"
)

// verifyConcurrency bounds parallel key checks, so verifying thousands of keys does not look like an
// attack to Google or exhaust local sockets.
const verifyConcurrency = 10

// KeyStore forgets the saved state of deleted keys.
type KeyStore interface {
	DeleteKeyStates(ctx context.Context, keys []string) error
}

// Keys manages the key pool: add, delete, enable, disable, verify, export. Keys are named by ID in
// requests, never by value, so no key travels in a URL or lands in an access log. ?pool=vertex manages
// the Vertex AI Express keys (VERTEX_API_KEYS) the same way.
type Keys struct {
	Settings *config.Manager
	Pool     *keypool.Pool
	Exec     *upstream.Executor
	Store    KeyStore
	Vertex   *KeySet // nil: Gemini keys only
}

// KeySet is one pool of keys the admin API manages: its live pool, the setting that lists it, and the
// executor that verifies its keys (against the pool's own base URL).
type KeySet struct {
	Pool *keypool.Pool
	List config.Setting[[]string]
	Exec *upstream.Executor
	// Vertex keys have no fixed shape (Gemini keys start with AIza): pasted text is split on
	// whitespace and commas instead of searched for Gemini keys.
	Vertex bool
}

// extract finds the keys of this set in pasted text.
func (s KeySet) extract(text string) []string {
	if !s.Vertex {
		return keypool.ExtractKeys(text)
	}
	return strings.FieldsFunc(text, func(r rune) bool {
		return r == ',' || r == ';' || r == '"' || r == '[' || r == ']' || unicode.IsSpace(r)
	})
}

// valid reports a string shaped like a key of this set: a Gemini key (AIzaSy and 33 characters), or
// for Vertex, which has no documented shape, 20 to 200 letters, digits, '.', '_' or '-'.
func (s KeySet) valid(key string) bool {
	if !s.Vertex {
		return keypool.IsGeminiKey(key)
	}
	return len(key) >= 20 && len(key) <= 200 && strings.Trim(key,
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == ""
}

// shape says in words what valid accepts.
func (s KeySet) shape() string {
	if s.Vertex {
		return "Vertex AI Express API keys (20 to 200 letters, digits, '.', '_' or '-')"
	}
	return "Gemini API keys (AIzaSy followed by 33 letters, digits, - or _)"
}

// chooseSet is the Vertex set for ?pool=vertex, else the Gemini one.
func chooseSet(r *http.Request, gemini KeySet, vertex *KeySet) KeySet {
	if vertex != nil && r.URL.Query().Get("pool") == "vertex" {
		return *vertex
	}
	return gemini
}

func (k *Keys) set(r *http.Request) KeySet {
	return chooseSet(r, KeySet{Pool: k.Pool, List: config.APIKeys, Exec: k.Exec}, k.Vertex)
}

// Register mounts the key routes on h.
func (k *Keys) Register(h *Handler) {
	h.Handle("POST /api/keys/add", k.add)
	h.Handle("POST /api/keys/delete", k.delete)
	h.Handle("POST /api/keys/enable", k.enable)
	h.Handle("POST /api/keys/disable", k.disable)
	h.Handle("POST /api/keys/verify", k.verify)
	h.Handle("GET /api/keys/export", k.export)
	h.Handle("POST /api/keys/meta", k.meta)
}

// DisabledByAdmin is the reason of keys an admin took out; the re-check job leaves them alone.
const DisabledByAdmin = "disabled by an admin"

// selection is the body of the bulk calls: key IDs, or all:true for every key.
type selection struct {
	IDs []string `json:"ids"`
	All bool     `json:"all"`
}

func (k *Keys) selected(w http.ResponseWriter, r *http.Request) ([]*keypool.Key, []string, bool) {
	ks := k.set(r)
	var sel selection
	if err := decode(r, &sel); err != nil || (!sel.All && len(sel.IDs) == 0) {
		rpcstatus.Write(w, http.StatusBadRequest, `expected {"ids":["<key id>", ...]} or {"all":true}`)
		return nil, nil, false
	}
	if sel.All {
		return ks.Pool.Keys(), nil, true
	}
	var keys []*keypool.Key
	var unknown []string
	for _, id := range sel.IDs {
		if key, ok := ks.Pool.LookupID(id); ok {
			keys = append(keys, key)
		} else {
			unknown = append(unknown, id)
		}
	}
	return keys, unknown, true
}

// maxKeysPerAdd bounds one add call: each key becomes part of the API_KEYS setting and a pool entry.
const maxKeysPerAdd = 10000

// add takes {"text": "..."}, every Gemini key found in the text, and {"keys": [...]}, a list of keys,
// de-duplicated, joining API_KEYS. A list entry that is not shaped like a Gemini key refuses the whole
// call, naming the entries, so that nothing half-added is left to sort out; keys of another shape (for
// a relay that takes its own) go into API_KEYS on the settings page.
func (k *Keys) add(w http.ResponseWriter, r *http.Request) {
	ks := k.set(r)
	var body struct {
		Text string   `json:"text"`
		Keys []string `json:"keys"`
	}
	if err := decode(r, &body); err != nil {
		rpcstatus.Write(w, http.StatusBadRequest, err.Error())
		return
	}
	found := ks.extract(body.Text)
	var refused []string
	for i, s := range body.Keys {
		switch s = strings.TrimSpace(s); {
		case s == "":
		case ks.valid(s):
			found = append(found, s)
		default:
			refused = append(refused, strconv.Itoa(i))
		}
	}
	if len(refused) > 0 {
		rpcstatus.Write(w, http.StatusBadRequest, fmt.Sprintf(
			"%d of the keys are not %s: entries %s; nothing was added. Keys of another shape can be set in %s on the settings page.",
			len(refused), ks.shape(), listSome(refused, 20), ks.List.Name()))
		return
	}
	if len(found) > maxKeysPerAdd {
		rpcstatus.Write(w, http.StatusBadRequest, fmt.Sprintf(
			"%d keys in one call; at most %d are added per call: send them in parts. Nothing was added.", len(found), maxKeysPerAdd))
		return
	}
	next, added, duplicates := keypool.MergeKeys(ks.List.Get(k.Settings.Current()), found)
	if added > 0 {
		if err := k.Settings.Update(r.Context(), map[string]string{ks.List.Name(): ks.List.Def().Format(next)}); err != nil {
			rpcstatus.Write(w, http.StatusInternalServerError, "could not save the keys: "+err.Error())
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"added": added, "duplicates": duplicates, "found": len(found), "total": len(next)})
}

// listSome joins the first n items, and says how many more there are.
func listSome(items []string, n int) string {
	if len(items) <= n {
		return strings.Join(items, ", ")
	}
	return strings.Join(items[:n], ", ") + fmt.Sprintf(" and %d more", len(items)-n)
}

func (k *Keys) delete(w http.ResponseWriter, r *http.Request) {
	ks := k.set(r)
	keys, unknown, ok := k.selected(w, r)
	if !ok {
		return
	}
	drop := make(map[string]bool, len(keys))
	values := make([]string, 0, len(keys))
	for _, key := range keys {
		drop[key.Value()] = true
		values = append(values, key.Value())
	}
	var next []string
	for _, s := range ks.List.Get(k.Settings.Current()) {
		if !drop[s] {
			next = append(next, s)
		}
	}
	if err := k.Settings.Update(r.Context(), map[string]string{ks.List.Name(): ks.List.Def().Format(next)}); err != nil {
		rpcstatus.Write(w, http.StatusInternalServerError, "could not save the keys: "+err.Error())
		return
	}
	out := map[string]any{"deleted": len(keys), "not_found": unknown, "total": len(next)}
	if err := k.Store.DeleteKeyStates(r.Context(), values); err != nil {
		// The keys are gone from rotation; a leftover state row is harmless and is ignored on load.
		out["warning"] = "the keys' saved state could not be removed: " + err.Error()
	}
	writeJSON(w, http.StatusOK, out)
}

func (k *Keys) enable(w http.ResponseWriter, r *http.Request) {
	ks := k.set(r)
	keys, unknown, ok := k.selected(w, r)
	if !ok {
		return
	}
	for _, key := range keys {
		ks.Pool.Enable(key)
	}
	writeJSON(w, http.StatusOK, map[string]any{"enabled": len(keys), "not_found": unknown})
}

func (k *Keys) disable(w http.ResponseWriter, r *http.Request) {
	ks := k.set(r)
	keys, unknown, ok := k.selected(w, r)
	if !ok {
		return
	}
	for _, key := range keys {
		ks.Pool.Disable(key, DisabledByAdmin)
	}
	writeJSON(w, http.StatusOK, map[string]any{"disabled": len(keys), "not_found": unknown})
}

// meta takes {"ids":[...], "tags":["paid"], "weight":2, "project":"my-project"} and sets them on
// the selected keys.
func (k *Keys) meta(w http.ResponseWriter, r *http.Request) {
	ks := k.set(r)
	var body struct {
		selection
		keypool.Meta
	}
	if err := decode(r, &body); err != nil || (!body.All && len(body.IDs) == 0) {
		rpcstatus.Write(w, http.StatusBadRequest, `expected {"ids":[...] or "all":true, "tags":[...], "weight":N, "project":"..."}`)
		return
	}
	keys := ks.Pool.Keys()
	var unknown []string
	if !body.All {
		keys = nil
		for _, id := range body.IDs {
			if key, ok := ks.Pool.LookupID(id); ok {
				keys = append(keys, key)
			} else {
				unknown = append(unknown, id)
			}
		}
	}
	ks.Pool.SetMeta(keys, body.Meta)
	writeJSON(w, http.StatusOK, map[string]any{"updated": len(keys), "not_found": unknown})
}

// VerifyResult is the outcome of checking one key.
type VerifyResult struct {
	ID     string `json:"id"`
	Key    string `json:"key"`
	Valid  bool   `json:"valid"`
	Status int    `json:"status,omitempty"`
	Error  string `json:"error,omitempty"`
}

// verify checks the selected keys with a one-word prompt to TEST_MODEL; a key that works is enabled
// again, one that fails is classified like any other failure.
func (k *Keys) verify(w http.ResponseWriter, r *http.Request) {
	ks := k.set(r)
	keys, unknown, ok := k.selected(w, r)
	if !ok {
		return
	}
	results := Verify(r.Context(), ks.Exec, ks.Pool, config.TestModel.Get(k.Settings.Current()), keys)
	valid := 0
	for _, res := range results {
		if res.Valid {
			valid++
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"valid": valid, "invalid": len(results) - valid, "results": results, "not_found": unknown})
}

// Verify checks keys concurrently (at most verifyConcurrency at a time) and re-enables the ones that
// answer; the re-check job uses it too.
func Verify(ctx context.Context, exec *upstream.Executor, pool *keypool.Pool, model string, keys []*keypool.Key) []VerifyResult {
	results := make([]VerifyResult, len(keys))
	sem := make(chan struct{}, verifyConcurrency)
	var wg sync.WaitGroup
	body := []byte(`{"contents":[{"role":"user","parts":[{"text":"hi"}]}],"generationConfig":{"maxOutputTokens":8}}`)
	for i, key := range keys {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			cctx, cancel := context.WithTimeout(ctx, 60*time.Second)
			defer cancel()
			res := VerifyResult{ID: key.ID(), Key: key.Masked()}
			resp, err := exec.Do(cctx, upstream.Call{Path: "models/" + model + ":generateContent", Body: body, Model: model, Key: key})
			switch {
			case err != nil:
				res.Status, res.Error = verifyFailure(err, key)
			case resp.StatusCode != http.StatusOK:
				res.Status, res.Error = resp.StatusCode, string(resp.Body)
			default:
				res.Valid, res.Status = true, resp.StatusCode
				pool.Enable(key)
			}
			results[i] = res
		}()
	}
	wg.Wait()
	return results
}

// verifyFailure explains a failed check in Google's words: the status and message of the key's own
// last attempt. The executor's answer to a client (a 502 saying that no key could serve the request)
// is about the gateway, which is not what an admin checking one key wants to read.
func verifyFailure(err error, key *keypool.Key) (int, string) {
	ue, ok := err.(*upstream.Error)
	if !ok {
		return 0, err.Error()
	}
	for i := len(ue.Attempts) - 1; i >= 0; i-- {
		if a := ue.Attempts[i]; a.KeyID == key.ID() && a.Status != 0 {
			return a.Status, a.Error
		}
	}
	return ue.StatusCode, ue.Status.Message
}

// export returns full keys, one per line, for backup or moving to another gateway.
func (k *Keys) export(w http.ResponseWriter, r *http.Request) {
	ks := k.set(r)
	want := r.URL.Query().Get("status")
	var b strings.Builder
	for _, key := range ks.Pool.Keys() {
		if (want == "usable" && key.Disabled()) || (want == "disabled" && !key.Disabled()) {
			continue
		}
		b.WriteString(key.Value())
		b.WriteByte('\n')
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Disposition", `attachment; filename="gemini-keys.txt"`)
	_, _ = w.Write([]byte(b.String()))
}
