package openai

import (
	"net/http"
	"slices"

	"github.com/gemgate/gemgate/internal/gemini"
	"github.com/gemgate/gemgate/internal/translate"
)

// chatChunk is one chat.completion.chunk.
type chatChunk struct {
	ID      string        `json:"id"`
	Object  string        `json:"object"`
	Created int64         `json:"created"`
	Model   string        `json:"model"`
	Choices []chunkChoice `json:"choices"`
	Usage   *chatUsage    `json:"usage,omitempty"`
}

type chunkChoice struct {
	Index        int             `json:"index"`
	Delta        delta           `json:"delta"`
	Logprobs     *choiceLogprobs `json:"logprobs"`
	FinishReason *string         `json:"finish_reason"`
}

type delta struct {
	Role             string        `json:"role,omitempty"`
	Content          *string       `json:"content,omitempty"`
	ReasoningContent *string       `json:"reasoning_content,omitempty"`
	ToolCalls        []outToolCall `json:"tool_calls,omitempty"`
}

// maxStreamChoices bounds the choices a stream tracks; an index beyond it is not a real candidate.
const maxStreamChoices = 64

// streamTranslator turns upstream stream events into chunks as each one arrives; it keeps only what
// the end of the stream needs (finish reasons, sources, usage), never the text.
type streamTranslator struct {
	o       *answerOptions
	choices map[int]*choiceState
	usage   *gemini.UsageMetadata
	blocked bool
}

type choiceState struct {
	calls     int // tool calls sent: the next one's index
	finish    string
	grounding *gemini.GroundingMetadata
}

func newStreamTranslator(o *answerOptions) *streamTranslator {
	return &streamTranslator{o: o, choices: map[int]*choiceState{}}
}

func (s *streamTranslator) chunk(choices []chunkChoice) *chatChunk {
	return &chatChunk{ID: s.o.id, Object: "chat.completion.chunk", Created: s.o.created, Model: s.o.model, Choices: choices}
}

// start is the first chunk: every choice's role, with empty content, as OpenAI begins its streams.
func (s *streamTranslator) start() *chatChunk {
	n := max(s.o.candidates, 1)
	choices := make([]chunkChoice, n)
	empty := ""
	for i := range choices {
		choices[i] = chunkChoice{Index: i, Delta: delta{Role: "assistant", Content: &empty}}
	}
	return s.chunk(choices)
}

// response translates one event (or a whole answer, for fake streaming).
func (s *streamTranslator) response(resp *gemini.GenerateContentResponse) *chatChunk {
	if resp.UsageMetadata != nil {
		s.usage = resp.UsageMetadata
	}
	if resp.PromptFeedback != nil && resp.PromptFeedback.BlockReason != "" && len(resp.Candidates) == 0 {
		s.blocked = true
	}
	var choices []chunkChoice
	for pos := range resp.Candidates {
		if c, ok := s.candidate(&resp.Candidates[pos], pos); ok {
			choices = append(choices, c)
		}
	}
	if len(choices) == 0 {
		return nil
	}
	slices.SortStableFunc(choices, func(a, b chunkChoice) int { return a.Index - b.Index })
	return s.chunk(choices)
}

func (s *streamTranslator) state(index int) *choiceState {
	st := s.choices[index]
	if st == nil {
		st = &choiceState{}
		s.choices[index] = st
	}
	return st
}

func (s *streamTranslator) candidate(c *gemini.Candidate, pos int) (chunkChoice, bool) {
	index := candidateIndex(c, pos)
	if index < 0 || index >= maxStreamChoices {
		return chunkChoice{}, false
	}
	st := s.state(index)
	if c.FinishReason != "" {
		st.finish = c.FinishReason
	}
	if c.GroundingMetadata != nil && len(c.GroundingMetadata.GroundingChunks) > 0 {
		st.grounding = c.GroundingMetadata
	}
	var r rendered
	if c.Content != nil {
		s.o.render(c.Content.Parts, &r)
	}
	d := delta{}
	if text := r.text.String(); text != "" {
		d.Content = &text
	}
	if reasoning := r.reasoning.String(); reasoning != "" {
		d.ReasoningContent = &reasoning
	}
	for i := range r.calls {
		idx := st.calls
		st.calls++
		r.calls[i].Index = &idx
	}
	d.ToolCalls = r.calls
	lp := toLogprobs(c.LogprobsResult)
	if d.Content == nil && d.ReasoningContent == nil && len(d.ToolCalls) == 0 && lp == nil {
		return chunkChoice{}, false
	}
	return chunkChoice{Index: index, Delta: d, Logprobs: lp}, true
}

// finish returns the chunks that end the answer: the search sources (kept for the end, because Google
// may repeat grounding metadata in several events), then one chunk with every choice's finish_reason.
func (s *streamTranslator) finish() []*chatChunk {
	indexes := s.indexes()
	var out []*chatChunk
	if s.o.searchLinks {
		var sources []chunkChoice
		for _, i := range indexes {
			if text := translate.SearchSources(s.choices[i].grounding); text != "" {
				sources = append(sources, chunkChoice{Index: i, Delta: delta{Content: &text}})
			}
		}
		if len(sources) > 0 {
			out = append(out, s.chunk(sources))
		}
	}
	final := make([]chunkChoice, len(indexes))
	for k, i := range indexes {
		reason := s.finishReason(s.choices[i])
		final[k] = chunkChoice{Index: i, FinishReason: &reason}
	}
	return append(out, s.chunk(final))
}

func (s *streamTranslator) finishReason(st *choiceState) string {
	if s.blocked {
		return "content_filter"
	}
	return finishReason(st.finish, st.calls > 0)
}

// indexes lists the choices to finish: those announced at the start and any other Gemini sent.
func (s *streamTranslator) indexes() []int {
	for i := range max(s.o.candidates, 1) {
		s.state(i)
	}
	out := make([]int, 0, len(s.choices))
	for i := range s.choices {
		out = append(out, i)
	}
	slices.Sort(out)
	return out
}

// usageChunk is OpenAI's include_usage chunk: no choices, the whole answer's usage.
func (s *streamTranslator) usageChunk() *chatChunk {
	c := s.chunk([]chunkChoice{})
	c.Usage = toUsage(s.usage)
	return c
}

// failureBody is the OpenAI error object sent as the stream's last event.
func failureBody(u *translate.UpstreamFailure) ErrorBody {
	code := u.Status.Status
	status := u.Status.Code
	if status == 0 {
		status = http.StatusBadGateway
	}
	e := ErrorBody{Message: u.Status.Message, Type: typeFor(status)}
	if code != "" {
		e.Code = &code
	}
	return e
}
