package gemini

import (
	"encoding/json"
	"errors"
)

// IsEmptyAnswer reports a generateContent answer with no usable output whose finish reason does not
// explain it: 200 with no candidates' text, function call or media, or thoughts only. gemini-2.5-pro
// does this now and then and users expect a retry. Blocked prompts (promptFeedback) and answers cut by
// SAFETY, MAX_TOKENS, RECITATION and the like are real answers, not empty ones.
func IsEmptyAnswer(body []byte) bool {
	var resp struct {
		Candidates []struct {
			Content struct {
				Parts []answerPart `json:"parts"`
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
			if p.useful {
				return false
			}
		}
	}
	return true
}

// answerPart is one part of a candidate, read for whether it is output. It reads the part's members
// in place: decoding every part into a map cost more than the rest of the check.
type answerPart struct{ useful bool }

func (p *answerPart) UnmarshalJSON(b []byte) error {
	if b[0] == 'n' { // null: a part with nothing in it
		p.useful = false
		return nil
	}
	if b[0] != '{' {
		return errNotObject
	}
	var buf [8]Member
	p.useful = isUseful(Members(b, buf[:0]))
	return nil
}

var errNotObject = errors.New("a part is not a JSON object")

func isUseful(part Object) bool {
	if thought, ok := part.Get("thought"); ok && string(thought) == "true" {
		return false
	}
	if text, ok := part.Get("text"); ok {
		// A JSON string longer than "" holds at least one character; null and other types hold none.
		return len(text) > 2 && text[0] == '"'
	}
	// Function calls, inline or file data, code execution: anything but text is output.
	for _, m := range part {
		if !m.Named("thoughtSignature") && !m.Named("thought") {
			return true
		}
	}
	return false
}
