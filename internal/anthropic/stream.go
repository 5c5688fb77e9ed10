package anthropic

import (
	"net/http"

	"github.com/gemgate/gemgate/internal/gemini"
	"github.com/gemgate/gemgate/internal/translate"
)

// Stream events, as Anthropic's reference names their fields.
type (
	messageStart struct {
		Type    string     `json:"type"`
		Message messageOut `json:"message"`
	}
	blockStart struct {
		Type         string       `json:"type"`
		Index        int          `json:"index"`
		ContentBlock contentBlock `json:"content_block"`
	}
	blockDelta struct {
		Type  string `json:"type"`
		Index int    `json:"index"`
		Delta delta  `json:"delta"`
	}
	delta struct {
		Type        string  `json:"type"`
		Text        *string `json:"text,omitempty"`
		Thinking    *string `json:"thinking,omitempty"`
		Signature   *string `json:"signature,omitempty"`
		PartialJSON *string `json:"partial_json,omitempty"`
	}
	blockStop struct {
		Type  string `json:"type"`
		Index int    `json:"index"`
	}
	messageDelta struct {
		Type  string           `json:"type"`
		Delta messageDeltaBody `json:"delta"`
		Usage usage            `json:"usage"`
	}
	messageDeltaBody struct {
		StopReason   string  `json:"stop_reason"`
		StopSequence *string `json:"stop_sequence"`
	}
	bare struct {
		Type string `json:"type"`
	}
)

// streamSink turns Gemini's events into Anthropic's: message_start and a ping once the answer starts,
// then per block content_block_start, its deltas and content_block_stop, and at the end message_delta
// (stop reason and usage) and message_stop.
type streamSink struct {
	a   *answer
	out *translate.SSEWriter
	w   http.ResponseWriter
}

// begin sends message_start, with the prompt's token count when the first event carries it.
func (s *streamSink) begin(u *gemini.UsageMetadata) bool {
	if s.out.Started() {
		return true
	}
	msg := messageOut{ID: s.a.id, Type: "message", Role: "assistant", Model: s.a.model, Content: []contentBlock{},
		Usage: usage{InputTokens: translate.Count(u).Input, OutputTokens: 0}}
	return s.out.Event("message_start", messageStart{Type: "message_start", Message: msg}) &&
		s.out.Event("ping", bare{Type: "ping"})
}

// Open sends nothing: a stream that brings no answer is still answered with an HTTP error.
func (s *streamSink) Open() bool { return true }

func (s *streamSink) Answer(it translate.Item) bool {
	if !s.begin(it.Resp.UsageMetadata) {
		return false
	}
	return translate.SendAll(s.a.blocks.Response(it.Resp), s.event)
}

func (s *streamSink) Beat() bool {
	if !s.out.Started() {
		return s.begin(nil)
	}
	return s.out.Event("ping", bare{Type: "ping"})
}

func (s *streamSink) event(ev translate.BlockEvent) bool {
	switch ev.Kind {
	case translate.BlockStart:
		if !s.out.Event("content_block_start", blockStart{Type: "content_block_start", Index: ev.Index, ContentBlock: start(ev.Block)}) {
			return false
		}
		if ev.Block.Kind == translate.CallBlock {
			args := ev.Block.Args
			return s.delta(ev.Index, delta{Type: "input_json_delta", PartialJSON: &args})
		}
		return true
	case translate.BlockDelta:
		d := ev.Delta
		if ev.Block.Kind == translate.ThinkingBlock {
			return s.delta(ev.Index, delta{Type: "thinking_delta", Thinking: &d})
		}
		return s.delta(ev.Index, delta{Type: "text_delta", Text: &d})
	case translate.BlockSignature:
		sig := ev.Delta
		return s.delta(ev.Index, delta{Type: "signature_delta", Signature: &sig})
	}
	return s.out.Event("content_block_stop", blockStop{Type: "content_block_stop", Index: ev.Index})
}

func (s *streamSink) delta(index int, d delta) bool {
	return s.out.Event("content_block_delta", blockDelta{Type: "content_block_delta", Index: index, Delta: d})
}

func (s *streamSink) End() {
	if !s.begin(nil) || !translate.SendAll(s.a.blocks.Close(), s.event) {
		return
	}
	md := messageDelta{Type: "message_delta", Delta: messageDeltaBody{StopReason: stopReason(s.a.blocks.End())},
		Usage: usageOf(translate.Count(s.a.blocks.Usage))}
	if s.out.Event("message_delta", md) {
		s.out.Event("message_stop", bare{Type: "message_stop"})
	}
}

// Fail ends a broken answer: before anything was sent, with the HTTP status the failure deserves;
// after, with an error event (nothing already sent is repeated), as Anthropic ends its own streams.
func (s *streamSink) Fail(err error) {
	if !s.out.Started() {
		writeFailure(s.w, err)
		return
	}
	_, body, _ := failure(err)
	s.out.Event("error", errorEnvelope{Type: "error", Error: body})
}
