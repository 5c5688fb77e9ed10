package openai

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gemgate/gemgate/internal/upstream"
)

func decodeOpenAIError(t *testing.T, body []byte) ErrorBody {
	t.Helper()
	var env struct {
		Error *ErrorBody `json:"error"`
	}
	if err := json.Unmarshal(body, &env); err != nil || env.Error == nil {
		t.Fatalf("not an OpenAI error object (%v): %s", err, body)
	}
	return *env.Error
}

func TestCompatErrorUnwrapsArray(t *testing.T) {
	// The shape Google's OpenAI-compatible endpoint answers errors with.
	body := "[{\n  \"error\": {\n    \"code\": 400,\n    \"message\": \"Invalid JSON payload received. Unknown name \\\"web_search_options\\\": Cannot find field.\",\n" +
		"    \"status\": \"INVALID_ARGUMENT\",\n    \"details\": [{\"@type\": \"type.googleapis.com/google.rpc.BadRequest\"}]\n  }\n}\n]\n"
	w := httptest.NewRecorder()
	relayAnswer(w, &upstream.Response{StatusCode: 400, Header: http.Header{}, Body: []byte(body)}, nil)
	e := decodeOpenAIError(t, w.Body.Bytes())
	if w.Code != 400 || !strings.Contains(e.Message, "web_search_options") || e.Type != TypeInvalidRequest ||
		e.Code == nil || *e.Code != "INVALID_ARGUMENT" {
		t.Fatalf("%d %+v", w.Code, e)
	}
}

func TestCompatErrorAlreadyOpenAIShaped(t *testing.T) {
	body := `{"error":{"message":"nope","type":"invalid_request_error","param":null,"code":"x"}}`
	w := httptest.NewRecorder()
	relayAnswer(w, &upstream.Response{StatusCode: 404, Header: http.Header{}, Body: []byte(body)}, nil)
	if w.Code != 404 || w.Body.String() != body {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	w = httptest.NewRecorder()
	relayAnswer(w, &upstream.Response{StatusCode: 502, Header: http.Header{}, Body: []byte("upstream proxy said no")}, nil)
	if e := decodeOpenAIError(t, w.Body.Bytes()); w.Code != 502 || e.Message != "upstream proxy said no" {
		t.Fatalf("plain text error: %d %+v", w.Code, e)
	}
}

func TestRelayAnswerSuccessUnchanged(t *testing.T) {
	body := `{"object":"list","data":[{"id":"models/gemini-2.5-flash"}]}`
	w := httptest.NewRecorder()
	relayAnswer(w, &upstream.Response{StatusCode: 200, Header: http.Header{}, Body: []byte(body)}, nil)
	if w.Code != 200 || w.Body.String() != body || w.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("%d %s %v", w.Code, w.Body, w.Header())
	}
}

// brokenStream yields its chunks, then fails.
type brokenStream struct {
	chunks []string
	err    error
}

func (b *brokenStream) Read(p []byte) (int, error) {
	if len(b.chunks) == 0 {
		return 0, b.err
	}
	n := copy(p, b.chunks[0])
	b.chunks = b.chunks[1:]
	return n, nil
}

func (b *brokenStream) Close() error { return nil }

func TestRelayOpenAIStream(t *testing.T) {
	cases := []struct {
		name   string
		chunks []string
		err    error
		want   string
	}{
		{"complete", []string{"data: {\"a\":1}\n\n", "data: [DONE]\n\n"}, io.EOF, "data: {\"a\":1}\n\ndata: [DONE]\n\n"},
		{"cut between events", []string{"data: {\"a\":1}\r\n\r\n"}, io.ErrUnexpectedEOF,
			"data: {\"a\":1}\r\n\r\ndata: {\"error\":{\"message\":\"The upstream stream ended unexpectedly.\",\"type\":\"upstream_error\",\"param\":null,\"code\":\"upstream_error\"}}\n\ndata: [DONE]\n\n"},
		{"cut inside an event", []string{"data: {\"a\":"}, errors.New("reset"),
			"data: {\"a\":\n\ndata: {\"error\":{\"message\":\"The upstream stream broke off: reset\",\"type\":\"upstream_error\",\"param\":null,\"code\":\"upstream_error\"}}\n\ndata: [DONE]\n\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			r := httptest.NewRequest("POST", "/openai/v1/chat/completions", nil)
			resp := &upstream.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"text/event-stream"}},
				Stream: &brokenStream{chunks: c.chunks, err: c.err}}
			relayOpenAIStream(w, r, resp)
			if w.Body.String() != c.want {
				t.Fatalf("\n got %q\nwant %q", w.Body, c.want)
			}
			if w.Header().Get("Content-Type") != "text/event-stream" || !w.Flushed {
				t.Fatal("not relayed as a flushed event stream")
			}
		})
	}
}

func TestLastBytes(t *testing.T) {
	var tail []byte
	for _, c := range []string{"data: x", "\n", "\n"} {
		tail = lastBytes(tail, []byte(c))
	}
	if string(tail) != " x\n\n" || !eventClosed(tail) {
		t.Fatalf("%q", tail)
	}
	if eventClosed(lastBytes(nil, []byte("x\n"))) {
		t.Fatal("open event taken as closed")
	}
}
