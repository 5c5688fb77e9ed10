package pace

import (
	"encoding/json"
	"maps"
)

// textPart is a part that is text and nothing else (a thought or answer text).
type textPart struct {
	Text    string `json:"text"`
	Thought bool   `json:"thought,omitempty"`
}

// Cut cuts a Gemini stream event whose single candidate carries only text parts (thoughts and answer
// text) into events of a few characters each, one part per event, as the reference's optimizer did with
// parts[0]; chars is the text's length, for Delay. Only the last piece keeps the finish reason, the
// usage and the grounding, so a client never sees an answer end early, and every other field of the
// event stays as Google sent it. It returns nil when the optimizer is off and for anything else (calls,
// media, code, several candidates), which goes as it came.
func (p Pacer) Cut(event []byte) (pieces [][]byte, chars int) {
	if !p.Enabled {
		return nil, 0
	}
	top, cand, content, parts, ok := textEvent(event)
	if !ok {
		return nil, 0
	}
	var cuts []textPart
	for _, part := range parts {
		for _, c := range p.Pieces(part.Text) {
			cuts = append(cuts, textPart{Text: c, Thought: part.Thought})
		}
		chars += len([]rune(part.Text))
	}
	if len(cuts) < 2 {
		return nil, 0
	}
	pieces = make([][]byte, len(cuts))
	for i, cut := range cuts {
		piece, c := maps.Clone(top), maps.Clone(cand)
		if i < len(cuts)-1 {
			delete(piece, "usageMetadata")
			delete(c, "finishReason")
			delete(c, "groundingMetadata")
		}
		body := maps.Clone(content)
		body["parts"] = mustJSON([]textPart{cut})
		c["content"] = mustJSON(body)
		piece["candidates"] = mustJSON([]map[string]json.RawMessage{c})
		pieces[i] = mustJSON(piece)
	}
	return pieces, chars
}

// textEvent decodes an event with one candidate whose parts are all text parts.
func textEvent(event []byte) (top, cand, content map[string]json.RawMessage, parts []textPart, ok bool) {
	var cands []map[string]json.RawMessage
	if json.Unmarshal(event, &top) != nil || json.Unmarshal(top["candidates"], &cands) != nil || len(cands) != 1 {
		return nil, nil, nil, nil, false
	}
	if json.Unmarshal(cands[0]["content"], &content) != nil {
		return nil, nil, nil, nil, false
	}
	parts, ok = plainText(content["parts"])
	return top, cands[0], content, parts, ok
}

// plainText decodes parts that are all text parts; false if any part holds anything else.
func plainText(raw json.RawMessage) ([]textPart, bool) {
	var parts []map[string]json.RawMessage
	if json.Unmarshal(raw, &parts) != nil || len(parts) == 0 {
		return nil, false
	}
	out := make([]textPart, len(parts))
	for i, p := range parts {
		for k := range p {
			if k != "text" && k != "thought" {
				return nil, false
			}
		}
		if json.Unmarshal(p["text"], &out[i].Text) != nil || (p["thought"] != nil && json.Unmarshal(p["thought"], &out[i].Thought) != nil) {
			return nil, false
		}
	}
	return out, true
}

func mustJSON(v any) json.RawMessage {
	b, _ := json.Marshal(v) // only maps and slices of raw JSON that was just decoded
	return b
}
