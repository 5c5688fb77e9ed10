package app_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/gemgate/gemgate/internal/fakeupstream"
)

// TestModelListsFollowTheTokensAllowList: a token allowed one model lists that model (and its
// variants) on every API, not fifteen it would get 404 for; other tokens still see everything.
func TestModelListsFollowTheTokensAllowList(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeupstream.Config{}, map[string]string{"SEARCH_MODELS": `["gemini-2.5-flash"]`})
	one := h.createToken(map[string]any{"name": "one-model", "models": []string{"gemini-2.5-flash"}})

	ids := func(path string, header map[string]string) []string {
		t.Helper()
		r := h.do("GET", path, nil, header)
		if r.status != 200 {
			t.Fatalf("%s: %d %s", path, r.status, r.body)
		}
		var v struct {
			Models []struct{ Name string }
			Data   []struct{ ID string }
		}
		if err := json.Unmarshal(r.body, &v); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		var out []string
		for _, m := range v.Models {
			out = append(out, strings.TrimPrefix(m.Name, "models/"))
		}
		for _, m := range v.Data {
			out = append(out, strings.TrimPrefix(m.ID, "models/"))
		}
		return out
	}
	for _, c := range []struct {
		path   string
		header map[string]string
	}{
		{"/v1beta/models", nativeAs(one.Token)},
		{"/gemini/v1beta/models", nativeAs(one.Token)},
		{"/vertex-express/v1beta/models", nativeAs(one.Token)},
		{"/v1/models", openAIAs(one.Token)},
		{"/hf/v1/models", openAIAs(one.Token)},
		{"/openai/v1/models", openAIAs(one.Token)},
		{"/anthropic/v1/models", map[string]string{"x-api-key": one.Token, "anthropic-version": "2023-06-01"}},
	} {
		got := ids(c.path, c.header)
		if len(got) == 0 {
			t.Errorf("%s: empty list for a token allowed gemini-2.5-flash", c.path)
		}
		for _, id := range got {
			// claude-sonnet is served by gemini-2.5-flash (ANTHROPIC_MODEL_MAP), so the token may call it.
			if id != "gemini-2.5-flash" && id != "gemini-2.5-flash-search" && id != "claude-sonnet" {
				t.Errorf("%s lists %s to a token allowed only gemini-2.5-flash: %v", c.path, id, got)
				break
			}
		}
	}
	if all := ids("/v1/models", openAIAs(clientToken)); len(all) < 5 {
		t.Errorf("an unlimited token sees %d models", len(all))
	}
	if r := h.do("POST", "/anthropic/v1/messages", map[string]any{"model": "claude-sonnet", "max_tokens": 10,
		"messages": []any{map[string]any{"role": "user", "content": "hi"}}}, map[string]string{"x-api-key": one.Token, "anthropic-version": "2023-06-01"}); r.status != 200 {
		t.Errorf("claude-sonnet, listed, is not callable: %d %s", r.status, r.body)
	}
	// Single-model lookups agree with the lists.
	if r := h.do("GET", "/v1beta/models/gemini-2.5-pro", nil, nativeAs(one.Token)); r.status != 404 {
		t.Errorf("native get of a model off the list: %d", r.status)
	}
	if r := h.do("GET", "/v1/models/gemini-2.5-pro", nil, openAIAs(one.Token)); r.status != 404 {
		t.Errorf("openai get of a model off the list: %d", r.status)
	}
	if r := h.do("GET", "/v1/models/gemini-2.5-flash", nil, openAIAs(one.Token)); r.status != 200 {
		t.Errorf("openai get of the allowed model: %d %s", r.status, r.body)
	}
}
