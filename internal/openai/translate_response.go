package openai

import (
	"context"
	"math"
	"net/http"
	"slices"
	"strings"

	"github.com/gemgate/gemgate/internal/config"
	"github.com/gemgate/gemgate/internal/gemini"
	"github.com/gemgate/gemgate/internal/publicurl"
	"github.com/gemgate/gemgate/internal/translate"
)

// chatCompletion is OpenAI's non-streamed answer.
type chatCompletion struct {
	ID      string       `json:"id"`
	Object  string       `json:"object"`
	Created int64        `json:"created"`
	Model   string       `json:"model"`
	Choices []chatChoice `json:"choices"`
	Usage   *chatUsage   `json:"usage,omitempty"`
}

type chatChoice struct {
	Index        int              `json:"index"`
	Message      assistantMessage `json:"message"`
	Logprobs     *choiceLogprobs  `json:"logprobs"`
	FinishReason string           `json:"finish_reason"`
}

// message is the assistant's message: content is null only when the answer is tool calls alone.
type assistantMessage struct {
	Role             string        `json:"role"`
	Content          *string       `json:"content"`
	ReasoningContent string        `json:"reasoning_content,omitempty"`
	ToolCalls        []outToolCall `json:"tool_calls,omitempty"`
}

type outToolCall struct {
	Index        *int          `json:"index,omitempty"` // stream deltas only
	ID           string        `json:"id"`
	Type         string        `json:"type"`
	Function     outFunction   `json:"function"`
	ExtraContent *extraContent `json:"extra_content,omitempty"`
}

type outFunction struct {
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
}

type chatUsage struct {
	PromptTokens            int               `json:"prompt_tokens"`
	CompletionTokens        int               `json:"completion_tokens"`
	TotalTokens             int               `json:"total_tokens"`
	PromptTokensDetails     promptDetails     `json:"prompt_tokens_details"`
	CompletionTokensDetails completionDetails `json:"completion_tokens_details"`
}

type promptDetails struct {
	CachedTokens int `json:"cached_tokens"`
}

type completionDetails struct {
	ReasoningTokens int `json:"reasoning_tokens"`
}

type choiceLogprobs struct {
	Content []tokenLogprob `json:"content"`
}

type tokenLogprob struct {
	Token       string       `json:"token"`
	Logprob     float64      `json:"logprob"`
	Bytes       []int        `json:"bytes"`
	TopLogprobs []topLogprob `json:"top_logprobs"`
}

type topLogprob struct {
	Token   string  `json:"token"`
	Logprob float64 `json:"logprob"`
	Bytes   []int   `json:"bytes"`
}

// answerOptions are what shapes one request's answer, fixed when the request starts. ctx is the
// request's own: an image sink that uploads must stop when the client leaves.
type answerOptions struct {
	ctx context.Context // see media
	// req and snap make ctx at the first image, when ctx is unset: most answers have none, and the
	// public URL's context is three allocations.
	req          *http.Request
	snap         *config.Snapshot
	id           string // chatcmpl-..., shared by every chunk of a stream
	created      int64
	model        string // as the client named it
	candidates   int    // choices to report when Gemini sends none (a blocked prompt)
	showThinking bool
	searchLinks  bool
	images       ImageSink
	newCallID    func() string
}

// rendered is what a candidate's parts say, in OpenAI's terms.
type rendered struct {
	text      strings.Builder
	reasoning strings.Builder
	calls     []outToolCall
}

// render reads parts: text, thoughts (reasoning_content, or nothing when thoughts are not shown — they
// never leak into the answer text), function calls, code execution (as Markdown, so it is not lost),
// and images (through the image sink).
func (o *answerOptions) render(parts []gemini.Part, out *rendered) {
	for i := range parts {
		p := &parts[i]
		switch {
		case p.Thought:
			if o.showThinking {
				out.reasoning.WriteString(p.Text)
			}
		case p.FunctionCall != nil:
			out.calls = append(out.calls, o.toolCall(p))
		case p.ExecutableCode != nil:
			translate.WriteCode(&out.text, p.ExecutableCode)
		case p.CodeExecutionResult != nil:
			translate.WriteCodeResult(&out.text, p.CodeExecutionResult)
		case p.InlineData != nil:
			o.writeMedia(&out.text, p.InlineData)
		default:
			out.text.WriteString(p.Text)
		}
	}
}

// toolCall turns a functionCall into an OpenAI tool call. Gemini's own call id is kept when it sends
// one; the thought signature travels in extra_content, where Google's OpenAI endpoint puts it.
func (o *answerOptions) toolCall(p *gemini.Part) outToolCall {
	fc := p.FunctionCall
	id := fc.ID
	if id == "" {
		id = o.newCallID()
	}
	tc := outToolCall{ID: id, Type: "function", Function: outFunction{Name: fc.Name, Arguments: translate.CompactArgs(fc.Args)}}
	if p.ThoughtSignature != "" {
		tc.ExtraContent = &extraContent{Google: &googleExtra{ThoughtSignature: p.ThoughtSignature}}
	}
	return tc
}

// writeMedia shows images; other media (audio from a speech model) has no place in a chat message.
func (o *answerOptions) writeMedia(b *strings.Builder, blob *gemini.Blob) {
	if !strings.HasPrefix(blob.MimeType, "image/") || blob.Data == "" {
		return
	}
	if b.Len() > 0 {
		b.WriteString("\n\n")
	}
	b.WriteString(o.images.ImageMarkdown(o.media(), blob.MimeType, blob.Data))
	b.WriteString("\n\n")
}

// media is the context of the links to hosted images: the request's, with the address clients reach
// gemgate at.
func (o *answerOptions) media() context.Context {
	if o.ctx == nil && o.req != nil {
		o.ctx = publicurl.With(o.req.Context(), publicurl.FromRequest(o.req, o.snap))
	}
	return o.ctx
}

// finishReason maps Gemini's finish reason. A STOP after function calls is tool_calls (clients run the
// tools on that signal). MALFORMED_FUNCTION_CALL is stop, not tool_calls: no call is there to run, and
// content_filter would wrongly blame safety; the client sees an empty answer it can retry.
func finishReason(reason string, hasCalls bool) string {
	switch reason {
	case "MAX_TOKENS":
		return "length"
	case "SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII",
		"IMAGE_SAFETY", "IMAGE_PROHIBITED_CONTENT", "IMAGE_RECITATION":
		return "content_filter"
	}
	if hasCalls {
		return "tool_calls"
	}
	return "stop"
}

// toUsage maps usageMetadata. Completion tokens include thoughts, as OpenAI counts reasoning tokens
// in completion_tokens; tool-use prompt tokens (search results read) count as prompt.
func toUsage(u *gemini.UsageMetadata) *chatUsage {
	out := usageOf(u)
	return &out
}

func usageOf(u *gemini.UsageMetadata) chatUsage {
	if u == nil {
		return chatUsage{}
	}
	out := chatUsage{
		PromptTokens:            u.PromptTokenCount + u.ToolUsePromptTokenCount,
		CompletionTokens:        u.CandidatesTokenCount + u.ThoughtsTokenCount,
		TotalTokens:             u.TotalTokenCount,
		PromptTokensDetails:     promptDetails{CachedTokens: u.CachedContentTokenCount},
		CompletionTokensDetails: completionDetails{ReasoningTokens: u.ThoughtsTokenCount},
	}
	if out.TotalTokens == 0 {
		out.TotalTokens = out.PromptTokens + out.CompletionTokens
	}
	return out
}

func toLogprobs(r *gemini.LogprobsResult) *choiceLogprobs {
	if r == nil || len(r.ChosenCandidates) == 0 {
		return nil
	}
	out := &choiceLogprobs{Content: make([]tokenLogprob, len(r.ChosenCandidates))}
	for i, c := range r.ChosenCandidates {
		tl := tokenLogprob{Token: c.Token, Logprob: logprob(c.LogProbability), Bytes: tokenBytes(c.Token), TopLogprobs: []topLogprob{}}
		if i < len(r.TopCandidates) {
			for _, top := range r.TopCandidates[i].Candidates {
				tl.TopLogprobs = append(tl.TopLogprobs, topLogprob{Token: top.Token, Logprob: logprob(top.LogProbability), Bytes: tokenBytes(top.Token)})
			}
		}
		out.Content[i] = tl
	}
	return out
}

// logprob makes a log probability JSON-safe: OpenAI reports an impossible token as -9999.
func logprob(d gemini.Double) float64 {
	f := float64(d)
	if math.IsNaN(f) || math.IsInf(f, 0) || f < -9999 {
		return -9999
	}
	return f
}

func tokenBytes(s string) []int {
	b := make([]int, len(s))
	for i := 0; i < len(s); i++ {
		b[i] = int(s[i])
	}
	return b
}

// candidateIndex is a candidate's choice index: its own index, or its position when it has none.
func candidateIndex(c *gemini.Candidate, pos int) int {
	if c.Index != nil {
		return *c.Index
	}
	return pos
}

// completion turns a whole generateContent answer into OpenAI's chat completion. A blocked prompt (no
// candidates, promptFeedback.blockReason) is a normal answer with empty content and finish_reason
// content_filter, which is how OpenAI reports its own refusals.
func (o *answerOptions) completion(resp *gemini.GenerateContentResponse) *chatCompletion {
	st := &completionStore{usage: usageOf(resp.UsageMetadata)}
	out := &st.out
	*out = chatCompletion{ID: o.id, Object: "chat.completion", Created: o.created, Model: o.model, Usage: &st.usage}
	if len(resp.Candidates) == 0 {
		reason := "stop"
		if resp.PromptFeedback != nil && resp.PromptFeedback.BlockReason != "" {
			reason = "content_filter"
		}
		for i := range max(o.candidates, 1) {
			empty := ""
			out.Choices = append(out.Choices, chatChoice{Index: i, Message: assistantMessage{Role: "assistant", Content: &empty}, FinishReason: reason})
		}
		return out
	}
	if len(resp.Candidates) == 1 {
		out.Choices = append(st.choice[:0], o.choiceOf(&resp.Candidates[0], 0, &st.text))
		return out
	}
	for pos := range resp.Candidates {
		out.Choices = append(out.Choices, o.choiceOf(&resp.Candidates[pos], pos, new(string)))
	}
	slices.SortStableFunc(out.Choices, func(a, b chatChoice) int { return a.Index - b.Index })
	return out
}

// completionStore holds a completion of one choice (the usual answer) in one allocation instead of four.
type completionStore struct {
	out    chatCompletion
	usage  chatUsage
	choice [1]chatChoice
	text   string
}

// choiceOf is the choice of candidate c; its content, when it has one, is held by content.
func (o *answerOptions) choiceOf(c *gemini.Candidate, pos int, content *string) chatChoice {
	var r rendered
	text, single := singleText(c)
	if !single && c.Content != nil {
		o.render(c.Content.Parts, &r)
	}
	if o.searchLinks {
		r.text.WriteString(text) // empty unless single
		r.text.WriteString(translate.SearchSources(c.GroundingMetadata))
		single = false
	}
	msg := assistantMessage{Role: "assistant", ReasoningContent: r.reasoning.String(), ToolCalls: r.calls}
	if !single {
		text = r.text.String()
	}
	if text != "" || len(r.calls) == 0 {
		*content = text
		msg.Content = content
	}
	return chatChoice{
		Index:        candidateIndex(c, pos),
		Message:      msg,
		Logprobs:     toLogprobs(c.LogprobsResult),
		FinishReason: finishReason(c.FinishReason, len(r.calls) > 0),
	}
}

// singleText is the text of a candidate whose one part is text (most answers): render would copy it.
func singleText(c *gemini.Candidate) (string, bool) {
	if c.Content == nil || len(c.Content.Parts) != 1 {
		return "", false
	}
	p := &c.Content.Parts[0]
	plain := !p.Thought && p.FunctionCall == nil && p.ExecutableCode == nil && p.CodeExecutionResult == nil && p.InlineData == nil
	return p.Text, plain
}

func newCompletionID() string { return translate.RandomID("chatcmpl-", 29) }
func newToolCallID() string   { return translate.RandomID("call_", 24) }
