package app_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/gemgate/gemgate/internal/fakeupstream"
	"github.com/gemgate/gemgate/internal/secret"
)

// TestGeminiBalanceAdminRoutes: the admin calls Gemini Balance's scripts and pages make answer with
// its shapes, authenticated like every admin route.
func TestGeminiBalanceAdminRoutes(t *testing.T) {
	t.Parallel()
	bad := "AIzaSyBad" + strings.Repeat("0", 26) + "-invalid"
	h := newHarness(t, fakeupstream.Config{}, map[string]string{
		"API_KEYS": goodKey(0) + "," + goodKey(1) + "," + bad, "MAX_FAILURES": "1", "MAX_RETRIES": "0",
	})
	if r := h.do("POST", "/api/keys/disable", map[string]any{"ids": []string{secret.ID(bad)}}, adminHeader); r.status != 200 {
		t.Fatalf("disable: %d %s", r.status, r.body)
	}

	var list struct {
		Status string
		Data   struct {
			Valid   map[string]int `json:"valid_keys"`
			Invalid map[string]int `json:"invalid_keys"`
		}
		Total int
	}
	for _, path := range []string{"/v1/keys/list", "/hf/v1/keys/list"} {
		if r := h.do("GET", path, nil, nil); r.status != 401 {
			t.Fatalf("%s without the admin token: %d", path, r.status)
		}
		r := h.do("GET", path, nil, adminHeader)
		if err := json.Unmarshal(r.body, &list); err != nil || r.status != 200 {
			t.Fatalf("%s: %d %s", path, r.status, r.body)
		}
		if list.Status != "success" || list.Total != 3 || len(list.Data.Valid) != 2 || list.Data.Invalid[bad] != 0 {
			t.Fatalf("%s: %s", path, r.body)
		}
	}

	var page struct {
		Keys        map[string]int `json:"keys"`
		TotalItems  int            `json:"total_items"`
		TotalPages  int            `json:"total_pages"`
		CurrentPage int            `json:"current_page"`
	}
	r := h.do("GET", "/api/keys?page=2&limit=1&status=valid", nil, adminHeader)
	if err := json.Unmarshal(r.body, &page); err != nil || page.TotalItems != 2 || page.TotalPages != 2 || page.CurrentPage != 2 || len(page.Keys) != 1 {
		t.Fatalf("GET /api/keys: %d %s", r.status, r.body)
	}
	page.Keys = nil
	r = h.do("GET", "/api/keys?status=invalid&fail_count_threshold=0&search=BAD", nil, adminHeader)
	if err := json.Unmarshal(r.body, &page); err != nil || page.TotalItems != 1 || len(page.Keys) != 1 {
		t.Fatalf("GET /api/keys filtered: %d %s", r.status, r.body)
	}
	var all struct {
		Valid   []string `json:"valid_keys"`
		Invalid []string `json:"invalid_keys"`
		Total   int      `json:"total_count"`
	}
	if r := h.do("GET", "/api/keys/all", nil, adminHeader); json.Unmarshal(r.body, &all) != nil || all.Total != 3 || len(all.Valid) != 2 || all.Invalid[0] != bad {
		t.Fatalf("GET /api/keys/all: %s", r.body)
	}

	// GET /api/config is GB's flat object; writing it back as read leaves the masked secrets alone.
	r = h.do("GET", "/api/config", nil, adminHeader)
	cfg := r.json(t)
	if cfg["MAX_FAILURES"] != float64(1) || cfg["AUTH_TOKEN"] != secret.Mask(adminToken) {
		t.Fatalf("GET /api/config: %s", r.body)
	}
	cfg["MAX_FAILURES"] = 5
	// The whole object goes back, env-only settings and masked secrets included, as GB's page did.
	if r := h.do("PUT", "/api/config", cfg, adminHeader); r.status != 200 {
		t.Fatalf("PUT back: %d %s", r.status, r.body)
	}
	if r := h.do("GET", "/api/config?reveal=1", nil, adminHeader).json(t); r["AUTH_TOKEN"] != adminToken || r["MAX_FAILURES"] != float64(5) ||
		len(r["API_KEYS"].([]any)) != 3 || r["API_KEYS"].([]any)[0] != goodKey(0) {
		t.Fatalf("the config written back changed secrets: %v", r)
	}
	if r := h.do("GET", "/api/config?detailed=1", nil, adminHeader).json(t); r["settings"] == nil {
		t.Fatalf("detailed view: %v", r)
	}
	// Reset: settings env names take their env value again.
	if r := h.do("POST", "/api/config/reset", nil, adminHeader); r.status != 200 || r.json(t)["MAX_FAILURES"] != float64(1) {
		t.Fatalf("reset: %d %s", r.status, r.body)
	}

	// Key deletion by value.
	if r := h.do("DELETE", "/api/config/keys/"+bad, nil, adminHeader); r.status != 200 || r.json(t)["success"] != true {
		t.Fatalf("DELETE key: %d %s", r.status, r.body)
	}
	if r := h.do("DELETE", "/api/config/keys/"+bad, nil, adminHeader); r.status != 404 {
		t.Fatalf("DELETE missing key: %d %s", r.status, r.body)
	}
	r = h.do("POST", "/api/config/keys/delete-selected", map[string]any{"keys": []string{goodKey(1), "AIzaSyNotThere" + strings.Repeat("x", 25)}}, adminHeader)
	if v := r.json(t); r.status != 200 || v["deleted_count"] != float64(1) || len(v["not_found_keys"].([]any)) != 1 {
		t.Fatalf("delete-selected: %d %s", r.status, r.body)
	}
	if r := h.do("POST", "/api/config/keys/delete-selected", map[string]any{"keys": []string{}}, adminHeader); r.status != 400 {
		t.Fatalf("delete-selected empty: %d", r.status)
	}
	if r := h.do("GET", "/api/config?reveal=1", nil, adminHeader).json(t); len(r["API_KEYS"].([]any)) != 1 {
		t.Fatalf("keys left: %v", r["API_KEYS"])
	}

	// Models for the UI picker, in OpenAI's list shape.
	r = h.do("GET", "/api/config/ui/models", nil, adminHeader)
	if v := r.json(t); r.status != 200 || v["object"] != "list" || len(v["data"].([]any)) == 0 {
		t.Fatalf("ui/models: %d %s", r.status, r.body)
	}

	// Usage by model of one key, by its value.
	h.generate("gemini-2.5-flash", "hi")
	h.flushLogs()
	r = h.do("GET", "/api/key-usage-details/"+goodKey(0), nil, adminHeader)
	if v := r.json(t); r.status != 200 || v["gemini-2.5-flash"] != float64(1) {
		t.Fatalf("key-usage-details: %d %s", r.status, r.body)
	}

	// Proxy check cache, scheduler, version.
	h.do("POST", "/api/config/proxy/check", map[string]any{"proxy": "http://127.0.0.1:1"}, adminHeader)
	if v := h.do("GET", "/api/config/proxy/cache-stats", nil, adminHeader).json(t); v["total_cached"] != float64(1) || v["valid_cached"] != float64(1) {
		t.Fatalf("cache-stats: %v", v)
	}
	if v := h.do("POST", "/api/config/proxy/clear-cache", nil, adminHeader).json(t); v["success"] != true {
		t.Fatalf("clear-cache: %v", v)
	}
	if v := h.do("GET", "/api/config/proxy/cache-stats", nil, adminHeader).json(t); v["total_cached"] != float64(0) {
		t.Fatalf("cache-stats after clear: %v", v)
	}
	if r := h.do("POST", "/api/scheduler/stop", nil, adminHeader); r.status != 200 || !h.app.Jobs.Paused() {
		t.Fatalf("scheduler stop: %d %s", r.status, r.body)
	}
	if r := h.do("POST", "/api/scheduler/start", nil, adminHeader); r.status != 200 || h.app.Jobs.Paused() ||
		!strings.Contains(string(r.body), "started") {
		t.Fatalf("scheduler start: %d %s", r.status, r.body)
	}
	if v := h.do("GET", "/api/version/check", nil, adminHeader).json(t); v["current_version"] != "dev" {
		t.Fatalf("version/check: %v", v)
	}
	if _, ok := h.do("GET", "/api/version/check", nil, adminHeader).json(t)["update_available"]; !ok {
		t.Fatal("version/check without update_available")
	}

	// key-details takes Gemini Balance's key= too.
	r = h.do("GET", "/api/stats/key-details?key="+goodKey(0)+"&period=24h", nil, adminHeader)
	if r.status != 200 || !strings.Contains(string(r.body), "gemini-2.5-flash") {
		t.Fatalf("key-details?key=: %d %s", r.status, r.body)
	}
}
