package app_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"

	"github.com/gemgate/gemgate/internal/fakeupstream"
)

func responsesClient(h *harness) openai.Client {
	return openai.NewClient(option.WithBaseURL(h.srv.URL+"/v1/"), option.WithAPIKey(clientToken), option.WithMaxRetries(0))
}

func TestResponsesPlain(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeupstream.Config{}, nil)
	c := responsesClient(h)
	resp, err := c.Responses.New(context.Background(), responses.ResponseNewParams{
		Model:        "gemini-2.5-flash",
		Instructions: openai.String("Be brief."),
		Input:        responses.ResponseNewParamsInputUnion{OfString: openai.String("hello responses")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != "completed" || resp.OutputText() != "echo: hello responses" || !strings.HasPrefix(resp.ID, "resp_") {
		t.Fatalf("response: %s", resp.RawJSON())
	}
	if resp.Usage.InputTokens == 0 || resp.Usage.OutputTokens == 0 || resp.Usage.TotalTokens == 0 {
		t.Fatalf("usage: %+v", resp.Usage)
	}
	body := lastGenerate(t, h)
	if si, _ := json.Marshal(body["systemInstruction"]); !strings.Contains(string(si), "Be brief.") {
		t.Fatalf("instructions not sent: %s", si)
	}
}

func TestResponsesStreamed(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeupstream.Config{}, nil)
	c := responsesClient(h)
	stream := c.Responses.NewStreaming(context.Background(), responses.ResponseNewParams{
		Model: "gemini-2.5-flash",
		Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("stream me a response")},
	})
	var text strings.Builder
	var types []string
	var final responses.Response
	seq := int64(0)
	for stream.Next() {
		ev := stream.Current()
		if ev.SequenceNumber != seq {
			t.Fatalf("event %s has sequence_number %d, want %d", ev.Type, ev.SequenceNumber, seq)
		}
		seq++
		types = append(types, ev.Type)
		switch ev.Type {
		case "response.output_text.delta":
			text.WriteString(ev.Delta)
		case "response.completed":
			final = ev.Response
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	// SHOW_THINKING_PROCESS is on by default, so the fake's thoughts come first as a reasoning item.
	want := "response.created,response.in_progress,response.output_item.added,response.reasoning_summary_part.added," +
		"response.reasoning_summary_text.delta,response.reasoning_summary_text.done,response.reasoning_summary_part.done," +
		"response.output_item.done,response.output_item.added,response.content_part.added,response.output_text.delta"
	got := strings.Join(types, ",")
	if !strings.HasPrefix(got, want) ||
		!strings.HasSuffix(got, "response.output_text.done,response.content_part.done,response.output_item.done,response.completed") {
		t.Fatalf("event sequence: %s", got)
	}
	if text.String() != "echo: stream me a response" || final.OutputText() != text.String() || final.Usage.OutputTokens == 0 {
		t.Fatalf("text %q, final %s", text.String(), final.RawJSON())
	}
}

func TestResponsesFunctionCallRoundTrip(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeupstream.Config{}, nil)
	c := responsesClient(h)
	ctx := context.Background()
	tools := []responses.ToolUnionParam{responses.ToolParamOfFunction("get_weather",
		map[string]any{"type": "object", "properties": map[string]any{"location": map[string]any{"type": "string"}}}, false)}
	input := responses.ResponseInputParam{responses.ResponseInputItemParamOfMessage("call get_weather", responses.EasyInputMessageRoleUser)}
	resp, err := c.Responses.New(ctx, responses.ResponseNewParams{Model: "gemini-2.5-flash", Tools: tools,
		Input: responses.ResponseNewParamsInputUnion{OfInputItemList: input}})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Output) != 2 || resp.Output[0].Type != "reasoning" || resp.Output[1].Type != "function_call" {
		t.Fatalf("want reasoning then a function_call: %s", resp.RawJSON())
	}
	if summary := resp.Output[0].AsReasoning().Summary; len(summary) != 1 || summary[0].Text == "" {
		t.Fatalf("reasoning summary: %+v", summary)
	}
	call := resp.Output[1].AsFunctionCall()
	if call.Name != "get_weather" || call.Arguments != `{"location":"Paris"}` || call.CallID == "" {
		t.Fatalf("function_call: %+v", call)
	}
	output := responses.ResponseInputItemParamOfFunctionCallOutput(`{"temperature": 21}`)
	output.OfFunctionCallOutput.CallID = openai.String(call.CallID)
	input = append(input, responses.ResponseInputItemParamOfFunctionCall(call.Arguments, call.CallID, call.Name), output)
	resp, err = c.Responses.New(ctx, responses.ResponseNewParams{Model: "gemini-2.5-flash", Tools: tools,
		Input: responses.ResponseNewParamsInputUnion{OfInputItemList: input}})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != "completed" {
		t.Fatalf("second answer: %s", resp.RawJSON())
	}
	contents, _ := json.Marshal(lastGenerate(t, h)["contents"])
	for _, want := range []string{`"functionCall":{"args":{"location":"Paris"},"name":"get_weather"}`,
		`"functionResponse":{"name":"get_weather","response":{"content":{"temperature":21}}}`} {
		if !strings.Contains(string(contents), want) {
			t.Fatalf("upstream contents lack %s: %s", want, contents)
		}
	}
}

func TestResponsesStatelessAndToolErrors(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeupstream.Config{}, nil)
	auth := map[string]string{"Authorization": "Bearer " + clientToken}
	for body, want := range map[string]string{
		`{"model":"gemini-2.5-flash","input":"hi","previous_response_id":"resp_1"}`:     "gemgate does not store responses; send the full input",
		`{"model":"gemini-2.5-flash","input":"hi","store":true}`:                        "gemgate does not store responses; send the full input",
		`{"model":"gemini-2.5-flash","input":"hi","tools":[{"type":"file_search"}]}`:    "Unsupported tool type",
		`{"model":"gemini-2.5-flash","input":[{"type":"item_reference","id":"msg_1"}]}`: "gemgate does not store responses",
		`{"model":"gemini-2.5-flash","input":"hi","text":{"format":{"type":"xml"}}}`:    "text.format.type",
	} {
		res := h.do("POST", "/v1/responses", body, auth)
		if res.status != 400 || !strings.Contains(string(res.body), want) {
			t.Fatalf("%s: %d %s", body, res.status, res.body)
		}
	}
}
