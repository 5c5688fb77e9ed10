package native

import (
	"encoding/json"

	"github.com/gemgate/gemgate/internal/gemini"
)

// withSources appends each candidate's search sources as one more text part (SHOW_SEARCH_LINK on a
// -search model); every other part and field reaches the client as Google sent it. An answer without
// grounding, or one that is not what it should be, is returned untouched.
func withSources(body []byte) []byte {
	var top map[string]json.RawMessage
	if json.Unmarshal(body, &top) != nil {
		return body
	}
	var cands []map[string]json.RawMessage
	if json.Unmarshal(top["candidates"], &cands) != nil || len(cands) == 0 {
		return body
	}
	changed := false
	for _, c := range cands {
		var gm gemini.GroundingMetadata
		if json.Unmarshal(c["groundingMetadata"], &gm) != nil {
			continue
		}
		text := gemini.SearchSources(&gm)
		if text == "" {
			continue
		}
		var content map[string]json.RawMessage
		if json.Unmarshal(c["content"], &content) != nil {
			continue
		}
		var parts []json.RawMessage
		if json.Unmarshal(content["parts"], &parts) != nil {
			continue
		}
		part, _ := json.Marshal(map[string]string{"text": text})
		content = setRaw(content, "parts", mustJSON(append(parts, part)))
		if _, ok := content["role"]; !ok {
			content["role"] = json.RawMessage(`"model"`)
		}
		c["content"] = mustJSON(content)
		changed = true
	}
	if !changed {
		return body
	}
	out, err := replaceValues(body, map[string]json.RawMessage{"candidates": mustJSON(cands)})
	if err != nil {
		return body
	}
	return out
}

func mustJSON(v any) json.RawMessage {
	b, _ := json.Marshal(v) // only maps and slices of raw JSON that was just decoded
	return b
}
