package models

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"

	"github.com/gemgate/gemgate/internal/config"
)

// variant is one kind of derived model: the setting naming its bases, the name suffix and the text
// added to the base's displayName (the reference's wording, which clients already show).
type variant struct {
	bases   config.Setting[[]string]
	suffix  string
	display string
}

// variants are in the order the reference lists them after their base.
var variants = []variant{
	{config.SearchModels, SuffixSearch, " For Search"},
	{config.ImageModels, SuffixImage, " For Image"},
	{config.ThinkingModels, SuffixNonThinking, " Non Thinking"},
}

// ID is a model entry's name without its "models/" prefix.
func ID(m map[string]json.RawMessage) string {
	var name string
	_ = json.Unmarshal(m["name"], &name)
	return strings.TrimPrefix(name, "models/")
}

// Derive builds the model list clients see from Google's: FILTERED_MODELS removed, each base's derived
// variants (-search, -image, -non-thinking) right after it, and MODEL_ALIASES at the end. Unlike the
// reference, the native list keeps each variant next to its base too, so both lists read alike.
// Variants of bases Google does not list are left out: calling them would fail.
func Derive(snap *config.Snapshot, upstream []map[string]json.RawMessage) []map[string]json.RawMessage {
	filtered := config.FilteredModels.Get(snap)
	aliases := config.ModelAliases.Get(snap)
	known := make(map[string]bool, len(upstream))
	for _, m := range upstream {
		known[ID(m)] = true
	}
	out := make([]map[string]json.RawMessage, 0, len(upstream)+8)
	for _, m := range upstream {
		id := ID(m)
		if slices.Contains(filtered, id) {
			continue
		}
		if _, shadowed := aliases[id]; !shadowed {
			// An alias of the same name wins when resolving, so the listing shows the alias instead.
			out = append(out, m)
		}
		for _, v := range variants {
			name := id + v.suffix
			if known[name] || !slices.Contains(v.bases.Get(snap), id) {
				continue
			}
			if _, shadowed := aliases[name]; !shadowed {
				out = append(out, relabel(m, name, displayName(m, id)+v.display))
			}
		}
	}
	return append(out, aliasEntries(snap, out)...)
}

// aliasEntries lists MODEL_ALIASES in name order, each a copy of its target's entry when the list has
// one. Aliases the gateway would refuse (a filtered target, a variant that is not offered) are left out.
func aliasEntries(snap *config.Snapshot, listed []map[string]json.RawMessage) []map[string]json.RawMessage {
	aliases := config.ModelAliases.Get(snap)
	byID := make(map[string]map[string]json.RawMessage, len(listed))
	for _, m := range listed {
		byID[ID(m)] = m
	}
	var out []map[string]json.RawMessage
	for _, alias := range slices.Sorted(maps.Keys(aliases)) {
		name := strings.TrimPrefix(alias, "models/")
		if name == "" || Check(snap, Resolve(snap, name)) != nil {
			continue
		}
		target := strings.TrimPrefix(aliases[alias], "models/")
		base := byID[target]
		if base == nil {
			base = map[string]json.RawMessage{}
		}
		out = append(out, relabel(base, name, name+" (alias of "+target+")"))
	}
	return out
}

func displayName(m map[string]json.RawMessage, id string) string {
	var d string
	if json.Unmarshal(m["displayName"], &d) != nil || d == "" {
		return id
	}
	return d
}

// relabel copies m under a new name; description follows displayName as in the reference.
func relabel(m map[string]json.RawMessage, id, display string) map[string]json.RawMessage {
	c := maps.Clone(m)
	c["name"] = jsonString("models/" + id)
	c["displayName"] = jsonString(display)
	c["description"] = jsonString(display)
	return c
}

func jsonString(s string) json.RawMessage {
	b, _ := json.Marshal(s)
	return b
}

// Find returns the entry of a listed model by id (with or without "models/").
func Find(list []map[string]json.RawMessage, id string) (map[string]json.RawMessage, bool) {
	id = strings.TrimPrefix(id, "models/")
	for _, m := range list {
		if ID(m) == id {
			return m, true
		}
	}
	return nil, false
}
