package gemini

import "encoding/json"

// IsEmptyAnswer reports a generateContent answer with no usable output whose finish reason does not
// explain it: 200 with no candidates' text, function call or media, or thoughts only. gemini-2.5-pro
// does this now and then and users expect a retry. Blocked prompts (promptFeedback) and answers cut by
// SAFETY, MAX_TOKENS, RECITATION and the like are real answers, not empty ones.
func IsEmptyAnswer(body []byte) bool {
	var resp struct {
		Candidates []struct {
			Content struct {
				Parts []map[string]json.RawMessage `json:"parts"`
			} `json:"content"`
			FinishReason string `json:"finishReason"`
		} `json:"candidates"`
		PromptFeedback *struct {
			BlockReason string `json:"blockReason"`
		} `json:"promptFeedback"`
	}
	if json.Unmarshal(body, &resp) != nil {
		return false
	}
	if resp.PromptFeedback != nil && resp.PromptFeedback.BlockReason != "" {
		return false
	}
	if len(resp.Candidates) == 0 {
		return true
	}
	for _, c := range resp.Candidates {
		if c.FinishReason != "" && c.FinishReason != "STOP" {
			return false
		}
		for _, p := range c.Content.Parts {
			if isUseful(p) {
				return false
			}
		}
	}
	return true
}

func isUseful(p map[string]json.RawMessage) bool {
	if thought, ok := p["thought"]; ok && string(thought) == "true" {
		return false
	}
	if text, ok := p["text"]; ok {
		var s string
		return json.Unmarshal(text, &s) == nil && s != ""
	}
	// Function calls, inline or file data, code execution: anything but text is output.
	for k := range p {
		if k != "thoughtSignature" && k != "thought" {
			return true
		}
	}
	return false
}
