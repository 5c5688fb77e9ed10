package models

import (
	"encoding/json"
	"slices"
	"testing"
)

func entry(id, display string) map[string]json.RawMessage {
	return map[string]json.RawMessage{
		"name":            jsonString("models/" + id),
		"displayName":     jsonString(display),
		"description":     jsonString("upstream description"),
		"inputTokenLimit": json.RawMessage(`1048576`),
	}
}

func str(t *testing.T, m map[string]json.RawMessage, k string) string {
	t.Helper()
	var s string
	if err := json.Unmarshal(m[k], &s); err != nil {
		t.Fatalf("%s: %v", k, err)
	}
	return s
}

func TestDerive(t *testing.T) {
	snap := snapWith(t, map[string]string{
		"IMAGE_MODELS":    `["gemini-2.0-flash-exp","gemini-2.5-flash","gemini-2.5-flash-image-preview"]`,
		"THINKING_MODELS": `["gemini-2.5-flash"]`,
		"MODEL_ALIASES": `{"gpt-4o":"gemini-2.5-pro-search","ghost":"models/gemini-9","hidden":"gemini-1.0-pro-vision-latest",` +
			`"nosearch":"gemini-2.0-flash-search","gemini-2.5-pro":"gemini-2.5-flash"}`,
	})
	upstream := []map[string]json.RawMessage{
		entry("gemini-2.5-flash", "Gemini 2.5 Flash"),
		entry("gemini-1.0-pro-vision-latest", "Gemini 1.0 Pro Vision"),
		entry("gemini-2.5-pro", "Gemini 2.5 Pro"),
		entry("gemini-2.0-flash-exp", "Gemini 2.0 Flash Experimental"),
		entry("gemini-2.5-flash-image", "Nano Banana"),
	}
	out := Derive(snap, upstream)
	var ids []string
	for _, m := range out {
		ids = append(ids, ID(m))
	}
	want := []string{
		"gemini-2.5-flash", "gemini-2.5-flash-search", "gemini-2.5-flash-non-thinking",
		// gemini-2.5-pro is shadowed by the alias of the same name, but its variant stays.
		"gemini-2.5-pro-search",
		"gemini-2.0-flash-exp", "gemini-2.0-flash-exp-image",
		// gemini-2.5-flash-image is a real model: not listed twice.
		"gemini-2.5-flash-image",
		"gemini-2.5-pro", "ghost", "gpt-4o",
	}
	if !slices.Equal(ids, want) {
		t.Fatalf("ids\n got %v\nwant %v", ids, want)
	}

	search, _ := Find(out, "models/gemini-2.5-flash-search")
	if d := str(t, search, "displayName"); d != "Gemini 2.5 Flash For Search" || str(t, search, "description") != d {
		t.Fatalf("search variant labels: %v", d)
	}
	if string(search["inputTokenLimit"]) != "1048576" {
		t.Fatal("variant did not copy its base's fields")
	}
	if nt, _ := Find(out, "gemini-2.5-flash-non-thinking"); str(t, nt, "displayName") != "Gemini 2.5 Flash Non Thinking" {
		t.Fatal("non-thinking label")
	}
	if img, _ := Find(out, "gemini-2.0-flash-exp-image"); str(t, img, "displayName") != "Gemini 2.0 Flash Experimental For Image" {
		t.Fatal("image label")
	}
	alias, _ := Find(out, "gpt-4o")
	if str(t, alias, "displayName") != "gpt-4o (alias of gemini-2.5-pro-search)" || string(alias["inputTokenLimit"]) != "1048576" {
		t.Fatalf("alias of a variant: %v", alias)
	}
	ghost, _ := Find(out, "ghost")
	if str(t, ghost, "name") != "models/ghost" || len(ghost) != 3 {
		t.Fatalf("alias of an unlisted model: %v", ghost)
	}
	if str(t, upstream[0], "name") != "models/gemini-2.5-flash" || str(t, upstream[0], "description") != "upstream description" {
		t.Fatal("Derive changed the cached upstream entries")
	}
	if _, ok := Find(out, "gemini-1.0-pro-vision-latest"); ok {
		t.Fatal("filtered model listed")
	}
}

func TestDeriveDefaults(t *testing.T) {
	snap := snapWith(t, nil)
	out := Derive(snap, []map[string]json.RawMessage{entry("gemini-2.5-pro", "Gemini 2.5 Pro"), entry("embedding-gecko-001", "Gecko")})
	if len(out) != 2 || ID(out[1]) != "gemini-2.5-pro-search" {
		t.Fatalf("defaults: %v", out)
	}
	if len(Derive(snap, nil)) != 0 {
		t.Fatal("empty upstream list")
	}
}
