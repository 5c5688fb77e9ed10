package app_test

import (
	"encoding/json"
	"testing"

	"github.com/gemgate/gemgate/internal/fakeupstream"
	"github.com/gemgate/gemgate/internal/secret"
	"github.com/gemgate/gemgate/internal/testutil"
)

type keyList struct {
	Total, Usable, Disabled int
	Keys                    []struct {
		ID       string
		Key      string
		Disabled bool
	}
}

// TestVertexKeysManagedLikeGeminiKeys: Vertex Express keys keep their state across restarts, are
// listed, verified, added and enabled through the admin API with ?pool=vertex (the keys page's pool
// switch), without touching the Gemini keys.
func TestVertexKeysManagedLikeGeminiKeys(t *testing.T) {
	t.Parallel()
	h := vertexHarness(t, vertexBad+","+vertexGood)
	if r := h.do("POST", "/vertex-express/v1beta/models/gemini-2.5-flash:generateContent", hello("hi"), tokenHeader); r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	list := func() keyList {
		t.Helper()
		var l keyList
		r := h.do("GET", "/api/keys/status?pool=vertex", nil, adminHeader)
		if err := json.Unmarshal(r.body, &l); err != nil {
			t.Fatalf("%d %s", r.status, r.body)
		}
		return l
	}
	if l := list(); l.Total != 2 || l.Disabled != 1 || l.Keys[0].Key != secret.Mask(vertexBad) || !l.Keys[0].Disabled {
		t.Fatalf("vertex keys: %+v", l)
	}

	// The state outlives a restart (it used to live in memory only).
	h.restart(nil)
	if l := list(); l.Disabled != 1 || !l.Keys[0].Disabled {
		t.Fatalf("after restart: %+v", l)
	}

	// Verify against Vertex's base URL: the good key answers, the bad one does not.
	r := h.do("POST", "/api/keys/verify?pool=vertex", map[string]any{"all": true}, adminHeader)
	var v struct{ Valid, Invalid int }
	if json.Unmarshal(r.body, &v) != nil || v.Valid != 1 || v.Invalid != 1 {
		t.Fatalf("verify: %d %s", r.status, r.body)
	}
	last, _ := h.fake.LastRequest()
	if last.Path != "/v1beta1/publishers/google/models/gemini-2.5-flash-lite:generateContent" {
		t.Fatalf("verification went to %s", last.Path)
	}

	// Add a key by pasting it; enable the bad one by id.
	if r := h.do("POST", "/api/keys/add?pool=vertex", map[string]any{"text": "AQ.vertex-key-three\n"}, adminHeader); r.status != 200 || r.json(t)["added"] != float64(1) {
		t.Fatalf("add: %d %s", r.status, r.body)
	}
	if r := h.do("POST", "/api/keys/enable?pool=vertex", map[string]any{"ids": []string{secret.ID(vertexBad)}}, adminHeader); r.status != 200 {
		t.Fatalf("enable: %d %s", r.status, r.body)
	}
	if l := list(); l.Total != 3 || l.Usable != 3 {
		t.Fatalf("after add and enable: %+v", l)
	}
	cfg := h.do("GET", "/api/config?reveal=1", nil, adminHeader).json(t)
	if len(cfg["VERTEX_API_KEYS"].([]any)) != 3 || len(cfg["API_KEYS"].([]any)) != 2 {
		t.Fatalf("settings: VERTEX_API_KEYS %v, API_KEYS %v", cfg["VERTEX_API_KEYS"], cfg["API_KEYS"])
	}
	if l := h.do("GET", "/api/keys/status", nil, adminHeader); !json.Valid(l.body) || len(l.json(t)["keys"].([]any)) != 2 {
		t.Fatalf("the Gemini list changed: %s", l.body)
	}
}

// TestVertexKeyStateSharedThroughRedis: a Vertex key one instance disables is skipped by the other.
func TestVertexKeyStateSharedThroughRedis(t *testing.T) {
	t.Parallel()
	a := newHarness(t, fakeupstream.Config{KeysByName: true}, withRedis(t, map[string]string{"VERTEX_API_KEYS": vertexBad + "," + vertexGood}))
	if r := a.do("PUT", "/api/config", map[string]any{"VERTEX_EXPRESS_BASE_URL": a.up.URL + "/v1beta1/publishers/google"}, adminHeader); r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	other := a.second().app
	if r := a.do("POST", "/api/keys/disable?pool=vertex", map[string]any{"ids": []string{secret.ID(vertexGood)}}, adminHeader); r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	testutil.Eventually(t, "B to learn the Vertex key is disabled", func() bool {
		k, ok := other.Media.VertexPool.Lookup(vertexGood)
		return ok && k.Disabled()
	})
	if k, _ := other.Pool.Lookup(goodKey(0)); k.Disabled() {
		t.Fatal("a Gemini key was disabled by a Vertex event")
	}
}
