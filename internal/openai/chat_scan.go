package openai

import (
	"reflect"

	"github.com/gemgate/gemgate/internal/gemini"
	"github.com/gemgate/gemgate/internal/translate"
)

// The fields the scans below read, from the types themselves.
var (
	chatRequestFields = translate.JSONFields(reflect.TypeFor[chatRequest]())
	chatMessageFields = translate.JSONFields(reflect.TypeFor[chatMessage]())
)

// scanChatRequest reads the usual chat request in place: messages whose content is a string (or
// another JSON value, kept raw as the decoder keeps it), and scalar options. json.Unmarshal into
// chatRequest spends a dozen allocations and most of the request's decoding time on reflection for
// that shape. Anything else (tools, response_format, stream_options, extra_body, tool calls, a null,
// a repeated or escaped name, a name in another case, a number that is not a plain integer where an
// integer goes) gives ok=false, and the decoder reads the body as before: FuzzScanChatRequest checks
// that where the scan answers, the decoder gives the same request.
func scanChatRequest(body []byte) (*chatRequest, bool) {
	if translate.Mentions(body, chatRefused) || !gemini.IsObject(body) {
		return nil, false
	}
	sc := &scannedChat{}
	ok := translate.ScanMembers(body, chatRequestFields, func(i int, v []byte) bool {
		return scanChatOption(&sc.req, &sc.scalars, chatRequestFields[i], v)
	})
	return &sc.req, ok
}

// chatRefused are members the scan refuses, looked for before it starts.
var chatRefused = translate.QuotedNames("tools", "tool_calls", "functions", "function_call", "response_format", "stream_options", "extra_body")

// scannedChat is a scanned request with the values its optional fields point to, one allocation.
type scannedChat struct {
	req     chatRequest
	scalars translate.Scalars
}

// scanChatOption reads one member of the request into req.
func scanChatOption(req *chatRequest, sc *translate.Scalars, name string, v []byte) bool {
	ok := true
	switch name {
	case "model":
		req.Model, ok = translate.ScanString(v)
	case "reasoning_effort":
		req.ReasoningEffort, ok = translate.ScanString(v)
	case "messages":
		req.Messages, ok = scanChatMessages(v)
	case "stream":
		req.Stream, ok = translate.ScanBool(v)
	case "logprobs":
		req.Logprobs, ok = sc.Bool(v)
	case "parallel_tool_calls":
		req.ParallelToolCalls, ok = sc.Bool(v)
	case "temperature":
		req.Temperature, ok = sc.Float(v)
	case "top_p":
		req.TopP, ok = sc.Float(v)
	case "presence_penalty":
		req.PresencePenalty, ok = sc.Float(v)
	case "frequency_penalty":
		req.FrequencyPenalty, ok = sc.Float(v)
	case "top_k":
		req.TopK, ok = sc.Int(v)
	case "max_tokens":
		req.MaxTokens, ok = sc.Int(v)
	case "max_completion_tokens":
		req.MaxCompletionTokens, ok = sc.Int(v)
	case "n":
		req.N, ok = sc.Int(v)
	case "top_logprobs":
		req.TopLogprobs, ok = sc.Int(v)
	case "seed":
		var n int
		if n, ok = translate.ScanInt(v); ok {
			seed := int64(n)
			req.Seed = &seed
		}
	case "stop":
		req.Stop, ok = translate.ScanRaw(v)
	case "tool_choice":
		req.ToolChoice, ok = translate.ScanRaw(v)
	default:
		ok = false
	}
	return ok
}

// scanChatMessages reads messages of the usual shape: role, content, and the names of tool results.
// Assistant messages replaying tool calls go to the decoder.
func scanChatMessages(v []byte) ([]chatMessage, bool) {
	return translate.ScanArray(v, scanChatMessage)
}

func scanChatMessage(item []byte, m *chatMessage) bool {
	return translate.ScanMembers(item, chatMessageFields, func(i int, v []byte) bool {
		ok := true
		switch chatMessageFields[i] {
		case "role":
			m.Role, ok = translate.ScanRole(v)
		case "content":
			m.Content, ok = translate.ScanRaw(v)
		case "name":
			m.Name, ok = translate.ScanString(v)
		case "tool_call_id":
			m.ToolCallID, ok = translate.ScanString(v)
		default:
			ok = false
		}
		return ok
	})
}
