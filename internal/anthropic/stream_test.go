package anthropic

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gemgate/gemgate/internal/translate"
)

// relay runs an upstream SSE body through the stream path and returns the event types and the body.
func relay(t *testing.T, upstreamSSE string, a *answer) ([]string, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	items := translate.StreamItems(context.Background(), strings.NewReader(upstreamSSE))
	translate.Relay(context.Background(), items, translate.StreamSettings{}, &streamSink{a: a, out: translate.NewSSEWriter(rec), w: rec})
	var types []string
	for _, line := range strings.Split(rec.Body.String(), "\n") {
		if typ, ok := strings.CutPrefix(line, "event: "); ok {
			types = append(types, typ)
		}
	}
	return types, rec.Body.String()
}

func TestStreamEventSequence(t *testing.T) {
	up := `data: {"candidates":[{"content":{"parts":[{"text":"plan","thought":true}]}}],"usageMetadata":{"promptTokenCount":9}}` + "\r\n\r\n" +
		`data: {"candidates":[{"content":{"parts":[{"text":"Hel"}]}}]}` + "\r\n\r\n" +
		`data: {"candidates":[{"content":{"parts":[{"text":"lo"},{"functionCall":{"name":"f","args":{"x":1}},"thoughtSignature":"U0lH"}]},"finishReason":"STOP"}],` +
		`"usageMetadata":{"promptTokenCount":9,"candidatesTokenCount":4,"thoughtsTokenCount":2}}` + "\r\n\r\n"
	a := &answer{id: "msg_t", model: "claude-x", blocks: translate.Blocks{ShowThoughts: true, CarrySignatures: true, NewCallID: func() string { return "toolu_1" }}}
	types, body := relay(t, up, a)
	// thinking, text, an empty thinking block carrying the call's signature, the tool_use.
	got := strings.Join(types, ",")
	if !strings.HasPrefix(got, "message_start,ping,content_block_start,content_block_delta,content_block_stop,content_block_start,content_block_delta,content_block_delta,content_block_stop") ||
		!strings.HasSuffix(got, "content_block_start,content_block_delta,content_block_stop,message_delta,message_stop") {
		t.Fatalf("events: %s", got)
	}
	mustContain(t, body,
		`"message":{"id":"msg_t","type":"message","role":"assistant","model":"claude-x","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":9,`,
		`"content_block":{"type":"thinking","thinking":"","signature":""}`,
		`"delta":{"type":"thinking_delta","thinking":"plan"}`,
		`"delta":{"type":"text_delta","text":"Hel"}`,
		`"delta":{"type":"signature_delta","signature":"U0lH"}`,
		`"content_block":{"type":"tool_use","id":"toolu_1","name":"f","input":{}}`,
		`"delta":{"type":"input_json_delta","partial_json":"{\"x\":1}"}`,
		`"delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"input_tokens":9,"output_tokens":6,`)
}

func TestStreamBreaksWithErrorEvent(t *testing.T) {
	up := `data: {"candidates":[{"content":{"parts":[{"text":"partial"}]}}]}` + "\n\n" +
		`data: {"error":{"code":503,"message":"The model is overloaded.","status":"UNAVAILABLE"}}` + "\n\n"
	types, body := relay(t, up, &answer{id: "msg_e", blocks: translate.Blocks{NewCallID: newToolUseID}})
	if got := strings.Join(types, ","); got != "message_start,ping,content_block_start,content_block_delta,error" {
		t.Fatalf("events: %s", got)
	}
	mustContain(t, body, `event: error`+"\n"+`data: {"type":"error","error":{"type":"overloaded_error","message":"The model is overloaded."}}`)
}

func TestStreamWithoutEventsIsAnHTTPError(t *testing.T) {
	rec := httptest.NewRecorder()
	items := translate.StreamItems(context.Background(), strings.NewReader(": nothing\n\n"))
	translate.Relay(context.Background(), items, translate.StreamSettings{}, &streamSink{a: &answer{}, out: translate.NewSSEWriter(rec), w: rec})
	if rec.Code != 502 || !strings.Contains(rec.Body.String(), `"type":"api_error"`) {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
}
