package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
	"testing/synctest"
	"time"

	"github.com/gemgate/gemgate/internal/pace"
	"github.com/gemgate/gemgate/internal/translate"
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

// relayChat relays an upstream SSE body to w as Stream does once Gemini's stream is open.
func relayChat(ctx context.Context, w http.ResponseWriter, body io.Reader, o *answerOptions, includeUsage bool, p pace.Pacer) {
	sink := newChatSink(w, o, includeUsage)
	if sink.Open() {
		translate.Relay(ctx, translate.StreamItems(ctx, body), translate.StreamSettings{Pace: p}, sink)
	}
}

// runChatStream feeds an upstream SSE body through the chat stream path and returns what the client gets.
func runChatStream(t testing.TB, body io.Reader, o *answerOptions, includeUsage bool, p pace.Pacer) (*httptest.ResponseRecorder, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	relayChat(context.Background(), rec, body, o, includeUsage, p)
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
	relayChat(ctx, w, reads, testAnswerOptions(1), false, pace.Pacer{})
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
	synctest.Test(t, func(t *testing.T) {
		p := pace.Pacer{Enabled: true, MinDelay: time.Millisecond, MaxDelay: 2 * time.Millisecond, Short: 2, Long: 10, Size: 3}
		in := `data: {"candidates":[{"content":{"parts":[{"text":"abcd"}]}}]}` + "\n\n" +
			`data: {"candidates":[{"content":{"parts":[{"text":"0123456789AB"},{"text":"think","thought":true}]},"finishReason":"STOP"}]}` + "\n\n"
		start := time.Now()
		_, got := runChatStream(t, strings.NewReader(in), testAnswerOptions(1), false, p)
		// Text and reasoning are cut alike, Gemini's events being what is paced; long text in Size pieces.
		if c, r := chunkField(got, "content"), chunkField(got, "reasoning_content"); strings.Join(c, "|") != "|a|b|c|d|012|345|678|9AB" || strings.Join(r, "") != "think" || len(r) != 5 {
			t.Fatalf("content %q, reasoning %q in %s", c, r, got)
		}
		if time.Since(start) < 3*time.Millisecond {
			t.Fatal("no pauses between pieces")
		}
	})
}

func TestStreamPacingStopsWhenTheClientLeaves(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		rec := httptest.NewRecorder()
		slow := pace.Pacer{Enabled: true, MinDelay: time.Hour, MaxDelay: time.Hour, Short: 1, Long: 2, Size: 1}
		done := make(chan struct{})
		go func() {
			defer close(done)
			relayChat(ctx, rec, strings.NewReader(`data: {"candidates":[{"content":{"parts":[{"text":"never ending"}]}}]}`+"\n\n"), testAnswerOptions(1), false, slow)
		}()
		synctest.Wait()
		cancel()
		<-done
		if c := chunkField(rec.Body.String(), "content"); strings.Join(c, "|") != "|n" {
			t.Fatalf("a paced stream went on after the client left: %q", c)
		}
	})
}

// chunkField lists a delta field's values in a chat stream, chunk by chunk.
func chunkField(stream, field string) []string {
	var out []string
	for _, ev := range strings.Split(stream, "\n\n") {
		var c chatChunk
		if json.Unmarshal([]byte(strings.TrimPrefix(ev, "data: ")), &c) != nil || len(c.Choices) == 0 {
			continue
		}
		d := c.Choices[0].Delta
		v := map[string]*string{"content": d.Content, "reasoning_content": d.ReasoningContent}[field]
		if v != nil {
			out = append(out, *v)
		}
	}
	return out
}
