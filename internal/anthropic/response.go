package anthropic

import (
	"encoding/json"

	"github.com/gemgate/gemgate/internal/translate"
)

// answer is one request's reply as it is assembled.
type answer struct {
	id     string // msg_..., shared by every event of a stream
	model  string // as the client named it
	blocks translate.Blocks
}

// messageOut is Anthropic's Message object.
type messageOut struct {
	ID           string         `json:"id"`
	Type         string         `json:"type"`
	Role         string         `json:"role"`
	Model        string         `json:"model"`
	Content      []contentBlock `json:"content"`
	StopReason   *string        `json:"stop_reason"`
	StopSequence *string        `json:"stop_sequence"`
	Usage        usage          `json:"usage"`
}

// contentBlock is an output block; the fields of other types are left out.
type contentBlock struct {
	Type      string          `json:"type"`
	Text      *string         `json:"text,omitempty"`
	Thinking  *string         `json:"thinking,omitempty"`
	Signature *string         `json:"signature,omitempty"`
	ID        string          `json:"id,omitempty"`
	Name      string          `json:"name,omitempty"`
	Input     json.RawMessage `json:"input,omitempty"`
}

// usage counts tokens. Gemini's implicit caching has no creation count, and its cached tokens are part
// of the prompt count, so the cache fields stay zero rather than split the input in a way Anthropic's
// billing formula would misread.
type usage struct {
	InputTokens              int `json:"input_tokens"`
	OutputTokens             int `json:"output_tokens"`
	CacheCreationInputTokens int `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     int `json:"cache_read_input_tokens"`
}

func usageOf(t translate.Tokens) usage { return usage{InputTokens: t.Input, OutputTokens: t.Output} }

// stopReason maps how the answer ended. Gemini reports a matched stop sequence as a plain STOP and
// does not say which one matched, so stop_sequence cannot be told from end_turn.
func stopReason(e translate.Ending) string {
	switch e {
	case translate.EndMaxTokens:
		return "max_tokens"
	case translate.EndToolUse:
		return "tool_use"
	case translate.EndFiltered:
		return "refusal"
	}
	return "end_turn"
}

// start is a block as content_block_start announces it: empty, filled by the deltas that follow.
func start(b *translate.Block) contentBlock { return startWith(b, new(string)) }

// startWith is start with empty, an empty string, as the text.
func startWith(b *translate.Block, empty *string) contentBlock {
	switch b.Kind {
	case translate.ThinkingBlock:
		return contentBlock{Type: "thinking", Thinking: empty, Signature: empty}
	case translate.CallBlock:
		return contentBlock{Type: "tool_use", ID: b.CallID, Name: b.Name, Input: json.RawMessage(`{}`)}
	}
	return contentBlock{Type: "text", Text: empty}
}

// whole is a block as the non-streamed Message has it; a text block's text is held by text.
func whole(b *translate.Block, text *string) contentBlock {
	*text = ""
	out := startWith(b, text)
	switch b.Kind {
	case translate.ThinkingBlock:
		thought, sig := b.Text, b.Signature
		out.Thinking, out.Signature = &thought, &sig
	case translate.CallBlock:
		out.Input = json.RawMessage(b.Args)
	default:
		*text = b.Text
		out.Text = text
	}
	return out
}

// message is the non-streamed Message.
func (a *answer) message() *messageOut {
	list := a.blocks.List()
	st := &messageStore{reason: stopReason(a.blocks.End())}
	content := st.content[:0]
	if len(list) > len(st.content) {
		content = make([]contentBlock, 0, len(list))
	}
	for i, b := range list {
		text := &st.text
		if i > 0 {
			text = new(string)
		}
		content = append(content, whole(b, text))
	}
	st.out = messageOut{ID: a.id, Type: "message", Role: "assistant", Model: a.model, Content: content,
		StopReason: &st.reason, Usage: usageOf(translate.Count(a.blocks.Usage))}
	return &st.out
}

// messageStore holds a Message of one block (most answers) in one allocation instead of four.
type messageStore struct {
	out     messageOut
	content [1]contentBlock
	reason  string
	text    string
}
