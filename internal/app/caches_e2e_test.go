package app_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/genai"

	"github.com/gemgate/gemgate/internal/fakeupstream"
)

// Issue 21, context caching: a cache created by token A through gemgate works for A whichever key the
// pool would pick next (every later call goes to the key that holds it), is invisible to token B, and
// charges no key when it is missing. Driven through Google's own SDK.
func TestContextCachesBelongToTheirKeyAndToken(t *testing.T) {
	t.Parallel()
	keys := []string{goodKey(0), goodKey(1), goodKey(2)}
	h := newHarness(t, fakeupstream.Config{}, map[string]string{"API_KEYS": strings.Join(keys, ","),
		"ALLOWED_TOKENS": `["` + clientToken + `","` + otherToken + `"]`})
	ctx := context.Background()
	a, b := genaiClient(t, h, clientToken), genaiClient(t, h, otherToken)
	cache, err := a.Caches.Create(ctx, "gemini-2.5-flash", &genai.CreateCachedContentConfig{
		DisplayName: "manual", TTL: 10 * time.Minute,
		Contents: []*genai.Content{genai.NewContentFromText("A long manual, cached once.", genai.RoleUser)}})
	if err != nil || !strings.HasPrefix(cache.Name, "cachedContents/") || cache.ExpireTime.Before(time.Now().Add(9*time.Minute)) {
		t.Fatalf("create: %+v %v", cache, err)
	}
	holder, ok := h.fake.CacheOwner(cache.Name)
	if !ok {
		t.Fatal("the fake holds no such cache")
	}
	// Generate with it, several times: the round robin would move on, the cache's key must not.
	for i := range 4 {
		resp, err := a.Models.GenerateContent(ctx, "gemini-2.5-flash", genai.Text("summarise"), &genai.GenerateContentConfig{CachedContent: cache.Name})
		if err != nil || resp.Text() == "" {
			t.Fatalf("generate %d with the cache: %v", i, err)
		}
		if last, _ := h.fake.LastRequest(); last.Key != holder {
			t.Fatalf("generate %d went to another key than the cache's", i)
		}
	}
	// Get, list, update and delete go to the holder too.
	got, err := a.Caches.Get(ctx, cache.Name, nil)
	if err != nil || got.DisplayName != "manual" {
		t.Fatalf("get: %+v %v", got, err)
	}
	page, err := a.Caches.List(ctx, nil)
	if err != nil || len(page.Items) != 1 || page.Items[0].Name != cache.Name {
		t.Fatalf("A's list: %+v %v", page.Items, err)
	}
	upd, err := a.Caches.Update(ctx, cache.Name, &genai.UpdateCachedContentConfig{TTL: 30 * time.Minute})
	if err != nil || upd.ExpireTime.Before(time.Now().Add(29*time.Minute)) {
		t.Fatalf("update: %+v %v", upd, err)
	}
	// Token B sees nothing of it, and its attempts reach Google not at all.
	before := h.fake.TotalCalls()
	if page, err := b.Caches.List(ctx, nil); err != nil || len(page.Items) != 0 {
		t.Fatalf("B's list: %+v %v", page.Items, err)
	}
	if _, err := b.Caches.Get(ctx, cache.Name, nil); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("B read A's cache: %v", err)
	}
	if _, err := b.Models.GenerateContent(ctx, "gemini-2.5-flash", genai.Text("x"), &genai.GenerateContentConfig{CachedContent: cache.Name}); err == nil {
		t.Fatal("B generated with A's cache")
	}
	if _, err := b.Caches.Delete(ctx, cache.Name, nil); err == nil {
		t.Fatal("B deleted A's cache")
	}
	if n := h.fake.TotalCalls(); n != before {
		t.Fatalf("B's calls on A's cache reached Google: %d", n-before)
	}
	if _, err := a.Caches.Delete(ctx, cache.Name, nil); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, ok := h.fake.CacheOwner(cache.Name); ok {
		t.Fatal("the cache is still at Google")
	}
	// A cache that no longer exists: Google's 403 once, no key charged.
	r := h.do("POST", "/v1beta/models/gemini-2.5-flash:generateContent", map[string]any{"contents": hello("x")["contents"], "cachedContent": cache.Name}, tokenHeader)
	if r.status != http.StatusForbidden && r.status != http.StatusNotFound {
		t.Fatalf("a deleted cache: %d %s", r.status, r.body)
	}
	keysUnblamed(t, h)
}
