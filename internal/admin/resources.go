package admin

import (
	"net/http"
	"time"

	"github.com/gemgate/gemgate/internal/keypool"
	"github.com/gemgate/gemgate/internal/resources"
	"github.com/gemgate/gemgate/internal/rpcstatus"
)

// Resources shows what clients created through gemgate and gemgate remembers the owner of (uploaded
// files, context caches, batches, long-running operations, generated files): one Gemini key's, which
// only that key's project can use, or one client token's.
type Resources struct {
	Registry *resources.Registry
	Pool     *keypool.Pool
	Tokens   *Tokens
}

// Register mounts GET /api/resources?key_id=…|token_id=…[&kind=…][&limit=…].
func (rs *Resources) Register(h *Handler) {
	h.Handle("GET /api/resources", rs.list)
}

type resourceView struct {
	Name      string    `json:"name"`
	Kind      string    `json:"kind"`
	KeyID     string    `json:"key_id"`
	Key       string    `json:"key"` // masked
	TokenID   string    `json:"token_id"`
	Token     string    `json:"token"` // the token's name and masked text, when gemgate still has it
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

func (rs *Resources) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := resources.Filter{KeyID: q.Get("key_id"), TokenID: q.Get("token_id"), Kind: q.Get("kind")}
	if f.KeyID == "" && f.TokenID == "" {
		rpcstatus.Write(w, http.StatusBadRequest, "key_id or token_id is required (the ids the key list and the token list show).")
		return
	}
	limit := clampInt(q.Get("limit"), 100, 1, 500)
	found, err := rs.Registry.Find(r.Context(), f, limit)
	if err != nil {
		rpcstatus.Write(w, http.StatusServiceUnavailable, "Could not read the resources: "+err.Error())
		return
	}
	labels := rs.Tokens.labels(r.Context())
	out := make([]resourceView, 0, len(found))
	counts := map[string]int{}
	for _, o := range found {
		v := resourceView{Name: o.Name, Kind: resources.Kind(o.Name), KeyID: o.KeyID, Key: o.KeyID, TokenID: o.TokenID,
			Token: labels[o.TokenID], CreatedAt: o.Created, ExpiresAt: o.Expires}
		if k, ok := rs.Pool.LookupID(o.KeyID); ok {
			v.Key = k.Masked()
		}
		counts[v.Kind]++
		out = append(out, v)
	}
	writeJSON(w, http.StatusOK, map[string]any{"resources": out, "counts": counts, "limit": limit})
}
