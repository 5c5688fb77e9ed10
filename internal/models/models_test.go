package models

import (
	"testing"

	"github.com/gemgate/gemgate/internal/config"
)

func snapWith(t *testing.T, env map[string]string) *config.Snapshot {
	t.Helper()
	s, err := config.FromEnv(env)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestResolve(t *testing.T) {
	snap := snapWith(t, map[string]string{"MODEL_ALIASES": `{"gpt-4o":"gemini-2.5-pro-search","fast":"models/gemini-2.5-flash-lite"}`})
	cases := []struct {
		in   string
		want Resolved
	}{
		{"gemini-2.5-flash", Resolved{Requested: "gemini-2.5-flash", Real: "gemini-2.5-flash"}},
		{"models/gemini-2.5-pro-search", Resolved{Requested: "gemini-2.5-pro-search", Real: "gemini-2.5-pro", Search: true}},
		{"gemini-2.5-flash-search-non-thinking", Resolved{Requested: "gemini-2.5-flash-search-non-thinking", Real: "gemini-2.5-flash", Search: true, NonThinking: true}},
		{"gemini-2.5-flash-non-thinking-search", Resolved{Requested: "gemini-2.5-flash-non-thinking-search", Real: "gemini-2.5-flash", Search: true, NonThinking: true}},
		{"gemini-2.0-flash-exp-image", Resolved{Requested: "gemini-2.0-flash-exp-image", Real: "gemini-2.0-flash-exp", Image: true}},
		{"gemini-2.5-flash-image", Resolved{Requested: "gemini-2.5-flash-image", Real: "gemini-2.5-flash-image"}},
		{"gpt-4o", Resolved{Requested: "gpt-4o", Real: "gemini-2.5-pro", Search: true}},
		{"fast", Resolved{Requested: "fast", Real: "gemini-2.5-flash-lite"}},
	}
	for _, c := range cases {
		if got := Resolve(snap, c.in); got != c.want {
			t.Errorf("Resolve(%q) = %+v, want %+v", c.in, got, c.want)
		}
	}
}

func TestCheckAndBudget(t *testing.T) {
	snap := snapWith(t, map[string]string{"THINKING_BUDGET_MAP": `{"gemini-2.5-flash": 2048}`})
	if err := Check(snap, Resolve(snap, "gemini-2.5-flash-search")); err != nil {
		t.Fatal(err)
	}
	if Check(snap, Resolve(snap, "gemini-2.0-flash-search")) == nil {
		t.Fatal("search variant of a model outside SEARCH_MODELS accepted")
	}
	if Check(snap, Resolve(snap, "gemini-pro-vision")) == nil || Check(snap, Resolve(snap, "")) == nil {
		t.Fatal("filtered or empty model accepted")
	}
	if b, ok := ThinkingBudget(snap, Resolve(snap, "gemini-2.5-flash-search")); !ok || b != 2048 {
		t.Fatalf("budget by real name: %d %v", b, ok)
	}
	if b, ok := ThinkingBudget(snap, Resolve(snap, "gemini-2.5-pro-non-thinking")); !ok || b != 128 {
		t.Fatalf("pro non-thinking: %d %v", b, ok)
	}
	if b, ok := ThinkingBudget(snap, Resolve(snap, "gemini-2.5-flash-non-thinking")); !ok || b != 0 {
		t.Fatalf("flash non-thinking: %d %v", b, ok)
	}
	if _, ok := ThinkingBudget(snap, Resolve(snap, "gemini-2.0-flash")); ok {
		t.Fatal("budget invented")
	}
}
