package fakeupstream

import (
	"encoding/json"
	"time"
	"unicode/utf8"
)

// chatRequest is the part of an OpenAI chat.completions request the simulation reads.
type chatRequest struct {
	Model               string         `json:"model"`
	Messages            []chatMessage  `json:"messages"`
	Stream              bool           `json:"stream"`
	StreamOptions       *streamOptions `json:"stream_options"`
	N                   int            `json:"n"`
	MaxTokens           int            `json:"max_tokens"`
	MaxCompletionTokens int            `json:"max_completion_tokens"`
	Tools               []chatTool     `json:"tools"`
}

func (r *chatRequest) modelName() string { return r.Model }

type streamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

type chatMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

type chatTool struct {
	Type     string              `json:"type"`
	Function functionDeclaration `json:"function"`
}

// text accepts both content shapes: a string, or an array of typed parts of which text parts count.
func (m chatMessage) text() string {
	var s string
	if json.Unmarshal(m.Content, &s) == nil {
		return s
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if json.Unmarshal(m.Content, &parts) != nil {
		return ""
	}
	ps := make([]part, 0, len(parts))
	for _, p := range parts {
		if p.Type == "text" {
			ps = append(ps, part{Text: p.Text})
		}
	}
	return joinText(ps)
}

// toGenerate translates the chat request as Google's compatibility layer does, so both APIs share answers.
func (r *chatRequest) toGenerate() *genRequest {
	g := &genRequest{GenerationConfig: &genConfig{
		CandidateCount:  r.N,
		MaxOutputTokens: max(r.MaxTokens, r.MaxCompletionTokens),
	}}
	for _, m := range r.Messages {
		p := []part{{Text: m.text()}}
		switch m.Role {
		case "system", "developer":
			g.SystemInstruction = &content{Role: "system", Parts: p}
		case "user":
			g.Contents = append(g.Contents, content{Role: "user", Parts: p})
		default:
			g.Contents = append(g.Contents, content{Role: "model", Parts: p})
		}
	}
	var decls []functionDeclaration
	for _, t := range r.Tools {
		decls = append(decls, t.Function)
	}
	if len(decls) > 0 {
		g.Tools = []tool{{FunctionDeclarations: decls}}
	}
	return g
}

type chatCompletion struct {
	Choices []chatChoice `json:"choices"`
	Created int64        `json:"created"`
	ID      string       `json:"id"`
	Model   string       `json:"model"`
	Object  string       `json:"object"`
	Usage   *chatUsage   `json:"usage,omitempty"`
}

type chatChoice struct {
	Delta        *chatMsg `json:"delta,omitempty"`
	Message      *chatMsg `json:"message,omitempty"`
	FinishReason string   `json:"finish_reason,omitempty"`
	Index        int      `json:"index"`
}

type chatMsg struct {
	Content   *string    `json:"content,omitempty"`
	Role      string     `json:"role"`
	ToolCalls []toolCall `json:"tool_calls,omitempty"`
}

type toolCall struct {
	Index    *int         `json:"index,omitempty"`
	ID       string       `json:"id"`
	Type     string       `json:"type"`
	Function toolFunction `json:"function"`
}

type toolFunction struct {
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
}

type chatUsage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

func (a *answer) chatUsage() *chatUsage {
	u := a.usage()
	return &chatUsage{PromptTokens: u.PromptTokenCount, CompletionTokens: u.CandidatesTokenCount, TotalTokens: u.TotalTokenCount}
}

func (a *answer) openAIFinish() string {
	switch {
	case a.blocked:
		return "content_filter"
	case a.call != nil:
		return "tool_calls"
	case a.finish == "MAX_TOKENS":
		return "length"
	}
	return "stop"
}

// message is one choice's message (or delta) carrying piece of the text; Google's compatibility layer
// omits content when Gemini answered nothing, which is what clients must survive.
func (a *answer) message(piece string, streamed bool) *chatMsg {
	m := &chatMsg{Role: "assistant"}
	switch {
	case a.call != nil:
		m.ToolCalls = []toolCall{a.toolCall(streamed)}
	case !a.blocked && !a.empty:
		m.Content = &piece
	}
	return m
}

func (a *answer) toolCall(streamed bool) toolCall {
	args, err := json.Marshal(a.call.Args)
	if err != nil {
		panic(err)
	}
	tc := toolCall{ID: "call_" + a.responseID[:12], Type: "function",
		Function: toolFunction{Name: a.call.Name, Arguments: string(args)}}
	if streamed {
		zero := 0
		tc.Index = &zero
	}
	return tc
}

func (a *answer) completion(object string, created int64) chatCompletion {
	return chatCompletion{Created: created, ID: a.responseID, Model: a.model, Object: object}
}

func (a *answer) chatCompletion(created int64) chatCompletion {
	cc := a.completion("chat.completion", created)
	cc.Choices = make([]chatChoice, a.candidates)
	for i := range cc.Choices {
		cc.Choices[i] = chatChoice{Message: a.message(a.text, false), FinishReason: a.openAIFinish(), Index: i}
	}
	cc.Usage = a.chatUsage()
	return cc
}

// chunks lays the answer out as chat.completion.chunk events; text answers are split into n events.
func (a *answer) chunks(n int, created int64) []chatCompletion {
	pieces := []string{a.text}
	if a.call == nil && !a.blocked && !a.empty {
		pieces = splitRunes(a.text, n)
	}
	out := make([]chatCompletion, len(pieces))
	for i, piece := range pieces {
		cc := a.completion("chat.completion.chunk", created)
		cc.Choices = make([]chatChoice, a.candidates)
		for j := range cc.Choices {
			cc.Choices[j] = chatChoice{Delta: a.message(piece, true), Index: j}
			if i == len(pieces)-1 {
				cc.Choices[j].FinishReason = a.openAIFinish()
			}
		}
		out[i] = cc
	}
	return out
}

func (s *Server) serveChat(c *call) {
	req := c.req.(*chatRequest)
	g := req.toGenerate()
	if e := validateContents(g.Contents, "GenerateContentRequest"); e != nil {
		s.writeError(c, e)
		return
	}
	a := newAnswer(c.model, g, c.b)
	created := time.Now().Unix()
	if !req.Stream {
		writeJSON(c.w, a.chatCompletion(created))
		return
	}
	chunks := a.chunks(s.chunks, created)
	frames := make([][]byte, len(chunks))
	for i := range chunks {
		frames[i] = frame(sseData, &chunks[i], openAIEnd)
	}
	s.runStream(c, contentSSE, frames, a.streamTail(req.StreamOptions, created))
}

// streamTail is the optional usage chunk (empty choices, as OpenAI specifies) and the [DONE] marker.
func (a *answer) streamTail(opts *streamOptions, created int64) []byte {
	if opts == nil || !opts.IncludeUsage {
		return openAIDone
	}
	cc := a.completion("chat.completion.chunk", created)
	cc.Choices = []chatChoice{}
	cc.Usage = a.chatUsage()
	return append(frame(sseData, &cc, openAIEnd), openAIDone...)
}

type openAIEmbedRequest struct {
	Model      string          `json:"model"`
	Input      json.RawMessage `json:"input"`
	Dimensions int             `json:"dimensions"`
}

func (r *openAIEmbedRequest) modelName() string { return r.Model }

func (r *openAIEmbedRequest) inputs() ([]string, bool) {
	var one string
	if json.Unmarshal(r.Input, &one) == nil {
		return []string{one}, true
	}
	var many []string
	if json.Unmarshal(r.Input, &many) == nil && len(many) > 0 {
		return many, true
	}
	return nil, false
}

type openAIEmbedding struct {
	Object    string    `json:"object"`
	Index     int       `json:"index"`
	Embedding []float32 `json:"embedding"`
}

type openAIEmbedUsage struct {
	PromptTokens int `json:"prompt_tokens"`
	TotalTokens  int `json:"total_tokens"`
}

func (s *Server) serveOpenAIEmbeddings(c *call) {
	req := c.req.(*openAIEmbedRequest)
	inputs, ok := req.inputs()
	if !ok {
		s.writeError(c, badRequest("* BatchEmbedContentsRequest.requests: requests is not specified\n"))
		return
	}
	dims := clampDims(req.Dimensions, modelByID[c.model])
	data := make([]openAIEmbedding, len(inputs))
	chars := 0
	for i, in := range inputs {
		data[i] = openAIEmbedding{Object: "embedding", Index: i, Embedding: embedVector(in, dims)}
		chars += utf8.RuneCountInString(in)
	}
	n := tokens(chars)
	writeJSON(c.w, struct {
		Object string            `json:"object"`
		Data   []openAIEmbedding `json:"data"`
		Model  string            `json:"model"`
		Usage  openAIEmbedUsage  `json:"usage"`
	}{"list", data, c.model, openAIEmbedUsage{n, n}})
}
