package openai

import (
	"encoding/json"
	"reflect"

	"github.com/gemgate/gemgate/internal/gemini"
	"github.com/gemgate/gemgate/internal/translate"
)

var (
	responsesRequestFields = translate.JSONFields(reflect.TypeFor[responsesRequest]())
	// responsesRefused are members the scan refuses, looked for before it starts.
	responsesRefused = translate.QuotedNames("conversation")
)

// scanResponsesRequest reads the usual Responses request in place, as scanChatRequest does the chat
// one: model, input (raw: shortMessages or the decoder reads it next), instructions, stream, store,
// previous_response_id, tool_choice and the sampling numbers; tools, reasoning and include are handed to
// the decoder alone (Codex sends tools with every request: decoding the whole body for them copied the
// input, which the input's own reading then parsed again). Text, conversation, a null, a repeated,
// escaped or differently cased name, or a number that is not a plain integer where an integer goes
// give ok=false: the decoder reads the body as before.
// FuzzScanResponsesRequest checks it against json.Unmarshal.
// It fills req, which holds a part of the request when ok is false.
func scanResponsesRequest(body []byte, req *responsesRequest, sc *translate.Scalars) bool {
	if translate.Mentions(body, responsesRefused) || !gemini.IsObject(body) {
		return false
	}
	return translate.ScanMembers(body, responsesRequestFields, func(i int, v []byte) bool {
		ok := true
		switch responsesRequestFields[i] {
		case "model":
			req.Model, ok = translate.ScanModel(v)
		case "input":
			req.Input, ok = translate.ScanRaw(v)
		case "instructions":
			req.Instructions, ok = translate.ScanString(v)
		case "previous_response_id":
			req.PreviousResponseID, ok = translate.ScanString(v)
		case "stream":
			req.Stream, ok = translate.ScanBool(v)
		case "store":
			req.Store, ok = sc.Bool(v)
		case "max_output_tokens":
			req.MaxOutputTokens, ok = sc.Int(v)
		case "temperature":
			req.Temperature, ok = sc.Float(v)
		case "top_p":
			req.TopP, ok = sc.Float(v)
		case "tool_choice":
			req.ToolChoice, ok = translate.ScanRaw(v)
		case "tools":
			ok = json.Unmarshal(v, &req.Tools) == nil
		case "reasoning":
			ok = json.Unmarshal(v, &req.Reasoning) == nil
		case "include":
			ok = json.Unmarshal(v, &req.Include) == nil
		default:
			ok = false
		}
		return ok
	})
}
