package fakeupstream

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// Context caches, as Google keeps them: each belongs to the project (here: the key) that created it,
// lives until its expireTime, and only that key can read, update, delete or generate with it.

// CacheMeta is a cachedContents resource.
type CacheMeta struct {
	Name          string         `json:"name"`
	Model         string         `json:"model"`
	DisplayName   string         `json:"displayName,omitempty"`
	CreateTime    string         `json:"createTime"`
	UpdateTime    string         `json:"updateTime"`
	ExpireTime    string         `json:"expireTime"`
	UsageMetadata map[string]int `json:"usageMetadata"`
}

type storedCache struct {
	key     string
	expires time.Time
	meta    CacheMeta
}

type cacheStore struct {
	mu     sync.Mutex
	caches map[string]*storedCache
}

const defaultCacheTTL = time.Hour

// collection names the kinds of the routes of one resource collection (/v1beta/{name}[/{id}]), by
// method; kindNone where the collection has no such route.
type collection struct {
	prefix                                   string // e.g. "/v1beta/cachedContents"
	create, list, get, patch, remove, cancel kind   // cancel: POST {id}:cancel
}

// route reads a path of the collection; ok is false for other paths.
func (col collection) route(r *http.Request) (route, bool) {
	rest, ok := strings.CutPrefix(r.URL.Path, col.prefix)
	if !ok {
		return route{}, false
	}
	rt := route{version: "v1beta"}
	if rest == "" {
		rt.kind = col.list
		if r.Method == http.MethodPost {
			rt.kind = col.create
		}
		return rt, true
	}
	id := strings.TrimPrefix(rest, "/")
	if id == "" || strings.Contains(id, "/") || rest[0] != '/' {
		return rt, true
	}
	switch {
	case strings.HasSuffix(id, ":cancel"):
		rt.kind = col.cancel
	case r.Method == http.MethodPatch:
		rt.kind = col.patch
	case r.Method == http.MethodDelete:
		rt.kind = col.remove
	default:
		rt.kind = col.get
	}
	return rt, true
}

var cacheCollection = collection{prefix: "/v1beta/cachedContents", create: kindCacheCreate, list: kindCacheList,
	get: kindCacheGet, patch: kindCachePatch, remove: kindCacheDelete}

func (s *Server) serveCaches(c *call) {
	cs := &s.caches
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.caches == nil {
		cs.caches = map[string]*storedCache{}
	}
	now := time.Now().UTC()
	for name, sc := range cs.caches {
		if now.After(sc.expires) {
			delete(cs.caches, name)
		}
	}
	switch c.rt.kind {
	case kindCacheCreate:
		s.cacheCreate(c, now)
	case kindCacheList:
		var out []CacheMeta
		for _, sc := range cs.caches {
			if sc.key == c.key {
				out = append(out, sc.meta)
			}
		}
		slices.SortFunc(out, func(a, b CacheMeta) int { return strings.Compare(a.CreateTime+a.Name, b.CreateTime+b.Name) })
		writeJSON(c.w, map[string]any{"cachedContents": out})
	default:
		name := strings.TrimPrefix(c.r.URL.Path, "/v1beta/")
		sc := cs.caches[name]
		if sc == nil || sc.key != c.key {
			s.writeError(c, cachedContentDenied())
			return
		}
		switch c.rt.kind {
		case kindCacheDelete:
			delete(cs.caches, name)
			writeRaw(c.w, []byte("{}"))
		case kindCachePatch:
			var req struct {
				TTL        string `json:"ttl"`
				ExpireTime string `json:"expireTime"`
			}
			if json.Unmarshal(c.body, &req) != nil {
				writeErrorBody(c.w, http.StatusBadRequest, bodyBadJSON, false)
				return
			}
			if !setExpiry(sc, req.TTL, req.ExpireTime, now) {
				s.writeError(c, badRequest("* UpdateCachedContentRequest: ttl or expire_time must be in the future."))
				return
			}
			sc.meta.UpdateTime = now.Format(time.RFC3339Nano)
			writeJSON(c.w, sc.meta)
		default:
			writeJSON(c.w, sc.meta)
		}
	}
}

func (s *Server) cacheCreate(c *call, now time.Time) {
	var req struct {
		Model             string    `json:"model"`
		DisplayName       string    `json:"displayName"`
		Contents          []content `json:"contents"`
		SystemInstruction *content  `json:"systemInstruction"`
		TTL               string    `json:"ttl"`
		ExpireTime        string    `json:"expireTime"`
	}
	if json.Unmarshal(c.body, &req) != nil {
		writeErrorBody(c.w, http.StatusBadRequest, bodyBadJSON, false)
		return
	}
	model := strings.TrimPrefix(req.Model, "models/")
	if m := modelByID[model]; m == nil {
		s.writeError(c, modelNotFound("v1beta", model, "createCachedContent"))
		return
	}
	chars := contentsChars(req.Contents)
	if req.SystemInstruction != nil {
		chars += partsChars(req.SystemInstruction.Parts)
	}
	stamp := now.Format(time.RFC3339Nano)
	sc := &storedCache{key: c.key, meta: CacheMeta{Name: "cachedContents/" + strings.ToLower(randomID(12)), Model: "models/" + model,
		DisplayName: req.DisplayName, CreateTime: stamp, UpdateTime: stamp, UsageMetadata: map[string]int{"totalTokenCount": tokens(chars)}}}
	if !setExpiry(sc, req.TTL, req.ExpireTime, now) {
		s.writeError(c, badRequest("* CreateCachedContentRequest: ttl or expire_time must be in the future."))
		return
	}
	s.caches.caches[sc.meta.Name] = sc
	writeJSON(c.w, sc.meta)
}

// setExpiry applies a ttl ("300s") or an expireTime; neither keeps the current one (an hour on create).
func setExpiry(sc *storedCache, ttl, expire string, now time.Time) bool {
	until := sc.expires
	switch {
	case ttl != "":
		d, err := time.ParseDuration(ttl)
		if err != nil || d <= 0 {
			return false
		}
		until = now.Add(d)
	case expire != "":
		t, err := time.Parse(time.RFC3339Nano, expire)
		if err != nil || !t.After(now) {
			return false
		}
		until = t
	case until.IsZero():
		until = now.Add(defaultCacheTTL)
	}
	sc.expires = until.UTC()
	sc.meta.ExpireTime = sc.expires.Format(time.RFC3339Nano)
	return true
}

// cacheUsable reports whether key may generate with the cache named in a request's cachedContent.
func (s *Server) cacheUsable(ref, key string) bool {
	i := strings.Index(ref, "cachedContents/")
	if i < 0 {
		return false
	}
	s.caches.mu.Lock()
	defer s.caches.mu.Unlock()
	sc := s.caches.caches[ref[i:]]
	return sc != nil && sc.key == key && time.Now().Before(sc.expires)
}

// CacheOwner returns the key that created the cache name (cachedContents/<id>).
func (s *Server) CacheOwner(name string) (string, bool) {
	s.caches.mu.Lock()
	defer s.caches.mu.Unlock()
	sc := s.caches.caches[name]
	if sc == nil {
		return "", false
	}
	return sc.key, true
}
