package app_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"google.golang.org/genai"

	"github.com/gemgate/gemgate/internal/fakeupstream"
	"github.com/gemgate/gemgate/internal/secret"
)

type resourceList struct {
	Resources []struct {
		Name    string `json:"name"`
		Kind    string `json:"kind"`
		KeyID   string `json:"key_id"`
		Key     string `json:"key"`
		TokenID string `json:"token_id"`
		Token   string `json:"token"`
	} `json:"resources"`
	Counts map[string]int `json:"counts"`
}

// resourcesFixture has token A create a context cache and upload a file through gemgate; it returns
// the Gemini key holding the cache and the names of both.
func resourcesFixture(t *testing.T, h *harness) (cacheKey, cache, file string) {
	t.Helper()
	ctx := context.Background()
	a := genaiClient(t, h, clientToken)
	c, err := a.Caches.Create(ctx, "gemini-2.5-flash", &genai.CreateCachedContentConfig{TTL: 10 * time.Minute,
		Contents: []*genai.Content{genai.NewContentFromText("A long manual, cached once.", genai.RoleUser)}})
	if err != nil {
		t.Fatal(err)
	}
	cacheKey, _ = h.fake.CacheOwner(c.Name)
	f, err := a.Files.Upload(ctx, strings.NewReader("A's notes"), &genai.UploadFileConfig{MIMEType: "text/plain"})
	if err != nil {
		t.Fatal(err)
	}
	return cacheKey, c.Name, f.Name
}

// Issue 21, admin: what each key's project holds for which client token, and what each token created
// on which key, read by the admin (never by a client token), with keys and tokens masked.
func TestResourcesPerKeyAndPerToken(t *testing.T) {
	keys := []string{goodKey(0), goodKey(1), goodKey(2)}
	h := newHarness(t, fakeupstream.Config{}, map[string]string{"API_KEYS": strings.Join(keys, ","),
		"ALLOWED_TOKENS": `["` + clientToken + `","` + otherToken + `"]`})
	cacheKey, cache, file := resourcesFixture(t, h)
	fileKey, _ := h.fake.FileOwner(file)
	list := func(query string) resourceList {
		t.Helper()
		r := h.do("GET", "/api/resources?"+query, nil, adminHeader)
		if r.status != http.StatusOK {
			t.Fatalf("%s: %d %s", query, r.status, r.body)
		}
		for _, s := range append(keys, clientToken, otherToken) {
			if strings.Contains(string(r.body), s) {
				t.Fatalf("%s: a key or token in full: %s", query, r.body)
			}
		}
		var out resourceList
		if err := json.Unmarshal(r.body, &out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	byKey := list("key_id=" + secret.ID(cacheKey))
	found := false
	for _, res := range byKey.Resources {
		if res.Name == cache {
			found = res.Kind == "cachedContents" && res.TokenID == secret.ID(clientToken) &&
				strings.HasPrefix(res.Token, "ALLOWED_TOKENS #1 (") && res.Key == secret.Mask(cacheKey)
		}
		if res.KeyID != secret.ID(cacheKey) {
			t.Fatalf("another key's resource in the key's list: %+v", res)
		}
	}
	if !found {
		t.Fatalf("the cache is not in its key's list: %+v", byKey)
	}
	byToken := list("token_id=" + secret.ID(clientToken))
	names := map[string]string{}
	for _, res := range byToken.Resources {
		names[res.Name] = res.KeyID
	}
	if names[cache] != secret.ID(cacheKey) || names[file] != secret.ID(fileKey) || byToken.Counts["files"] != 1 || byToken.Counts["cachedContents"] != 1 {
		t.Fatalf("A's resources: %+v", byToken)
	}
	if other := list("token_id=" + secret.ID(otherToken)); len(other.Resources) != 0 {
		t.Fatalf("B created nothing: %+v", other)
	}
	if only := list("token_id=" + secret.ID(clientToken) + "&kind=files"); len(only.Resources) != 1 || only.Resources[0].Name != file {
		t.Fatalf("A's files: %+v", only)
	}
	if r := h.do("GET", "/api/resources", nil, adminHeader); r.status != http.StatusBadRequest {
		t.Fatalf("no filter: %d", r.status)
	}
	if r := h.do("GET", "/api/resources?token_id="+secret.ID(clientToken), nil, tokenHeader); r.status != http.StatusUnauthorized {
		t.Fatalf("a client token read the admin's list: %d", r.status)
	}
}

// The key details in the panel list what the key's project holds and for which token.
func TestPanelKeyDetailsShowResources(t *testing.T) {
	ctx, ev := newBrowser(t)
	h := newHarness(t, fakeupstream.Config{}, map[string]string{"API_KEYS": goodKey(0), "ALLOWED_TOKENS": `["` + clientToken + `"]`})
	_, cache, file := resourcesFixture(t, h)
	b := &browserRun{t: t, ctx: ctx, ev: ev, dir: screenshots(t), base: h.srv.URL}
	b.login()
	b.wait("the key row", `document.querySelectorAll('#keys-body tr[data-id]').length === 1`)
	b.run("open the key details", b.js(`[...document.querySelectorAll('#keys-body tr[data-id] .row-actions button')].find(x => x.textContent === 'Details').click()`))
	b.wait("the key's resources", `(() => { const cells = [...document.querySelectorAll('dialog td')].map(td => td.textContent);
		return cells.includes('`+cache+`') && cells.includes('`+file+`') && cells.includes('Context cache') && cells.some(c => c.startsWith('ALLOWED_TOKENS #1')); })()`)
	b.run("scroll to them", b.js(`[...document.querySelectorAll('dialog h2')].pop().scrollIntoView()`))
	b.shotScreen("11-key-resources")
	b.run("close", chromedp.Click(chromedp.CSS(`dialog .dialog-head button`)))
	if exceptions, _ := ev.snapshot(); len(exceptions) > 0 {
		t.Fatalf("script errors: %q", exceptions)
	}
}
