package upstream

import (
	"encoding/json"
	"unicode/utf8"
)

// inlineTokens is what Google charges for one inline image or media part in the smallest case; the
// estimate only needs a floor.
const inlineTokens = 258

// promptTokens is a low estimate of a generate request's input tokens: a quarter of the bytes of its
// text (English runs about four characters a token, CJK about one token a character, i.e. three
// bytes), plus a floor for each inline part. It errs low on purpose: a request judged too large for a
// per-minute quota is refused without cooling any key, so only a request that surely is gets that.
func promptTokens(body []byte) int {
	type part struct {
		Text       string `json:"text"`
		InlineData *struct {
			Data string `json:"data"`
		} `json:"inlineData"`
		InlineSnake *struct {
			Data string `json:"data"`
		} `json:"inline_data"`
	}
	type content struct {
		Parts []part `json:"parts"`
	}
	var req struct {
		Contents          []content `json:"contents"`
		SystemInstruction *content  `json:"systemInstruction"`
		SystemSnake       *content  `json:"system_instruction"`
	}
	if json.Unmarshal(body, &req) != nil {
		return 0
	}
	all := req.Contents
	for _, si := range []*content{req.SystemInstruction, req.SystemSnake} {
		if si != nil {
			all = append(all, *si)
		}
	}
	textBytes, inline := 0, 0
	for _, c := range all {
		for _, p := range c.Parts {
			if utf8.ValidString(p.Text) {
				textBytes += len(p.Text)
			}
			if p.InlineData != nil || p.InlineSnake != nil {
				inline++
			}
		}
	}
	return textBytes/4 + inline*inlineTokens
}
