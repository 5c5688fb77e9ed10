package models

import (
	"encoding/json"

	"github.com/gemgate/gemgate/internal/config"
)

// Allowed keeps the entries of a (derived) model list that allow accepts, by the entry's name or the
// model it resolves to, the names a call is admitted by; so a token allowed one model lists that model
// (and its variants) on every API, instead of models it would get 404 for. A nil allow keeps all.
func Allowed(snap *config.Snapshot, list []map[string]json.RawMessage, allow func(names ...string) bool) []map[string]json.RawMessage {
	if allow == nil {
		return list
	}
	out := make([]map[string]json.RawMessage, 0, len(list))
	for _, m := range list {
		if id := ID(m); Listed(snap, id, allow) {
			out = append(out, m)
		}
	}
	return out
}

// Listed reports whether allow accepts the model id by its own name or the model it resolves to.
func Listed(snap *config.Snapshot, id string, allow func(names ...string) bool) bool {
	return allow == nil || allow(id, Resolve(snap, id).Real)
}
