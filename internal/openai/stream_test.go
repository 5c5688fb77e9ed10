package openai

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/gemgate/gemgate/internal/pace"
)

// streamCases are the answer options of each testdata/stream case.
var streamCases = map[string]func(o *answerOptions) bool{
	"text_thoughts":  func(o *answerOptions) bool { return true },
	"tool_calls":     func(o *answerOptions) bool { return false },
	"blocked":        func(o *answerOptions) bool { o.candidates = 2; return true },
	"search":         func(o *answerOptions) bool { o.searchLinks = true; return true },
	"two_choices":    func(o *answerOptions) bool { o.candidates = 2; return true },
	"error_event":    func(o *answerOptions) bool { return true },
	"messy_framing":  func(o *answerOptions) bool { o.showThinking = false; return false },
	"image_and_code": func(o *answerOptions) bool { return false },
	"empty":          func(o *answerOptions) bool { return true },
	"only_usage":     func(o *answerOptions) bool { return true },
}

// runChatStream feeds an upstream SSE body through the chat stream path and returns what the client gets.
func runChatStream(t testing.TB, body io.Reader, o *answerOptions, includeUsage bool, p pace.Pacer) (*httptest.ResponseRecorder, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	relayChatStream(context.Background(), body, newStreamTranslator(o), newSSEWriter(rec, context.Background(), p), includeUsage)
	return rec, rec.Body.String()
}

// TestStreamGolden turns each testdata/stream/<case>.sse (Google's stream, byte for byte) into the
// client's stream in <case>.golden.sse, reading the upstream one byte at a time.
func TestStreamGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/stream/*.sse")
	ran := 0
	for _, file := range files {
		if strings.HasSuffix(file, ".golden.sse") {
			continue
		}
		name := strings.TrimSuffix(filepath.Base(file), ".sse")
		setup, ok := streamCases[name]
		if !ok {
			t.Errorf("no options for %s", name)
			continue
		}
		ran++
		t.Run(name, func(t *testing.T) {
			o := testAnswerOptions(1)
			includeUsage := setup(o)
			in := chatReadFile(t, file)
			rec, got := runChatStream(t, iotest.OneByteReader(bytes.NewReader(in)), o, includeUsage, pace.Pacer{})
			if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") ||
				rec.Header().Get("Cache-Control") != "no-cache" || rec.Header().Get("X-Accel-Buffering") != "no" {
				t.Fatalf("headers %v", rec.Header())
			}
			if !strings.HasSuffix(got, "data: [DONE]\n\n") {
				t.Fatalf("stream does not end with [DONE]: %s", got)
			}
			chatCheckGolden(t, strings.TrimSuffix(file, ".sse")+".golden.sse", []byte(got))
			// The same bytes in one read give the same stream.
			if _, whole := runChatStream(t, bytes.NewReader(in), testAnswerOptionsFor(setup), includeUsage, pace.Pacer{}); whole != got {
				t.Fatalf("framing changed the output:\n%s\nvs\n%s", whole, got)
			}
		})
	}
	if ran < len(streamCases) {
		t.Fatalf("ran %d of %d cases", ran, len(streamCases))
	}
}

func testAnswerOptionsFor(setup func(*answerOptions) bool) *answerOptions {
	o := testAnswerOptions(1)
	setup(o)
	return o
}

func TestStreamBrokenMidway(t *testing.T) {
	upstream := io.MultiReader(strings.NewReader(`data: {"candidates":[{"content":{"parts":[{"text":"Hello"}]}}]}`+"\r\n\r\n"),
		iotest.ErrReader(io.ErrUnexpectedEOF))
	_, got := runChatStream(t, upstream, testAnswerOptions(1), true, pace.Pacer{})
	if strings.Count(got, "Hello") != 1 || strings.Contains(got, "finish_reason\":\"") || strings.Contains(got, `"usage"`) {
		t.Fatalf("a broken stream must not be finished normally: %s", got)
	}
	if !strings.Contains(got, `data: {"error":{"message":"The upstream stream ended unexpectedly.","type":"server_error","param":null,"code":"upstream_stream_broken"}}`) ||
		!strings.HasSuffix(got, "data: [DONE]\n\n") {
		t.Fatalf("no error event: %s", got)
	}
}

func TestStreamClientGoneStopsReading(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	w := &goneClientWriter{ResponseRecorder: httptest.NewRecorder()}
	reads := &chatCountingReader{r: strings.NewReader(strings.Repeat(`data: {"candidates":[{"content":{"parts":[{"text":"x"}]}}]}`+"\n\n", 100))}
	relayChatStream(ctx, reads, newStreamTranslator(testAnswerOptions(1)), newSSEWriter(w, ctx, pace.Pacer{}), false)
	if reads.n > 1 {
		t.Fatalf("kept reading the upstream after the client left: %d reads", reads.n)
	}
}

// goneClientWriter is a client connection that is gone.
type goneClientWriter struct{ *httptest.ResponseRecorder }

func (f *goneClientWriter) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }

type chatCountingReader struct {
	r io.Reader
	n int
}

func (c *chatCountingReader) Read(p []byte) (int, error) { c.n++; return c.r.Read(p) }

func TestStreamPacedText(t *testing.T) {
	p := pace.Pacer{Enabled: true, MinDelay: time.Millisecond, MaxDelay: 2 * time.Millisecond, Short: 2, Long: 10, Size: 3}
	in := `data: {"candidates":[{"content":{"parts":[{"text":"abcd"}]}}]}` + "\n\n" +
		`data: {"candidates":[{"content":{"parts":[{"text":"0123456789AB"},{"text":"think","thought":true}]},"finishReason":"STOP"}]}` + "\n\n"
	start := time.Now()
	_, got := runChatStream(t, strings.NewReader(in), testAnswerOptions(1), false, p)
	var pieces []string
	for _, line := range strings.Split(got, "\n\n") {
		if i := strings.Index(line, `"content":"`); i >= 0 && !strings.Contains(line, `"role"`) {
			pieces = append(pieces, line[i+11:i+11+strings.Index(line[i+11:], `"`)])
		}
	}
	// Text alone is paced; a chunk that also carries reasoning is sent as it is.
	if strings.Join(pieces, "|") != "a|b|c|d|0123456789AB" {
		t.Fatalf("pieces %q in %s", pieces, got)
	}
	if time.Since(start) < 3*time.Millisecond {
		t.Fatal("no pauses between pieces")
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rec := httptest.NewRecorder()
	slow := pace.Pacer{Enabled: true, MinDelay: time.Hour, MaxDelay: time.Hour, Short: 1, Long: 2, Size: 1}
	out := newSSEWriter(rec, ctx, slow)
	text := "never ending"
	if out.send(&chatChunk{Choices: []chunkChoice{{Delta: delta{Content: &text}}}}) {
		t.Fatal("a paced send went on after the client left")
	}
}
