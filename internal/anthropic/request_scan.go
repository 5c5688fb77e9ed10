package anthropic

import (
	"reflect"

	"github.com/gemgate/gemgate/internal/gemini"
	"github.com/gemgate/gemgate/internal/translate"
)

// The fields the scans below read, from the types themselves.
var (
	requestFields = translate.JSONFields(reflect.TypeFor[messagesRequest]())
	messageFields = translate.JSONFields(reflect.TypeFor[message]())
)

// scanRequest reads the usual Messages request in place: model, messages (role and raw content),
// system, max_tokens, stream and the sampling numbers. json.Unmarshal into messagesRequest spends about
// a dozen allocations on reflection for that shape. Anything else (tools, tool_choice, thinking,
// stop_sequences, a null, a repeated or escaped name, a name in another case, a number that is not a
// plain integer where an integer goes) gives ok=false and the decoder reads the body as before:
// FuzzScanRequest checks that where the scan answers, the decoder gives the same request.
func scanRequest(body []byte) (*messagesRequest, bool) {
	if translate.Mentions(body, refused) || !gemini.IsObject(body) {
		return nil, false
	}
	sr := &scannedRequest{}
	ok := translate.ScanMembers(body, requestFields, func(i int, v []byte) bool {
		return scanOption(&sr.req, &sr.scalars, requestFields[i], v)
	})
	return &sr.req, ok
}

// refused are members the scan refuses, looked for before it starts.
var refused = translate.QuotedNames("tools", "tool_choice", "thinking", "stop_sequences")

// scannedRequest is a scanned request with the values its optional fields point to, one allocation.
type scannedRequest struct {
	req     messagesRequest
	scalars translate.Scalars
}

func scanOption(req *messagesRequest, sc *translate.Scalars, name string, v []byte) bool {
	ok := true
	switch name {
	case "model":
		req.Model, ok = translate.ScanString(v)
	case "messages":
		req.Messages, ok = scanMessages(v)
	case "system":
		req.System, ok = translate.ScanRaw(v)
	case "max_tokens":
		req.MaxTokens, ok = sc.Int(v)
	case "stream":
		req.Stream, ok = translate.ScanBool(v)
	case "temperature":
		req.Temperature, ok = sc.Float(v)
	case "top_p":
		req.TopP, ok = sc.Float(v)
	case "top_k":
		req.TopK, ok = sc.Int(v)
	default:
		ok = false
	}
	return ok
}

func scanMessages(v []byte) ([]message, bool) {
	return translate.ScanArray(v, func(item []byte, m *message) bool {
		return translate.ScanMembers(item, messageFields, func(j int, v []byte) bool {
			ok := true
			if messageFields[j] == "role" {
				m.Role, ok = translate.ScanRole(v)
			} else {
				m.Content, ok = translate.ScanRaw(v)
			}
			return ok
		})
	})
}
